"""What ``redcolor users add|list|disable`` do, one function each (the CLI only renders).

Each change is audited with the actor ``cli:<unix user>`` from address ``local``: whoever can
write the server's database file on its host administers its accounts, so the record says
which local account did it, with the role ``admin``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from collections.abc import Iterator
from pathlib import Path

from redcolor.auth.tokens import check_name
from redcolor.errors import InputError
from redcolor.operators.audit import AuditLog
from redcolor.operators.users import User, UserStore, check_password, check_role

CLI_ADDRESS = "local"
CLI_ROLE = "admin"


def cli_actor() -> str:
    """``cli:<the unix user running the command>`` (its uid when it has no name)."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):
        who = f"uid{os.getuid()}"
    return f"cli:{who}"


@contextlib.contextmanager
def _open(db: Path, *, create: bool = False) -> Iterator[tuple[UserStore, AuditLog]]:
    if not create and not db.exists():
        raise InputError(f"no alert store at {db} (give the server's --db)")
    users = UserStore(db)
    audit = AuditLog(db)
    try:
        yield users, audit
    finally:
        audit.close()
        users.close()


def _audit(audit: AuditLog, action: str, user: User, before: User | None) -> None:
    audit.append(
        actor=cli_actor(),
        role=CLI_ROLE,
        address=CLI_ADDRESS,
        action=action,
        target=user.name,
        before=None if before is None else before.to_json(),
        after=user.to_json(),
    )


def check_new_user(name: str, role: str) -> None:
    """Refuse a bad name or role before anyone is asked for a password."""
    check_name(name)
    check_role(role)


def add_user(db: Path, name: str, role: str, password: str, totp: bool) -> tuple[User, str | None]:
    """Create an operator account in ``db``; returns it and, with ``totp``, the provisioning URI
    to show once."""
    check_new_user(name, role)
    check_password(password)
    with _open(db, create=True) as (users, audit):
        user, uri = users.add(name, role, password, totp=totp)
        _audit(audit, "user_add", user, None)
        return user, uri


def list_users(db: Path) -> list[User]:
    """Every account in ``db`` (disabled ones too); never a hash or TOTP secret."""
    with _open(db) as (users, _):
        return users.list()


def disable_user(db: Path, name: str) -> User:
    """Disable the account ``name`` in ``db`` and end its sessions."""
    with _open(db) as (users, audit):
        before = users.get(name)
        user = users.disable(name)
        _audit(audit, "user_disable", user, before)
        return user
