"""Operator sessions: what a login gives, as a bearer token or the console's cookie.

A session token reads ``rs_<id>_<secret>``: ``id`` is 12 hex digits that find the row,
``secret`` 256 random bits that are never stored. The ``sessions`` table keeps
``sha256(secret)``, compared in constant time. As for the API tokens (:mod:`redcolor.auth.tokens`)
a slow hash would buy nothing: a uniformly random 256-bit secret cannot be guessed from its
digest, and every request would pay for the stretching.

A session ends when it is revoked (logout, an administrator, its user disabled), when it has not
been used for ``idle_s``, or ``lifetime_s`` after its login, whichever comes first. The defaults,
1 h idle and 12 h in all, are assumptions: a control-room shift is at most 12 h, and a console
left an hour untouched should ask for the password again. To spare the file a write per request,
the last-seen time is stored at most every :data:`LAST_SEEN_STEP_S`; so the idle limit may
strike up to that much early, never late.

The CSRF token of a session is ``HMAC-SHA256(key, session id)`` with a 32-byte server key kept in
the ``server_keys`` table of the same file (made on first use). It is stable for the session's
life, costs no storage, and cannot be forged without the key; a page learns it from the login
answer and sends it back in a header that another origin cannot set.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from redcolor.errors import AuthError, ForbiddenError, InputError, NotFoundError, StoreError
from redcolor.operators.tables import connect, end_sessions_of, write_transaction

if TYPE_CHECKING:
    from redcolor.operators.users import User

DEFAULT_IDLE_S = 3600.0
"""Assumption: a console unused for an hour asks for the password again."""
DEFAULT_LIFETIME_S = 12 * 3600.0
"""Assumption: a control-room shift lasts at most 12 h; a session does not outlive it."""
LAST_SEEN_STEP_S = 5.0
"""The last-seen time is written at most this often per session."""
PURGE_AFTER_S = 7 * 86400.0
"""Sessions ended longer ago than this are deleted when a new one is made."""

SESSION_ID_PATTERN = "[0-9a-f]{12}"
"""A session id: 12 hex digits (the row's key; not a secret, what an administrator revokes)."""

_TOKEN = re.compile(rf"rs_({SESSION_ID_PATTERN})_([0-9a-f]{{64}})")
_CSRF_KEY = "csrf"
_MAX_CSRF_CHARS = 128
_MAX_ADDRESS_CHARS = 100
_COLUMNS = "s.id, s.user, o.role, s.created_unix_s, s.last_seen_unix_s, s.address"
_FROM = "FROM sessions s JOIN operators o ON o.name = s.user"


@dataclass(frozen=True)
class Session:
    """A session as shown (never its secret nor its digest). ``last_seen_unix_s`` is its last
    recorded use (see :data:`LAST_SEEN_STEP_S`), ``expires_unix_s`` when it ends unless used
    before; ``role`` is its user's current role; ``address`` the one it logged in from."""

    session_id: str
    user: str
    role: str
    created_unix_s: float
    last_seen_unix_s: float
    expires_unix_s: float
    address: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class SessionStore:
    """The ``sessions`` table of one SQLite file (the event store's), by its own connection."""

    def __init__(
        self,
        path: str | Path,
        *,
        idle_s: float = DEFAULT_IDLE_S,
        lifetime_s: float = DEFAULT_LIFETIME_S,
    ) -> None:
        if not 0 < idle_s <= lifetime_s:
            raise InputError(f"session idle {idle_s} s must be positive and at most its lifetime")
        self.path = str(path)
        self.idle_s = idle_s
        self.lifetime_s = lifetime_s
        self._db = connect(self.path, "session store")
        self._csrf_key: bytes | None = None

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use session store {self.path}: {exc}") from exc

    def _session(self, row: tuple[Any, ...]) -> Session:
        session_id, user, role, created, last_seen, address = row
        expires = min(last_seen + self.idle_s, created + self.lifetime_s)
        return Session(session_id, user, role, created, last_seen, expires, address)

    def create(
        self, user: User, address: str, *, now_unix_s: float | None = None
    ) -> tuple[Session, str]:
        """A new session of ``user`` (already verified) from ``address``; returns it and the
        token text (shown once, never stored)."""
        if user.disabled_unix_s is not None:
            raise AuthError(f"operator {user.name} is disabled")
        now = time.time() if now_unix_s is None else now_unix_s
        session_id, secret = secrets.token_hex(6), secrets.token_hex(32)
        where = address[:_MAX_ADDRESS_CHARS]
        self._query(
            "DELETE FROM sessions WHERE coalesce(revoked_unix_s, created_unix_s + ?) < ?",
            (self.lifetime_s, now - PURGE_AFTER_S),
        )
        self._query(
            "INSERT INTO sessions (id, user, digest, address, created_unix_s, last_seen_unix_s)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, user.name, _digest(secret), where, now, now),
        )
        expires = now + min(self.idle_s, self.lifetime_s)
        session = Session(session_id, user.name, user.role, now, now, expires, where)
        return session, f"rs_{session_id}_{secret}"

    def authenticate(self, token: str, *, now_unix_s: float | None = None) -> Session:
        """The live session of ``token``; AuthError when it is malformed, unknown, wrong,
        revoked, expired or its user disabled. Refreshes the last-seen time."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise AuthError("malformed session token: expected rs_<id>_<secret>")
        session_id, secret = match.groups()
        row = self._query(
            f"SELECT {_COLUMNS}, s.digest, s.revoked_unix_s, o.disabled_unix_s {_FROM}"
            " WHERE s.id = ?",
            (session_id,),
        ).fetchone()
        given = _digest(secret)
        if row is None or not hmac.compare_digest(bytes(row[6]), given):
            raise AuthError("unknown or wrong session token")
        session = self._session(row[:6])
        revoked, disabled = row[7], row[8]
        if revoked is not None or disabled is not None:
            raise AuthError("this session was ended; log in again")
        now = time.time() if now_unix_s is None else now_unix_s
        if now >= session.expires_unix_s:
            raise AuthError("this session expired; log in again")
        last_seen = row[4]
        if now - last_seen >= LAST_SEEN_STEP_S:
            self._query(
                "UPDATE sessions SET last_seen_unix_s = ? WHERE id = ? AND last_seen_unix_s < ?",
                (now, session_id, now),
            )
            session = self._session((*row[:4], now, row[5]))
        return session

    def _key(self) -> bytes:
        if self._csrf_key is None:
            self._query(
                "INSERT OR IGNORE INTO server_keys (name, key) VALUES (?, ?)",
                (_CSRF_KEY, secrets.token_bytes(32)),
            )
            row = self._query("SELECT key FROM server_keys WHERE name = ?", (_CSRF_KEY,)).fetchone()
            self._csrf_key = bytes(row[0])
        return self._csrf_key

    def csrf_token(self, session: Session) -> str:
        """The CSRF token of ``session``: hex HMAC-SHA256 of its id under the server key."""
        return hmac.new(self._key(), session.session_id.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, session: Session, given: str | None) -> None:
        """ForbiddenError unless ``given`` is ``session``'s CSRF token (constant-time)."""
        if not given or len(given) > _MAX_CSRF_CHARS:
            raise ForbiddenError("missing or wrong CSRF token")
        if not hmac.compare_digest(self.csrf_token(session).encode(), given.encode()):
            raise ForbiddenError("missing or wrong CSRF token")

    def revoke(self, session_id: str, *, now_unix_s: float | None = None) -> bool:
        """End one session (logout, an administrator); whether this call ended it (False for an
        unknown or already ended one: nothing changes)."""
        now = time.time() if now_unix_s is None else now_unix_s
        cursor = self._query(
            "UPDATE sessions SET revoked_unix_s = ? WHERE id = ? AND revoked_unix_s IS NULL",
            (now, session_id),
        )
        return cursor.rowcount == 1

    def revoke_user(self, name: str, *, now_unix_s: float | None = None) -> list[Session]:
        """End every session of ``name``; the ones that were live until now, oldest first.
        Listing and ending share one write transaction, so a login that races it is either
        listed and ended or made after (and untouched)."""
        now = time.time() if now_unix_s is None else now_unix_s
        with write_transaction(self._db, f"session store {self.path}") as db:
            live = self._live(self._rows(" WHERE s.user = ?", (name,)), now)
            end_sessions_of(db, name, now)
        return live

    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(
            f"SELECT {_COLUMNS}, s.revoked_unix_s IS NULL AND o.disabled_unix_s IS NULL {_FROM}"
            f"{where} ORDER BY s.created_unix_s, s.id",
            args,
        ).fetchall()

    def _live(self, rows: list[tuple[Any, ...]], now_unix_s: float) -> list[Session]:
        sessions = [(self._session(r[:6]), bool(r[6])) for r in rows]
        return [s for s, alive in sessions if alive and now_unix_s < s.expires_unix_s]

    def list(
        self,
        *,
        live_only: bool = True,
        user: str | None = None,
        now_unix_s: float | None = None,
    ) -> list[Session]:
        """Sessions, oldest first, of every user or of ``user``: only the live ones (not
        revoked, not expired, user enabled) unless ``live_only`` is False."""
        now = time.time() if now_unix_s is None else now_unix_s
        where, args = ("", ()) if user is None else (" WHERE s.user = ?", (user,))
        try:
            rows = self._rows(where, args)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use session store {self.path}: {exc}") from exc
        if not live_only:
            return [self._session(r[:6]) for r in rows]
        return self._live(rows, now)

    def get(self, session_id: str, *, now_unix_s: float | None = None) -> Session:
        """The live session ``session_id``; NotFoundError when there is none (unknown, ended,
        expired or its user disabled)."""
        now = time.time() if now_unix_s is None else now_unix_s
        try:
            rows = self._rows(" WHERE s.id = ?", (session_id,))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use session store {self.path}: {exc}") from exc
        live = self._live(rows, now)
        if not live:
            raise NotFoundError(f"no live session {session_id[:40]!r}")
        return live[0]

    def close(self) -> None:
        self._db.close()
