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
from rich.table import Column, Table

from redcolor.errors import InputError
from redcolor.operators import ROLES
from redcolor.operators.admin import (
    add_user,
    check_new_user,
    check_user,
    disable_user,
    enable_user,
    list_sessions,
    list_users,
    revoke_user_sessions,
    set_user_password,
    set_user_role,
    set_user_totp,
)

# no markup or emoji codes: in 2001:db8::1234:5678, ":1234:" would print as an emoji
_out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)

Name = Annotated[str, typer.Argument(help="The account's login name.")]
Db = Annotated[
    Path, typer.Option("--db", help="The server's alert store (SQLite); accounts live in it.")
]
TotpKey = Annotated[
    Path | None,
    typer.Option(
        "--totp-key",
        envvar="REDCOLOR_TOTP_KEY",
        help="The key file TOTP secrets are sealed under (default: DB.totp-key, beside --db);"
        " the server's --totp-key.",
    ),
]

Store = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="The server's --store (postgresql://...), where its audit trail is: the change is"
        " audited there, beside the operators' actions (default: in --db).",
    ),
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
        totp_key: TotpKey = None,
        store: Store = None,
    ) -> None:
        """Create an account; the password is read from stdin (one line) or asked twice on a
        terminal. With --totp, prints the otpauth:// URI once, for the authenticator app."""
        check_new_user(name, role)
        user, uri = add_user(db, name, role, _read_password(), totp, totp_key, store)
        _show_uri(uri)
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
        name: Name,
        db: Db = Path("alerts.db"),
        store: Store = None,
    ) -> None:
        """Disable an account: its logins are refused and its sessions end at once."""
        user = disable_user(db, name, store)
        typer.echo(f"disabled {user.role} {user.name}; its sessions are ended")

    @users.command()
    def enable(name: Name, db: Db = Path("alerts.db"), store: Store = None) -> None:
        """Let a disabled account log in again (the sessions its disabling ended stay ended)."""
        user = enable_user(db, name, store)
        typer.echo(f"enabled {user.role} {user.name}")

    @users.command()
    def role(
        name: Name,
        new_role: Annotated[str, typer.Argument(help=f"One of {' | '.join(ROLES)}.")],
        db: Db = Path("alerts.db"),
        store: Store = None,
    ) -> None:
        """Give an account another role; its sessions have it from their next request."""
        user = set_user_role(db, name, new_role, store)
        typer.echo(f"{user.name} now has the role {user.role}")

    @users.command()
    def passwd(name: Name, db: Db = Path("alerts.db"), store: Store = None) -> None:
        """Set a new password (read as `users add` reads one) and end the account's sessions:
        for a forgotten password, or one someone else may know."""
        check_user(db, name, store)
        _, ended = set_user_password(db, name, _read_password(), store)
        typer.echo(f"new password for {name}; {_ended(ended)}", err=True)

    @users.command()
    def totp(
        name: Name,
        off: Annotated[
            bool, typer.Option("--off", help="Remove the factor instead (password only).")
        ] = False,
        db: Db = Path("alerts.db"),
        totp_key: TotpKey = None,
        store: Store = None,
    ) -> None:
        """Give an account a new TOTP factor, for a lost or exposed authenticator: prints the
        new otpauth:// URI once, the old secret stops working and its sessions end."""
        _, uri, ended = set_user_totp(db, name, not off, totp_key, store)
        _show_uri(uri)
        done = "TOTP removed" if off else "new TOTP factor"
        typer.echo(f"{done} for {name}; {_ended(ended)}", err=True)

    @users.command()
    def sessions(
        name: Annotated[
            str | None, typer.Argument(help="Only this account's sessions (default: everyone's).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
        db: Db = Path("alerts.db"),
    ) -> None:
        """List live sessions: id, user, role, created, last seen, expires, address; never a
        token. Revoke them with `users revoke NAME` or the API."""
        live = list_sessions(db, name)
        if as_json:
            typer.echo(json.dumps([s.to_json() for s in live], indent=2))
            return
        # the id is what one copies to revoke, the address what one checks: never broken
        table = Table(
            Column("id", no_wrap=True),
            "user",
            "role",
            "created",
            "last seen",
            "expires",
            Column("address", no_wrap=True),
        )
        for s in live:
            table.add_row(
                s.session_id,
                s.user,
                s.role,
                _when(s.created_unix_s),
                _when(s.last_seen_unix_s),
                _when(s.expires_unix_s),
                s.address,
            )
        _out.print(table)

    @users.command()
    def revoke(name: Name, db: Db = Path("alerts.db"), store: Store = None) -> None:
        """End every live session of an account: each is refused at its next request. The
        account stays usable (a new login works); `users disable` stops that too."""
        ended = revoke_user_sessions(db, name, store)
        typer.echo(f"{_ended(len(ended))} of {name}")


def _ended(count: int) -> str:
    return f"ended {count} session{'' if count == 1 else 's'}"


def _show_uri(uri: str | None) -> None:
    """A new TOTP factor's provisioning URI on stdout, once, and how to use it on stderr."""
    if uri is None:
        return
    typer.echo(uri)
    typer.echo(
        "TOTP secret above: load it into the authenticator app now, it cannot be shown again",
        err=True,
    )
