"""What ``redcolor users add|list|disable|sessions|revoke`` do, one function each (the CLI
only renders), and the revocation of sessions the operator API shares with them.

Each change is audited. From the CLI the actor is ``cli:<unix user>`` from address ``local``:
whoever can write the server's database file on its host administers its accounts, so the record
says which local account did it, with the role ``admin``. Through the API it is the signed-in
administrator (:func:`revoke_session` and :func:`revoke_sessions_of` take the actor).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redcolor.auth.tokens import check_name
from redcolor.errors import InputError, NotFoundError
from redcolor.operators.audit import AuditLog
from redcolor.operators.desk import Actor
from redcolor.operators.sessions import Session, SessionStore
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
def _open(
    db: Path, *, create: bool = False, totp_key: Path | None = None
) -> Iterator[tuple[UserStore, AuditLog]]:
    if not create and not db.exists():
        raise InputError(f"no alert store at {db} (give the server's --db)")
    users = UserStore(db, key_path=totp_key)
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


def add_user(
    db: Path, name: str, role: str, password: str, totp: bool, totp_key: Path | None = None
) -> tuple[User, str | None]:
    """Create an operator account in ``db``; returns it and, with ``totp``, the provisioning URI
    to show once (its secret sealed under ``totp_key``, by default ``DB.totp-key``)."""
    check_new_user(name, role)
    check_password(password)
    with _open(db, create=True, totp_key=totp_key) as (users, audit):
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


def cli() -> Actor:
    """The CLI as an audited actor (see the module docstring)."""
    return Actor(cli_actor(), CLI_ROLE, CLI_ADDRESS)


@contextlib.contextmanager
def _open_sessions(db: Path) -> Iterator[tuple[UserStore, SessionStore, AuditLog]]:
    with _open(db) as (users, audit):
        sessions = SessionStore(db)
        try:
            yield users, sessions, audit
        finally:
            sessions.close()


def live_sessions(users: UserStore, sessions: SessionStore, name: str | None) -> list[Session]:
    """The live sessions, oldest first, of everyone or of ``name`` (NotFoundError for an
    unknown name, so a typo does not read as "no sessions")."""
    if name is not None:
        users.get(name)
    return sessions.list(user=name)


def revoke_session(
    sessions: SessionStore, audit: AuditLog, actor: Actor, session_id: str
) -> Session:
    """End the live session ``session_id`` (NotFoundError when there is none); audited as
    ``session_revoke`` with the session before and its revocation time after."""
    session = sessions.get(session_id)
    now = time.time()
    if not sessions.revoke(session_id, now_unix_s=now):  # ended meanwhile (its own logout)
        raise NotFoundError(f"no live session {session_id!r}")
    before = session.to_json()
    _audit_revoke(audit, actor, f"session:{session_id}", before, {**before, "revoked_unix_s": now})
    return session


def revoke_sessions_of(
    users: UserStore, sessions: SessionStore, audit: AuditLog, actor: Actor, name: str
) -> list[Session]:
    """End every live session of ``name`` (NotFoundError for an unknown name); the ones
    ended. Audited as one ``session_revoke`` of ``user:<name>``, even when none was live:
    the administrator's act is recorded, not only its effect."""
    users.get(name)
    now = time.time()
    ended = sessions.revoke_user(name, now_unix_s=now)
    before = {"live_sessions": [s.to_json() for s in ended]}
    after = {"live_sessions": [], "revoked_unix_s": now}
    _audit_revoke(audit, actor, f"user:{name}", before, after)
    return ended


def _audit_revoke(audit: AuditLog, actor: Actor, target: str, before: Any, after: Any) -> None:
    audit.append(
        actor=actor.name,
        role=actor.role,
        address=actor.address,
        action="session_revoke",
        target=target,
        before=before,
        after=after,
    )


def list_sessions(db: Path, name: str | None) -> list[Session]:
    """The live sessions in ``db`` (of ``name`` when given); never a token or digest."""
    with _open_sessions(db) as (users, sessions, _):
        return live_sessions(users, sessions, name)


def revoke_user_sessions(db: Path, name: str) -> list[Session]:
    """End every live session of ``name`` in ``db``: each is refused at its next request."""
    with _open_sessions(db) as (users, sessions, audit):
        return revoke_sessions_of(users, sessions, audit, cli(), name)
