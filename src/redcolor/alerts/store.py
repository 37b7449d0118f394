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

Fencing: the store keeps a *term*, raised by :meth:`SQLiteEventStore.take_term` whenever a new
leader takes over (:mod:`redcolor.alerts.lease`). Every event row carries the term of the writer
that wrote it, and every event-writing transaction checks, inside the transaction, that the
writer's term is still the store's current one; a deposed leader gets :class:`Fenced` and writes
nothing, so two leaders can never both publish. A writer that never took a term writes under
term 0 and is fenced once anyone has taken one (a plain single-process store works as before).

The schema is versioned: ``schema_version`` holds how many of :data:`MIGRATIONS` a file has
applied, and a read-write open applies the rest in one transaction (an old file without the
``term`` column is migrated in place). :func:`open_store` opens either backend by its target:
a ``postgresql://`` URL (:mod:`redcolor.alerts.pgstore`) or a SQLite path.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec

from redcolor.errors import InputError, StoreError
from redcolor.model import EVENT_DECODER, EVENT_ENCODER, AlertEvent

LOG_ID_BYTES = 8  # 64 random bits: two stores' ids never meet in practice

_BASE_SCHEMA = """
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

# The ordered schema changes: a file at version ``n`` has applied ``MIGRATIONS[:n]``. Append,
# never edit, so every older file can be brought forward. Version 1 is the schema before
# versioning (``IF NOT EXISTS``: an unversioned file already has it).
MIGRATIONS: tuple[str, ...] = (
    _BASE_SCHEMA,
    """
    ALTER TABLE events ADD COLUMN term INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE terms (
        term INTEGER PRIMARY KEY,
        holder TEXT NOT NULL,
        taken_at_unix_s REAL NOT NULL
    );
    """,
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: its ``seq`` and the exact JSON bytes every channel sends."""

    seq: int
    body: bytes
    term: int = 0

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


class Fenced(StoreError):
    """The writer's term is not the store's current one: a newer leader took over (or, for a
    writer that never took a term, some leader did), so this writer may write nothing."""


class StoreFull(StoreError):
    """The store's disk (or tablespace) is full: nothing of this write was stored."""


class EventStore(Protocol):
    """What the lifecycle and the pipeline write to and the server and channels read from.

    ``path`` names the store in messages (a SQLite path, or a PostgreSQL URL without its
    password). See :class:`SQLiteEventStore` for each method's contract; every backend keeps it.
    """

    path: str

    def append(self, events: Sequence[AlertEvent]) -> list[AlertEvent]: ...

    def append_checkpointed(
        self,
        events: Sequence[AlertEvent],
        checkpoint: Callable[[list[AlertEvent]], bytes],
        version: int,
        after_seq: int,
    ) -> tuple[list[AlertEvent], Checkpoint]: ...

    def checkpoint(self) -> Checkpoint | None: ...

    def take_term(self, holder: str) -> int: ...

    def term(self) -> int: ...

    @property
    def writer_term(self) -> int: ...

    def write_under(self, term: int) -> None: ...

    def read_since(self, after_seq: int, limit: int = 1000) -> list[StoredEvent]: ...

    def read_before(self, before_seq: int, limit: int = 1000) -> list[StoredEvent]: ...

    def iter_all(self, batch: int = 1000) -> Iterator[AlertEvent]: ...

    def query(
        self,
        *,
        after_seq: int = 0,
        since_unix_s: float | None = None,
        until_unix_s: float | None = None,
        area_id: int | None = None,
        category: str | None = None,
        limit: int = 1000,
    ) -> list[StoredEvent]: ...

    def read_alert(self, alert_id: str, upto_seq: int) -> list[AlertEvent]: ...

    def last_seq(self) -> int: ...

    def log_id(self) -> str: ...

    def channel_position(self, channel: str, missing_seq: int) -> int: ...

    def save_channel_position(self, channel: str, last_seq: int) -> None: ...

    def runs(self) -> list[tuple[str, bytes, float | None]]: ...

    def record_run(self, run_id: str, body: bytes) -> None: ...

    def finish_run(self, run_id: str, finished_unix_s: float) -> None: ...

    def close(self) -> None: ...


def is_postgres_url(target: str) -> bool:
    """Whether a ``--store``/``--db`` target names a PostgreSQL database rather than a file."""
    return target.startswith(("postgresql://", "postgres://"))


def check_store_url(url: str) -> str:
    """``url`` if it names a PostgreSQL database (``--store``), else InputError (one line)."""
    if not is_postgres_url(url):
        raise InputError(
            f"--store takes a postgresql://user@host:port/database URL, not {url[:200]!r}"
            " (a SQLite store is --db)"
        )
    return url


def open_store(target: str | Path, *, readonly: bool = False) -> EventStore:
    """Open the event store ``target`` names: a ``postgresql://`` URL opens
    :class:`~redcolor.alerts.pgstore.PgEventStore`, anything else is a SQLite path
    (``":memory:"`` included). StoreError (one line) when it cannot be opened."""
    if is_postgres_url(str(target)):
        from redcolor.alerts.pgstore import PgEventStore  # psycopg only when PostgreSQL is used

        return PgEventStore(str(target), readonly=readonly)
    return SQLiteEventStore(target, readonly=readonly)


def iter_events(store: EventStore, batch: int) -> Iterator[AlertEvent]:
    """Every event of ``store`` in ``seq`` order, read ``batch`` at a time (both backends)."""
    after = 0
    while rows := store.read_since(after, batch):
        for row in rows:
            yield row.decode()
        after = rows[-1].seq


def history_sql(
    mark: str,
    after_seq: int,
    since_unix_s: float | None,
    until_unix_s: float | None,
    area_id: int | None,
    category: str | None,
    limit: int,
) -> tuple[str, list[object]]:
    """The history filter's SQL and arguments (see :meth:`SQLiteEventStore.query`), with
    ``mark`` as the parameter placeholder of the backend (``?`` or ``%s``)."""
    sql = ["SELECT e.seq, e.body, e.term FROM events e"]
    args: list[object] = []
    if area_id is not None:
        sql.append(f"JOIN event_areas a ON a.seq = e.seq AND a.area_id = {mark}")
        args.append(area_id)
    sql.append(f"WHERE e.seq > {mark}")
    args.append(after_seq)
    if since_unix_s is not None:
        sql.append(f"AND e.issued_at_unix_s >= {mark}")
        args.append(since_unix_s)
    if until_unix_s is not None:
        sql.append(f"AND e.issued_at_unix_s < {mark}")
        args.append(until_unix_s)
    if category is not None:
        sql.append(f"AND e.category = {mark}")
        args.append(category)
    sql.append(f"ORDER BY e.seq LIMIT {mark}")
    args.append(limit)
    return " ".join(sql), args


def fenced_message(path: str, writer_term: int, current_term: int, holder: str) -> str:
    """The one-line :class:`Fenced` message (both backends)."""
    return (
        f"alert store {path} is fenced: this writer holds term {writer_term} but {holder}"
        f" took term {current_term}; a deposed leader writes nothing"
    )


def _sqlite_error(path: str, doing: str, exc: sqlite3.Error) -> StoreError:
    """The typed one-line error for a failed SQLite call (StoreFull for a full disk)."""
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return StoreFull(f"cannot {doing} alert store {path}: the disk is full ({exc})")
    return StoreError(f"cannot {doing} alert store {path}: {exc}")


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
        self._term = 0  # the term this object writes under (take_term raises it)
        try:
            if readonly:
                uri = f"file:{Path(self.path).resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            if readonly:
                self._db.execute("SELECT 1 FROM events LIMIT 1")
                if (version := self.schema_version()) != len(MIGRATIONS):
                    raise StoreError(
                        f"alert store {self.path} has schema version {version}, this redcolor"
                        f" reads {len(MIGRATIONS)}: open it read-write once to migrate it"
                    )
            else:
                self._migrate()
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "open", exc) from exc

    def _rollback(self) -> None:
        """End a failed write transaction (SQLite may have rolled it back already: a full
        disk does; a failing ROLLBACK then changes nothing the caller's error does not say)."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def schema_version(self) -> int:
        """How many of :data:`MIGRATIONS` this file has applied (0: an unversioned file)."""
        tables = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchall()
        if not tables:
            return 0
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        """Apply the migrations this file lacks, and make its log id, in one transaction."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version()
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"alert store {self.path} has schema version {version}, newer than this"
                    f" redcolor's {len(MIGRATIONS)}: upgrade redcolor"
                )
            if version == len(MIGRATIONS):
                return  # up to date: the finally ends the (empty) transaction
            for script in MIGRATIONS[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            self._db.execute("DELETE FROM schema_version")
            self._db.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS),))
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('log_id', ?)",
                (secrets.token_hex(LOG_ID_BYTES),),
            )
            self._db.execute("COMMIT")
        finally:
            self._rollback()

    def take_term(self, holder: str) -> int:
        """Raise the store's term by one for ``holder`` (a new leader) and write under it from
        now on; every writer still on an older term is fenced from the next write."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            new = self._current_term()[0] + 1
            self._db.execute(
                "INSERT INTO terms (term, holder, taken_at_unix_s) VALUES (?, ?, ?)",
                (new, holder, time.time()),
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "write", exc) from exc
        finally:
            self._rollback()
        self._term = new
        return new

    @property
    def writer_term(self) -> int:
        """The term this object writes under (0 until it took one)."""
        return self._term

    def write_under(self, term: int) -> None:
        """Write under ``term``, one this process took on another connection (an operator's
        command on the leader); a term that is not current is fenced at the next write."""
        self._term = term

    def term(self) -> int:
        """The store's current term (0 until someone took one)."""
        try:
            return self._current_term()[0]
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "read", exc) from exc

    def _current_term(self) -> tuple[int, str]:
        row = self._db.execute(
            "SELECT term, holder FROM terms ORDER BY term DESC LIMIT 1"
        ).fetchone()
        return (0, "nobody") if row is None else (int(row[0]), str(row[1]))

    def _check_term(self) -> None:
        """Inside the caller's write transaction: Fenced unless this writer's term is current."""
        current, holder = self._current_term()
        if current != self._term:
            raise Fenced(fenced_message(self.path, self._term, current, holder))

    def append(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Make ``events`` durable in one transaction; return them with their ``seq`` set."""
        if not events:
            return []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._check_term()
            stored = self._insert(events)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "write", exc) from exc
        finally:
            self._rollback()
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
            raise _sqlite_error(self.path, "write", exc) from exc
        finally:
            self._rollback()

    def _insert_row(self, event: AlertEvent, body: bytes, term: int = 0) -> None:
        """One event row and its area index rows (inside the caller's transaction)."""
        self._db.execute(
            "INSERT INTO events (seq, id, category, stage, issued_at_unix_s, body, term)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.seq, event.id, event.category, event.stage, event.issued_at_unix_s, body, term),
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
            self._insert_row(done, EVENT_ENCODER.encode(done), self._term)
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
            self._check_term()
            row = self._db.execute("SELECT version FROM lifecycle WHERE one = 1").fetchone()
            (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            if (row[0] if row else 0) != version or last != after_seq:
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
            raise _sqlite_error(self.path, "write", exc) from exc
        finally:
            self._rollback()
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
            raise _sqlite_error(self.path, "write", exc) from exc
        return int(seq)

    def save_channel_position(self, channel: str, last_seq: int) -> None:
        """Record that ``channel`` delivered everything up to ``last_seq`` (never moves back);
        Fenced, and nothing saved, for a deposed writer."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._check_term()
            self._db.execute(
                "INSERT INTO channel_positions (channel, last_seq) VALUES (?, ?)"
                " ON CONFLICT (channel) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)",
                (channel, last_seq),
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "write", exc) from exc
        finally:
            self._rollback()

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
            raise _sqlite_error(self.path, "write", exc) from exc

    def finish_run(self, run_id: str, finished_unix_s: float) -> None:
        """Mark a run as having written its last all-clear."""
        try:
            self._db.execute(
                "UPDATE runs SET finished_unix_s = ? WHERE run_id = ?", (finished_unix_s, run_id)
            )
        except sqlite3.Error as exc:
            raise _sqlite_error(self.path, "write", exc) from exc

    def read_since(self, after_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq > after_seq`` in ``seq`` order, at most ``limit``."""
        rows = self._db.execute(
            "SELECT seq, body, term FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [StoredEvent(seq, bytes(body), term) for seq, body, term in rows]

    def iter_all(self, batch: int = 1000) -> Iterator[AlertEvent]:
        """Every event in ``seq`` order."""
        return iter_events(self, batch)

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
        sql, args = history_sql(
            "?", after_seq, since_unix_s, until_unix_s, area_id, category, limit
        )
        rows = self._db.execute(sql, args).fetchall()
        return [StoredEvent(seq, bytes(body), term) for seq, body, term in rows]

    def read_before(self, before_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq < before_seq``, newest first, at most ``limit``."""
        rows = self._db.execute(
            "SELECT seq, body, term FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before_seq, limit),
        ).fetchall()
        return [StoredEvent(seq, bytes(body), term) for seq, body, term in rows]

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
