"""`redcolor edge`: serve the core's log from NATS JetStream, with no store on disk."""

from __future__ import annotations

from pathlib import Path

import typer

from redcolor.cli.serve import print_url

MEMORY = Path(":memory:")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""

    @app.command()
    def edge(
        nats: str = typer.Option(
            ..., "--nats", help="The NATS cluster carrying the log: nats://h:p (comma-separated)."
        ),
        verify_key: Path = typer.Option(
            ..., "--verify-key", help="The core's public key; what it did not sign is refused."
        ),
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8080, min=1, max=65535, help="TCP port."),
        edition: str = typer.Option("current", help="Alert-area edition."),
        public_url: str | None = typer.Option(
            None, help="Base URL of links in the Atom feed (default http://HOST:PORT)."
        ),
        cap_sender: str = typer.Option(
            "redcolor@localhost", "--cap-sender", help="The CAP sender of every message."
        ),
        keep_events: int = typer.Option(
            100_000,
            "--keep-events",
            min=1,
            help="Events kept in memory; a client resuming before them gets a reset and the rest.",
        ),
        nats_user: str | None = typer.Option(None, help="NATS user name."),
        nats_password_file: Path | None = typer.Option(
            None, help="File holding the NATS password (or set REDCOLOR_NATS_PASSWORD)."
        ),
        nats_nkey_seed: Path | None = typer.Option(
            None, help="Log in to NATS with the user nkey seed in this file."
        ),
    ) -> None:
        """Edge server: the streams (WebSocket, SSE), feeds, CAP, history and map of the core's
        log, copied from JetStream into memory (nothing on disk; a restart copies it again)."""
        from redcolor.serve.run import serve as run_server
        from redcolor.serve.state import ServeConfig

        config = ServeConfig(
            db=MEMORY,
            host=host,
            port=port,
            edition=edition,
            public_url=public_url,
            cap_sender=cap_sender,
            nats_follow_url=nats,
            verify_key=verify_key,
            nats_user=nats_user,
            nats_password_file=nats_password_file,
            nats_nkey_seed=nats_nkey_seed,
            keep_events=keep_events,
        )
        run_server(config, on_listening=print_url)
