"""`redcolor keys`: the core's bus signing key."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    keys = typer.Typer(help="The Ed25519 key the core signs bus events with.", no_args_is_help=True)
    app.add_typer(keys, name="keys")

    @keys.command("public")
    def public(
        signing_key: Path = typer.Option(
            ..., help="The core's signing key (made 0600, with FILE.pub, if missing)."
        ),
    ) -> None:
        """Print the public key (PEM) that edges need as --verify-key."""
        from redcolor.bus.keys import public_key_pem

        typer.echo(public_key_pem(signing_key).decode(), nl=False)
