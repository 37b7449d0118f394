"""The audit log: who did what, when, from where, with the state before and after.

Records are appended to the ``audit`` table of the event store's file and never changed: the API
has no path to change one, and SQLite triggers abort any UPDATE or DELETE of the table. Each
record also carries ``digest = sha256(previous digest + canonical JSON of the record)`` (the
first chains from 64 zeros), so an edit made behind the triggers' back (a dropped trigger, a
hex editor) breaks the chain at that record, and :meth:`AuditLog.verify` names it. The chain
cannot show that the newest records were cut off the end; an export kept elsewhere can.

Appends take SQLite's write lock first (``BEGIN IMMEDIATE``), so with several writers (the
server, the CLI) each record's ``seq`` is one more than the last and chains from it.

When the event store is PostgreSQL the records go to an ``audit`` table in the same database
(:mod:`redcolor.operators.pgaudit`): the same chain, serialised by a table lock, append-only by
triggers that refuse UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any, Protocol

from redcolor.alerts.store import is_postgres_url
from redcolor.errors import InputError, StoreError
from redcolor.operators.tables import connect, write_transaction

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "propose",
    "approve",
    "reject",
    "lapse",
    "issue_alone",
    "confirm",
    "cancel",
    "end",
    "update",
    "mode",
    "user_add",
    "user_disable",
    "user_enable",
    "user_role",
    "user_password",
    "user_totp",
    "session_revoke",
    "approve_refused",
    "confirm_refused",
)
"""Every action the log records."""

GENESIS = "0" * 64
"""The digest the first record chains from."""
MAX_TEXT_CHARS = 256
"""Texts (actor, address, target...) are cut to this: a client's 1 MB "user name" in a failed
login is not worth keeping whole."""
MAX_READ = 10_000


@dataclass(frozen=True)
class AuditRecord:
    """One action. ``before`` and ``after`` are JSON values (None when not applicable)."""

    seq: int
    at_unix_s: float
    actor: str
    role: str
    address: str
    action: str
    target: str
    before: Any
    after: Any
    digest: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = tuple(f.name for f in fields(AuditRecord))
"""The columns of a record, in table order."""
_CHAINED = FIELDS[:-1]  # everything but the digest itself


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _digest(previous: str, record: dict[str, Any]) -> str:
    body = _canonical({name: record[name] for name in _CHAINED})
    return hashlib.sha256((previous + body).encode()).hexdigest()


def _record(row: tuple[Any, ...]) -> AuditRecord:
    values = dict(zip(FIELDS, row, strict=True))
    try:
        values["before"] = json.loads(values["before"])
        values["after"] = json.loads(values["after"])
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit record {values['seq']} holds no JSON before/after") from exc
    return AuditRecord(**values)


class AuditRows(Protocol):
    """Where the records are kept: a SQLite file's table, or a PostgreSQL database's."""

    path: str

    def append(self, make_row: Callable[[tuple[int, str] | None], tuple[Any, ...]]) -> None:
        """In one write transaction that excludes other appenders: call ``make_row`` with the
        last record's (seq, digest), None for none, and insert the row it returns."""
        ...

    def rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class _SQLiteAudit:
    """The ``audit`` table of one SQLite file (the event store's), by its own connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = connect(self.path, "audit log")

    def append(self, make_row: Callable[[tuple[int, str] | None], tuple[Any, ...]]) -> None:
        with write_transaction(self._db, f"audit log {self.path}") as db:
            last = db.execute("SELECT seq, digest FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            db.execute(
                f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})",
                make_row(None if last is None else (int(last[0]), str(last[1]))),
            )

    def rows(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(
                f"SELECT {', '.join(FIELDS)} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read audit log {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()


def _open_rows(target: str) -> AuditRows:
    if is_postgres_url(target):
        from redcolor.operators.pgaudit import PgAudit  # psycopg only when PostgreSQL is used

        return PgAudit(target)
    return _SQLiteAudit(target)


class AuditLog:
    """The audit log of one store: ``target`` is the event store's SQLite file or its
    PostgreSQL URL (the records go beside the events)."""

    def __init__(self, target: str | Path) -> None:
        self._rows = _open_rows(str(target))
        self.path = self._rows.path
        self._lock = threading.Lock()  # threads sharing this log take turns

    def append(
        self,
        *,
        actor: str,
        role: str,
        address: str,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        now_unix_s: float | None = None,
    ) -> AuditRecord:
        """Add one record at the end of the chain and return it."""
        if action not in ACTIONS:
            raise InputError(f"unknown audit action {action[:40]!r}")
        try:
            before_json, after_json = _canonical(before), _canonical(after)
        except (TypeError, ValueError) as exc:
            raise InputError(f"audit before/after must be plain JSON values: {exc}") from exc
        values: dict[str, Any] = {
            "at_unix_s": float(time.time() if now_unix_s is None else now_unix_s),
            "actor": actor[:MAX_TEXT_CHARS],
            "role": role[:MAX_TEXT_CHARS],
            "address": address[:MAX_TEXT_CHARS],
            "action": action,
            "target": target[:MAX_TEXT_CHARS],
            "before": json.loads(before_json),
            "after": json.loads(after_json),
        }

        def make_row(last: tuple[int, str] | None) -> tuple[Any, ...]:
            """Number and chain ``values`` (completed in place) after the last record."""
            seq, previous = (1, GENESIS) if last is None else (last[0] + 1, last[1])
            values["seq"] = seq
            values["digest"] = _digest(previous, values)
            row = {**values, "before": before_json, "after": after_json}
            return tuple(row[name] for name in FIELDS)

        with self._lock:
            self._rows.append(make_row)
        return AuditRecord(**{name: values[name] for name in FIELDS})

    def read(self, *, after_seq: int = 0, limit: int = 1000) -> list[AuditRecord]:
        """Records with ``seq > after_seq``, oldest first, at most ``limit`` (1..10000)."""
        if not 1 <= limit <= MAX_READ:
            raise InputError(f"limit must be 1 to {MAX_READ}, not {limit}")
        if after_seq < 0:
            raise InputError(f"after must be 0 or more, not {after_seq}")
        with self._lock:
            rows = self._rows.rows(after_seq, limit)
        return [_record(tuple(r)) for r in rows]

    def verify(self) -> int:
        """Re-walk the whole chain; the number of records, or StoreError naming the first
        record whose digest or position does not hold."""
        previous, expected_seq, count = GENESIS, 1, 0
        while batch := self.read(after_seq=expected_seq - 1, limit=MAX_READ):
            for record in batch:
                if record.seq != expected_seq:
                    raise StoreError(
                        f"audit log {self.path}: record {expected_seq} is missing"
                        f" (next is {record.seq})"
                    )
                if _digest(previous, record.to_json()) != record.digest:
                    raise StoreError(
                        f"audit log {self.path}: record {record.seq} was changed"
                        " (its digest does not match its content and the chain)"
                    )
                previous, expected_seq, count = record.digest, expected_seq + 1, count + 1
        return count

    def export_jsonl(self, out: IO[str]) -> int:
        """Write every record to ``out`` as one JSON object a line, oldest first; how many."""
        after, count = 0, 0
        while batch := self.read(after_seq=after, limit=MAX_READ):
            for record in batch:
                out.write(_canonical(record.to_json()) + "\n")
            after, count = batch[-1].seq, count + len(batch)
        return count

    def close(self) -> None:
        self._rows.close()
