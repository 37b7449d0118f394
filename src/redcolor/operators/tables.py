"""The SQLite tables of operator accounts, sessions, the server key and the audit log, and
:class:`Statements`, the single statements a table kept in the event store (the desk's
proposals and mode) is used by on either backend (:func:`open_statements`).

They live in the event store's file (the server's ``--db``), beside the events and the API
tokens, so one file holds everything a server must keep but the key that seals the TOTP
secrets, which is kept apart (:mod:`redcolor.operators.users`). Each store opens its own connection
with :func:`connect`, which creates every table of this package: a user's disabling ends their
sessions in the same transaction (:func:`end_sessions_of`), and a session is checked against its
user's row, so all of them must exist whichever store opens the file first.

The ``audit`` table is append-only: triggers abort any UPDATE or DELETE, whoever issues it
(the API has no such path; the triggers stop a careless hand with ``sqlite3`` too). Someone
who drops the triggers can still edit the file; :meth:`AuditLog.verify` then finds the edit
through the digest chain.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from redcolor.alerts.store import is_postgres_url
from redcolor.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    totp_last_step INTEGER,
    created_unix_s REAL NOT NULL,
    disabled_unix_s REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    digest BLOB NOT NULL,
    address TEXT NOT NULL,
    created_unix_s REAL NOT NULL,
    last_seen_unix_s REAL NOT NULL,
    revoked_unix_s REAL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user) WHERE revoked_unix_s IS NULL;
CREATE TABLE IF NOT EXISTS server_keys (
    name TEXT PRIMARY KEY,
    key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at_unix_s REAL NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"""


def connect(path: str | Path, what: str, schema: str = _SCHEMA) -> sqlite3.Connection:
    """A connection to ``path`` in autocommit mode (transactions are explicit), WAL, with
    ``schema`` created (by default every table of this package). ``what`` names the store in the
    error message."""
    name = str(path)
    try:
        db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        if name != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {what} {name}: {exc}") from exc
    return db


def end_sessions_of(db: sqlite3.Connection, user: str, now_unix_s: float) -> int:
    """Mark every live session of ``user`` revoked; the number ended. The caller owns the
    transaction (so disabling a user and ending their sessions commit together)."""
    cursor = db.execute(
        "UPDATE sessions SET revoked_unix_s = ? WHERE user = ? AND revoked_unix_s IS NULL",
        (now_unix_s, user),
    )
    return cursor.rowcount


@contextmanager
def write_transaction(db: sqlite3.Connection, what: str) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``db`` (SQLite's write lock taken first), committed or rolled
    back whole; StoreError naming ``what`` (one line) on a database error."""
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write {what}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Result:
    """What one statement gave: its rows (none for a write) and how many rows it changed."""

    rows: list[tuple[Any, ...]]
    rowcount: int

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


class Statements(Protocol):
    """One connection to a store's tables: single statements, each its own transaction
    (``?`` placeholders), on SQLite or PostgreSQL alike; StoreError (one line) on failure."""

    path: str

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result: ...

    def close(self) -> None: ...


class SQLiteStatements:
    """:class:`Statements` on a SQLite file (autocommit, WAL), ``schema`` created at open."""

    def __init__(self, path: str, schema: str, what: str) -> None:
        self.path, self.what = path, what
        self._lock = threading.Lock()  # one statement at a time on the shared connection
        self._db = connect(path, f"the {what} in", schema)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        try:
            with self._lock:
                cursor = self._db.execute(sql, args)
                rows = cursor.fetchall() if cursor.description else []
                return Result(rows, cursor.rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use the {self.what} in {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()


def open_statements(target: str, sqlite_schema: str, pg_schema: str, what: str) -> Statements:
    """:class:`Statements` on the store ``target`` names: a ``postgresql://`` URL (the
    server's ``--store``, shared by its cores) or a SQLite file (its ``--db``)."""
    if is_postgres_url(target):
        from redcolor.operators.pgtables import PgStatements  # psycopg only when it is used

        return PgStatements(target, pg_schema, what)
    return SQLiteStatements(target, sqlite_schema, what)
