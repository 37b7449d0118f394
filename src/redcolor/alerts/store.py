"""Append-only alert event store.

The store gives every event its global ``seq`` inside the transaction that makes it durable, so
``seq`` is gap-free and an event is never visible half-written: a reader sees whole transactions
or nothing. SQLite in WAL mode with ``synchronous=FULL`` is the embedded default; several
processes may read while one writes (``redcolor serve`` follows a store that ``simulate`` writes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from redcolor.errors import StoreError
from redcolor.model import EVENT_DECODER, EVENT_ENCODER, AlertEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    category TEXT NOT NULL,
    stage TEXT NOT NULL,
    issued_at_unix_s REAL NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_issued ON events (issued_at_unix_s);
CREATE TABLE IF NOT EXISTS event_areas (
    area_id INTEGER NOT NULL,
    seq INTEGER NOT NULL REFERENCES events (seq),
    PRIMARY KEY (area_id, seq)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: its ``seq`` and the exact JSON bytes every channel sends."""

    seq: int
    body: bytes

    def decode(self) -> AlertEvent:
        return EVENT_DECODER.decode(self.body)


class EventStore(Protocol):
    """What the pipeline writes to and the channels read from."""

    def append(self, events: Sequence[AlertEvent]) -> list[AlertEvent]: ...

    def read_since(self, after_seq: int, limit: int = 1000) -> list[StoredEvent]: ...

    def last_seq(self) -> int: ...

    def close(self) -> None: ...


class SQLiteEventStore:
    """SQLite (WAL) event store. ``path`` ``":memory:"`` keeps it in this process only.

    Examples
    --------
    >>> store = SQLiteEventStore(":memory:")
    >>> store.last_seq()
    0
    """

    def __init__(self, path: str | Path = ":memory:", *, readonly: bool = False) -> None:
        self.path = str(path)
        try:
            if readonly:
                uri = f"file:{Path(self.path).resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
            self._db.execute("PRAGMA busy_timeout=5000")
            if readonly:
                self._db.execute("SELECT 1 FROM events LIMIT 1")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open alert store {self.path}: {exc}") from exc

    def append(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Make ``events`` durable in one transaction; return them with their ``seq`` set."""
        if not events:
            return []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            stored: list[AlertEvent] = []
            for offset, event in enumerate(events, start=1):
                done = msgspec.structs.replace(event, seq=last + offset)
                self._insert(done, EVENT_ENCODER.encode(done))
                stored.append(done)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        return stored

    def append_replica(self, events: Sequence[tuple[AlertEvent, bytes]]) -> None:
        """Store another log's events under the seqs they carry, each body byte for byte (an
        edge copying the core's log), in one transaction. StoreError, and nothing stored,
        unless the seqs run on exactly from this store's last, so the copy can never fall out
        of step with the original."""
        if not events:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            for event, body in events:
                if event.seq != last + 1:
                    raise StoreError(f"replica event seq {event.seq} does not follow seq {last}")
                self._insert(event, body)
                last = event.seq
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def _insert(self, event: AlertEvent, body: bytes) -> None:
        """One event row and its area index rows (inside the caller's transaction)."""
        self._db.execute(
            "INSERT INTO events (seq, id, category, stage, issued_at_unix_s, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event.seq, event.id, event.category, event.stage, event.issued_at_unix_s, body),
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO event_areas (area_id, seq) VALUES (?, ?)",
            [(area.id, event.seq) for area in event.areas],
        )

    def read_since(self, after_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq > after_seq`` in ``seq`` order, at most ``limit``."""
        rows = self._db.execute(
            "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [StoredEvent(seq, bytes(body)) for seq, body in rows]

    def iter_all(self, batch: int = 1000) -> Iterator[AlertEvent]:
        """Every event in ``seq`` order."""
        after = 0
        while rows := self.read_since(after, batch):
            for row in rows:
                yield row.decode()
            after = rows[-1].seq

    def query(
        self,
        *,
        after_seq: int = 0,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        area_id: int | None = None,
        category: str | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]:
        """History filter: events with ``seq > after_seq`` in ``seq`` order, at most ``limit``.

        ``since_unix_s <= issued_at_unix_s < until_unix_s`` when given; ``area_id`` keeps events
        naming that area; ``category`` keeps one category. Page by passing the last ``seq`` back
        as ``after_seq``.
        """
        sql = ["SELECT e.seq, e.body FROM events e"]
        args: list[object] = []
        if area_id is not None:
            sql.append("JOIN event_areas a ON a.seq = e.seq AND a.area_id = ?")
            args.append(area_id)
        sql.append("WHERE e.seq > ?")
        args.append(after_seq)
        if since_unix_s is not None:
            sql.append("AND e.issued_at_unix_s >= ?")
            args.append(since_unix_s)
        if until_unix_s is not None:
            sql.append("AND e.issued_at_unix_s < ?")
            args.append(until_unix_s)
        if category is not None:
            sql.append("AND e.category = ?")
            args.append(category)
        sql.append("ORDER BY e.seq LIMIT ?")
        args.append(limit)
        rows = self._db.execute(" ".join(sql), args).fetchall()
        return [StoredEvent(seq, bytes(body)) for seq, body in rows]

    def read_before(self, before_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq < before_seq``, newest first, at most ``limit``."""
        rows = self._db.execute(
            "SELECT seq, body FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before_seq, limit),
        ).fetchall()
        return [StoredEvent(seq, bytes(body)) for seq, body in rows]

    def last_seq(self) -> int:
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(last)

    def close(self) -> None:
        self._db.close()
