"""The SQLite tables of operator accounts, sessions, the server key and the audit log.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def connect(path: str | Path, what: str) -> sqlite3.Connection:
    """A connection to ``path`` in autocommit mode (transactions are explicit), WAL, with every
    table of this package created. ``what`` names the store in the error message."""
    name = str(path)
    try:
        db = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")
        if name != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
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
