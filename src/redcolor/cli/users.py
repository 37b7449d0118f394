"""`redcolor users` commands: operator accounts of the console and the operator API.
Each command parses, calls one ``redcolor.operators.admin`` function and renders the result."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from redcolor.errors import InputError
from redcolor.operators import ROLES
from redcolor.operators.admin import add_user, check_new_user, disable_user, list_users

_out = Console(highlight=False, soft_wrap=True)

Db = Annotated[
    Path, typer.Option("--db", help="The server's alert store (SQLite); accounts live in it.")
]


def _when(unix_s: float | None) -> str:
    if unix_s is None:
        return "-"
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _read_password() -> str:
    """From a terminal: asked twice without echo. Otherwise: the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise InputError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise InputError("no password on stdin: pipe one line, or run from a terminal")
    return line.removesuffix("\n").removesuffix("\r")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    users = typer.Typer(help="Operator accounts (console, operator API).", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command()
    def add(
        name: Annotated[str, typer.Argument(help="Login name: 1-64 letters, digits, - or _.")],
        role: Annotated[str, typer.Option("--role", help=f"One of {' | '.join(ROLES)}.")],
        totp: Annotated[
            bool, typer.Option("--totp", help="Require a TOTP code (authenticator app).")
        ] = False,
        db: Db = Path("alerts.db"),
    ) -> None:
        """Create an account; the password is read from stdin (one line) or asked twice on a
        terminal. With --totp, prints the otpauth:// URI once, for the authenticator app."""
        check_new_user(name, role)
        user, uri = add_user(db, name, role, _read_password(), totp)
        if uri is not None:
            typer.echo(uri)
            typer.echo(
                "TOTP secret above: load it into the authenticator app now, it cannot be"
                " shown again",
                err=True,
            )
        typer.echo(f"added {user.role} {user.name}" + (" with TOTP" if user.totp else ""), err=True)

    @users.command("list")
    def list_(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
        db: Db = Path("alerts.db"),
    ) -> None:
        """List accounts (names, roles, TOTP, state); never a password hash or secret."""
        accounts = list_users(db)
        if as_json:
            typer.echo(json.dumps([u.to_json() for u in accounts], indent=2))
            return
        table = Table("name", "role", "totp", "created", "disabled")
        for u in accounts:
            totp_text = "yes" if u.totp else "no"
            table.add_row(
                u.name, u.role, totp_text, _when(u.created_unix_s), _when(u.disabled_unix_s)
            )
        _out.print(table)

    @users.command()
    def disable(
        name: Annotated[str, typer.Argument(help="The account's login name.")],
        db: Db = Path("alerts.db"),
    ) -> None:
        """Disable an account: its logins are refused and its sessions end at once."""
        user = disable_user(db, name)
        typer.echo(f"disabled {user.role} {user.name}; its sessions are ended")
