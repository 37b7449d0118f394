"""The audit log: who did what, when, from where, with the state before and after.

Records are appended to the ``audit`` table of the event store's file and never changed: the API
has no path to change one, and SQLite triggers abort any UPDATE or DELETE of the table. Each
record also carries ``digest = sha256(previous digest + canonical JSON of the record)`` (the
first chains from 64 zeros), so an edit made behind the triggers' back (a dropped trigger, a
hex editor) breaks the chain at that record, and :meth:`AuditLog.verify` names it. The chain
cannot show that the newest records were cut off the end; an export kept elsewhere can.

Appends take SQLite's write lock first (``BEGIN IMMEDIATE``), so with several writers (the
server, the CLI) each record's ``seq`` is one more than the last and chains from it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

from redcolor.errors import InputError, StoreError
from redcolor.operators.tables import connect

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


_FIELDS = tuple(f.name for f in fields(AuditRecord))
_CHAINED = _FIELDS[:-1]  # everything but the digest itself


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _digest(previous: str, record: dict[str, Any]) -> str:
    body = _canonical({name: record[name] for name in _CHAINED})
    return hashlib.sha256((previous + body).encode()).hexdigest()


def _record(row: tuple[Any, ...]) -> AuditRecord:
    values = dict(zip(_FIELDS, row, strict=True))
    try:
        values["before"] = json.loads(values["before"])
        values["after"] = json.loads(values["after"])
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit record {values['seq']} holds no JSON before/after") from exc
    return AuditRecord(**values)


class AuditLog:
    """The ``audit`` table of one SQLite file (the event store's), by its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = connect(self.path, "audit log")
        self._lock = threading.Lock()  # threads sharing this connection take turns

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
        try:
            with self._lock:
                self._append(values, before_json, after_json)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write audit log {self.path}: {exc}") from exc
        return AuditRecord(**{name: values[name] for name in _FIELDS})

    def _append(self, values: dict[str, Any], before_json: str, after_json: str) -> None:
        """Number, chain and insert ``values`` (completed in place) in one write transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            last = self._db.execute(
                "SELECT seq, digest FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, previous = (1, GENESIS) if last is None else (last[0] + 1, last[1])
            values["seq"] = seq
            values["digest"] = _digest(previous, values)
            row = {**values, "before": before_json, "after": after_json}
            self._db.execute(
                f"INSERT INTO audit ({', '.join(_FIELDS)})"
                f" VALUES ({', '.join('?' * len(_FIELDS))})",
                tuple(row[name] for name in _FIELDS),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def read(self, *, after_seq: int = 0, limit: int = 1000) -> list[AuditRecord]:
        """Records with ``seq > after_seq``, oldest first, at most ``limit`` (1..10000)."""
        if not 1 <= limit <= MAX_READ:
            raise InputError(f"limit must be 1 to {MAX_READ}, not {limit}")
        if after_seq < 0:
            raise InputError(f"after must be 0 or more, not {after_seq}")
        try:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {', '.join(_FIELDS)} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after_seq, limit),
                ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read audit log {self.path}: {exc}") from exc
        return [_record(r) for r in rows]

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
        self._db.close()
