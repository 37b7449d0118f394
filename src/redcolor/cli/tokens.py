"""`redcolor tokens` commands: API tokens of siren controllers, edge servers and sensors.
Each command parses, calls one ``redcolor.auth.admin`` function and renders the result."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from redcolor.auth import ROLES
from redcolor.auth.admin import add_token, list_tokens, revoke_token

_out = Console(highlight=False, soft_wrap=True)

Db = Annotated[
    Path, typer.Option("--db", help="The server's alert store (SQLite); tokens live in it.")
]


def _when(unix_s: float | None) -> str:
    if unix_s is None:
        return "-"
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    tokens = typer.Typer(help="API tokens for sirens, edge servers, sensors.", no_args_is_help=True)
    app.add_typer(tokens, name="tokens")

    @tokens.command()
    def add(
        name: Annotated[str, typer.Argument(help="Client name; for a siren, its siren id.")],
        role: Annotated[str, typer.Option("--role", help=f"One of {' | '.join(ROLES)}.")],
        areas: Annotated[
            str | None, typer.Option("--areas", help="Area ids it covers, e.g. 175,176.")
        ] = None,
        edition: Annotated[str, typer.Option(help="Area edition the ids belong to.")] = "current",
        db: Db = Path("alerts.db"),
    ) -> None:
        """Create a token and print it once (only its SHA-256 digest is stored)."""
        credential, token = add_token(db, name, role, areas, edition)
        typer.echo(token)
        typer.echo(
            f"token {credential.token_id} for {credential.role} {credential.name}: "
            "store it now, it cannot be shown again",
            err=True,
        )

    @tokens.command("list")
    def list_(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
        db: Db = Path("alerts.db"),
    ) -> None:
        """List tokens (ids, names, roles, areas, state); never their secrets."""
        credentials = list_tokens(db)
        if as_json:
            typer.echo(json.dumps([c.to_json() for c in credentials], indent=2))
            return
        table = Table("id", "name", "role", "areas", "created", "revoked")
        for c in credentials:
            bound = "-" if c.areas is None else ",".join(str(a) for a in sorted(c.areas))
            row = (c.token_id, c.name, c.role, bound)
            table.add_row(*row, _when(c.created_unix_s), _when(c.revoked_unix_s))
        _out.print(table)

    @tokens.command()
    def revoke(
        name: Annotated[str, typer.Argument(help="The name the live token was added under.")],
        db: Db = Path("alerts.db"),
    ) -> None:
        """Revoke a token: refused at once; a server closes its live connections within 2 s."""
        credential = revoke_token(db, name)
        typer.echo(f"revoked token {credential.token_id} ({credential.role} {credential.name})")
