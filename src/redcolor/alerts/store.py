"""Append-only alert event store.

The store gives every event its global ``seq`` inside the transaction that makes it durable, so
``seq`` is gap-free and an event is never visible half-written: a reader sees whole transactions
or nothing. SQLite in WAL mode with ``synchronous=FULL`` is the embedded default; several
processes may read while one writes (``redcolor serve`` follows a store that ``simulate`` writes).

Beside the log the store keeps what a restart must not forget: the alert lifecycle's checkpoint
(written in the same transaction as the events it produced, so the two never disagree, and
versioned so a second writer cannot overwrite it unseen), each channel's last delivered ``seq``
and the simulated runs it holds (see :mod:`redcolor.alerts.durable`).

Every store file has a *log id*, a random id made when the file is first opened: ``seq`` numbers
only mean something within one log, so whatever quotes a ``seq`` to a client (the streams) quotes
the log id with it, and a client holding another log's ``seq`` (a fresh database, another server)
is told so instead of being resumed at a wrong place.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from redcolor.errors import StoreError
from redcolor.model import EVENT_DECODER, EVENT_ENCODER, AlertEvent

LOG_ID_BYTES = 8  # 64 random bits: two stores' ids never meet in practice

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
CREATE TABLE IF NOT EXISTS lifecycle (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_positions (
    channel TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    finished_unix_s REAL
);
"""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: its ``seq`` and the exact JSON bytes every channel sends."""

    seq: int
    body: bytes

    def decode(self) -> AlertEvent:
        return EVENT_DECODER.decode(self.body)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The stored lifecycle checkpoint: its ``version`` (bumped by every write), the log's last
    ``seq`` it accounts for, and its encoded body (:mod:`redcolor.alerts.checkpoint`)."""

    version: int
    seq: int
    body: bytes


class CheckpointConflict(StoreError):
    """The lifecycle checkpoint moved under a writer: another writer owns the lifecycle."""


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
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('log_id', ?)",
                    (secrets.token_hex(LOG_ID_BYTES),),
                )
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
            stored = self._insert(events)
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
                self._insert_row(event, body)
                last = event.seq
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def _insert_row(self, event: AlertEvent, body: bytes) -> None:
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

    def _insert(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Number and insert ``events`` inside the caller's transaction."""
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        stored: list[AlertEvent] = []
        for offset, event in enumerate(events, start=1):
            done = msgspec.structs.replace(event, seq=last + offset)
            self._insert_row(done, EVENT_ENCODER.encode(done))
            stored.append(done)
        return stored

    def append_checkpointed(
        self,
        events: Sequence[AlertEvent],
        checkpoint: Callable[[list[AlertEvent]], bytes],
        version: int,
        after_seq: int,
    ) -> tuple[list[AlertEvent], Checkpoint]:
        """Append ``events`` and the lifecycle checkpoint they lead to in one transaction.

        ``checkpoint`` is called inside the transaction with the stored events (their ``seq``
        set) and returns the encoded lifecycle state after them. ``version`` is the version of
        the checkpoint the writer started from (0: none) and ``after_seq`` the last ``seq`` it
        has seen; if either has moved (another writer), :class:`CheckpointConflict` is raised
        and nothing is written.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute("SELECT version FROM lifecycle WHERE one = 1").fetchone()
            (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            if (row[0] if row else 0) != version or last != after_seq:
                self._db.execute("ROLLBACK")
                raise CheckpointConflict(
                    f"the alert store {self.path} changed under its lifecycle writer (checkpoint"
                    f" {row[0] if row else 0}, seq {last}; expected {version}, {after_seq})"
                )
            stored = self._insert(events)
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            saved = Checkpoint(version + 1, int(seq), checkpoint(stored))
            self._db.execute(
                "INSERT INTO lifecycle (one, version, seq, body) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (one) DO UPDATE SET version = excluded.version,"
                " seq = excluded.seq, body = excluded.body",
                (saved.version, saved.seq, saved.body),
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        return stored, saved

    def checkpoint(self) -> Checkpoint | None:
        """The stored lifecycle checkpoint, or None when no lifecycle writer has written one."""
        row = self._db.execute("SELECT version, seq, body FROM lifecycle WHERE one = 1").fetchone()
        return None if row is None else Checkpoint(int(row[0]), int(row[1]), bytes(row[2]))

    def channel_position(self, channel: str, missing_seq: int) -> int:
        """The last ``seq`` ``channel`` delivered; a channel with no row yet is given one at
        ``missing_seq`` first (so its position is durable from its first start)."""
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO channel_positions (channel, last_seq) VALUES (?, ?)",
                (channel, missing_seq),
            )
            (seq,) = self._db.execute(
                "SELECT last_seq FROM channel_positions WHERE channel = ?", (channel,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        return int(seq)

    def save_channel_position(self, channel: str, last_seq: int) -> None:
        """Record that ``channel`` delivered everything up to ``last_seq`` (never moves back)."""
        try:
            self._db.execute(
                "INSERT INTO channel_positions (channel, last_seq) VALUES (?, ?)"
                " ON CONFLICT (channel) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
                (channel, last_seq),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc

    def runs(self) -> list[tuple[str, bytes, float | None]]:
        """Every recorded run as (run id, body, finished time or None), oldest first."""
        rows = self._db.execute(
            "SELECT run_id, body, finished_unix_s FROM runs ORDER BY rowid"
        ).fetchall()
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def record_run(self, run_id: str, body: bytes) -> None:
        """Remember a run that starts writing to this store."""
        try:
            self._db.execute("INSERT INTO runs (run_id, body) VALUES (?, ?)", (run_id, body))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc

    def finish_run(self, run_id: str, finished_unix_s: float) -> None:
        """Mark a run as having written its last all-clear."""
        try:
            self._db.execute(
                "UPDATE runs SET finished_unix_s = ? WHERE run_id = ?", (finished_unix_s, run_id)
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc

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

    def read_alert(self, alert_id: str, upto_seq: int) -> list[AlertEvent]:
        """Every event of one alert with ``seq <= upto_seq``, in ``seq`` order."""
        rows = self._db.execute(
            "SELECT body FROM events WHERE id = ? AND seq <= ? ORDER BY seq", (alert_id, upto_seq)
        ).fetchall()
        return [EVENT_DECODER.decode(body) for (body,) in rows]

    def log_id(self) -> str:
        """This log's id: ``2 * LOG_ID_BYTES`` lowercase hex digits, made at the file's first
        read-write open and never changed (a ``":memory:"`` store has its own per instance)."""
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the log id of alert store {self.path}: {exc}") from exc
        if row is None:
            raise StoreError(f"alert store {self.path} has no log id yet (open it read-write once)")
        return str(row[0])

    def adopt_log_id(self, log_id: str) -> None:
        """Take another log's id (an edge's copy takes the core's, so resume points hold on
        every edge). Only an edge's replica store calls this."""
        try:
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'log_id'", (log_id,))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc

    def forget_before(self, seq: int) -> None:
        """Drop the events before ``seq`` (an edge's in-memory copy keeps only its tail)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM event_areas WHERE seq < ?", (seq,))
            self._db.execute("DELETE FROM events WHERE seq < ?", (seq,))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write alert store {self.path}: {exc}") from exc
        finally:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    def first_seq(self) -> int:
        """The oldest seq held (``last_seq() + 1`` when empty; 1 unless events were forgotten)."""
        (first,) = self._db.execute("SELECT MIN(seq) FROM events").fetchone()
        return int(first) if first is not None else self.last_seq() + 1

    def last_seq(self) -> int:
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(last)

    def close(self) -> None:
        self._db.close()
