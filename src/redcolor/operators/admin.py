"""What ``redcolor users add|list|disable|enable|role|passwd|totp|sessions|revoke`` do, one
function each (the CLI only renders), and the revocation of sessions the operator API shares
with them.

Each change is audited. From the CLI the actor is ``cli:<unix user>`` from address ``local``:
whoever can write the server's database file on its host administers its accounts, so the record
says which local account did it, with the role ``admin``. Through the API it is the signed-in
administrator (:func:`revoke_session` and :func:`revoke_sessions_of` take the actor). The
record goes where the server's audit trail is: the ``--db`` file, or the ``store`` (a
PostgreSQL URL, the server's ``--store``) when given, so that ``/v1/operator/audit`` shows it
beside the operators' own actions. A password reset and a new TOTP factor end the account's
sessions (whoever held the old secret may hold a session too); the record says how many, never
the password or the secret.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from redcolor.alerts.store import check_store_url
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
    db: Path, *, create: bool = False, totp_key: Path | None = None, store: str | None = None
) -> Iterator[tuple[UserStore, AuditLog]]:
    if not create and not db.exists():
        raise InputError(f"no alert store at {db} (give the server's --db)")
    # a bad or unreachable store is refused before any change
    audit = AuditLog(db if store is None else check_store_url(store))
    try:
        users = UserStore(db, key_path=totp_key)
        try:
            yield users, audit
        finally:
            users.close()
    finally:
        audit.close()


def _audit(
    audit: AuditLog,
    action: str,
    user: User,
    before: User | None,
    sessions_ended: int | None = None,
) -> None:
    after: dict[str, Any] = user.to_json()
    if sessions_ended is not None:
        after["sessions_ended"] = sessions_ended
    audit.append(
        actor=cli_actor(),
        role=CLI_ROLE,
        address=CLI_ADDRESS,
        action=action,
        target=user.name,
        before=None if before is None else before.to_json(),
        after=after,
    )


def check_new_user(name: str, role: str) -> None:
    """Refuse a bad name or role before anyone is asked for a password."""
    check_name(name)
    check_role(role)


def add_user(
    db: Path,
    name: str,
    role: str,
    password: str,
    totp: bool,
    totp_key: Path | None = None,
    store: str | None = None,
) -> tuple[User, str | None]:
    """Create an operator account in ``db``; returns it and, with ``totp``, the provisioning URI
    to show once (its secret sealed under ``totp_key``, by default ``DB.totp-key``)."""
    check_new_user(name, role)
    check_password(password)
    with _open(db, create=True, totp_key=totp_key, store=store) as (users, audit):
        user, uri = users.add(name, role, password, totp=totp)
        _audit(audit, "user_add", user, None)
        return user, uri


def list_users(db: Path) -> list[User]:
    """Every account in ``db`` (disabled ones too); never a hash or TOTP secret."""
    with _open(db) as (users, _):
        return users.list()


def _change(
    db: Path, name: str, store: str | None, action: str, change: Callable[[UserStore], User]
) -> User:
    """Apply ``change`` to the account ``name`` in ``db`` and audit it as ``action``."""
    with _open(db, store=store) as (users, audit):
        before = users.get(name)
        user = change(users)
        _audit(audit, action, user, before)
        return user


def disable_user(db: Path, name: str, store: str | None = None) -> User:
    """Disable the account ``name`` in ``db`` and end its sessions."""
    return _change(db, name, store, "user_disable", lambda users: users.disable(name))


def enable_user(db: Path, name: str, store: str | None = None) -> User:
    """Let the disabled account ``name`` in ``db`` log in again."""
    return _change(db, name, store, "user_enable", lambda users: users.enable(name))


def set_user_role(db: Path, name: str, role: str, store: str | None = None) -> User:
    """Give the account ``name`` in ``db`` the role ``role``."""
    check_role(role)
    return _change(db, name, store, "user_role", lambda users: users.set_role(name, role))


def check_user(db: Path, name: str, store: str | None = None) -> None:
    """Refuse an unknown account, or a store that cannot be used, before anyone is asked for a
    password."""
    with _open(db, store=store) as (users, _):
        users.get(name)


def set_user_password(
    db: Path, name: str, password: str, store: str | None = None
) -> tuple[User, int]:
    """Give the account ``name`` in ``db`` a new password and end its sessions; the account
    and the number ended."""
    check_password(password)
    with _open(db, store=store) as (users, audit):
        before = users.get(name)
        user, ended = users.set_password(name, password)
        _audit(audit, "user_password", user, before, ended)
        return user, ended


def set_user_totp(
    db: Path, name: str, on: bool, totp_key: Path | None = None, store: str | None = None
) -> tuple[User, str | None, int]:
    """Give the account ``name`` in ``db`` a new TOTP factor (``on``) or remove it, and end its
    sessions; the account, the provisioning URI to show once (``on``) and the number ended."""
    with _open(db, totp_key=totp_key, store=store) as (users, audit):
        before = users.get(name)
        user, uri, ended = users.set_totp(name, on)
        _audit(audit, "user_totp", user, before, ended)
        return user, uri, ended


def cli() -> Actor:
    """The CLI as an audited actor (see the module docstring)."""
    return Actor(cli_actor(), CLI_ROLE, CLI_ADDRESS)


@contextlib.contextmanager
def _open_sessions(
    db: Path, store: str | None = None
) -> Iterator[tuple[UserStore, SessionStore, AuditLog]]:
    with _open(db, store=store) as (users, audit):
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


def revoke_user_sessions(db: Path, name: str, store: str | None = None) -> list[Session]:
    """End every live session of ``name`` in ``db``: each is refused at its next request."""
    with _open_sessions(db, store) as (users, sessions, audit):
        return revoke_sessions_of(users, sessions, audit, cli(), name)
