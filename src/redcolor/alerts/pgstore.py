"""PostgreSQL event store (psycopg 3): the same contract as the embedded SQLite one.

:class:`PgEventStore` keeps every promise of :class:`~redcolor.alerts.store.SQLiteEventStore`
(gap-free ``seq`` given inside the transaction that makes an event durable, the log id, the
versioned lifecycle checkpoint, channel positions, runs, fencing by term) so the lifecycle, the
pipeline and the server run on either. Several cores may share one database; the one-row
``writer`` table serialises them: every event-writing transaction locks it ``FOR UPDATE``, reads
the last ``seq`` and the current term from it, checks the writer's term (:class:`Fenced`
otherwise) and moves the last ``seq`` on. A commit therefore never leaves a hole, and a deposed
leader blocked on the lock sees the new term once it gets it.

The event rows are append-only in the database itself: triggers refuse UPDATE, DELETE and
TRUNCATE of ``events`` and ``event_areas``.

Failures are typed: a lost connection (PostgreSQL restarting) raises StoreError on that call,
and the next call connects again; a full disk (SQLSTATE 53100) raises StoreFull. In both cases
the transaction rolled back, so nothing of the failed write is stored and nothing committed
before it is lost.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlsplit, urlunsplit

import msgspec
import psycopg
from psycopg import errors as pgerrors

from redcolor.alerts.store import (
    LOG_ID_BYTES,
    Checkpoint,
    CheckpointConflict,
    Fenced,
    StoredEvent,
    StoreFull,
    fenced_message,
    history_sql,
    iter_events,
)
from redcolor.errors import StoreError
from redcolor.model import EVENT_DECODER, EVENT_ENCODER, AlertEvent

CONNECT_TIMEOUT_S = 5  # an unreachable server fails a call in this long, not a TCP timeout
MIGRATION_LOCK = 0x72656463  # pg_advisory_xact_lock key: one migrating opener at a time

_APPEND_ONLY = """
CREATE FUNCTION redcolor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'redcolor: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION redcolor_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION redcolor_append_only();
CREATE TRIGGER event_areas_append_only BEFORE UPDATE OR DELETE ON event_areas
    FOR EACH ROW EXECUTE FUNCTION redcolor_append_only();
CREATE TRIGGER event_areas_no_truncate BEFORE TRUNCATE ON event_areas
    FOR EACH STATEMENT EXECUTE FUNCTION redcolor_append_only();
"""

# The ordered schema changes: a database at version ``n`` has applied ``MIGRATIONS[:n]``.
# Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL,
        category TEXT NOT NULL,
        stage TEXT NOT NULL,
        issued_at_unix_s DOUBLE PRECISION NOT NULL,
        body BYTEA NOT NULL,
        term BIGINT NOT NULL
    );
    CREATE INDEX events_id ON events (id);
    CREATE INDEX events_issued ON events (issued_at_unix_s);
    CREATE TABLE event_areas (
        area_id BIGINT NOT NULL,
        seq BIGINT NOT NULL REFERENCES events (seq),
        PRIMARY KEY (area_id, seq)
    );
    CREATE TABLE writer (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        last_seq BIGINT NOT NULL,
        term BIGINT NOT NULL,
        holder TEXT NOT NULL
    );
    INSERT INTO writer VALUES (1, 0, 0, 'nobody');
    CREATE TABLE terms (
        term BIGINT PRIMARY KEY,
        holder TEXT NOT NULL,
        taken_at_unix_s DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE lifecycle (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        version BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        body BYTEA NOT NULL
    );
    CREATE TABLE channel_positions (
        channel TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE runs (
        n BIGSERIAL,
        run_id TEXT PRIMARY KEY,
        body BYTEA NOT NULL,
        finished_unix_s DOUBLE PRECISION
    );
    """
    + _APPEND_ONLY,
)


def redacted(url: str) -> str:
    """``url`` without its password, to name the store in messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _pg_error(name: str, doing: str, exc: psycopg.Error) -> StoreError:
    """The typed one-line error for a failed PostgreSQL call (StoreFull for a full disk)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, pgerrors.DiskFull):
        return StoreFull(f"cannot {doing} {name}: the disk is full ({first})")
    return StoreError(f"cannot {doing} {name}: {first}")


class PgConnection:
    """One PostgreSQL connection, used by one call at a time (a lock) and opened again after
    it was lost: :meth:`using` turns a psycopg error into a typed one-line StoreError and drops
    a broken connection, so that call fails and the next one reconnects. ``what`` names the
    store in messages ("alert store", "audit log")."""

    def __init__(self, url: str, what: str, *, readonly: bool = False) -> None:
        self.url = url
        self.path = redacted(url)
        self.what = what
        self.readonly = readonly
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            except psycopg.Error as exc:
                raise _pg_error(f"{self.what} {self.path}", "connect to", exc) from exc
            except ValueError as exc:  # a malformed URL (psycopg's conninfo parser)
                raise StoreError(f"bad {self.what} URL {self.path}: {exc}") from exc
            if self.readonly:  # every statement, autocommitted ones too
                self._conn.execute("SET default_transaction_read_only = on")
        return self._conn

    @contextmanager
    def using(self, doing: str) -> Iterator[psycopg.Connection]:
        """The connection for one call; errors typed, a broken connection dropped."""
        with self._lock:
            conn = self._connect()
            try:
                yield conn
            except psycopg.Error as exc:
                if conn.broken or conn.closed:
                    conn.close()
                    self._conn = None
                raise _pg_error(f"{self.what} {self.path}", doing, exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PgEventStore:
    """The event store in a PostgreSQL database, ``url`` ``postgresql://user@host:port/db``.

    A read-write open creates the schema or applies the migrations the database lacks; a
    read-only one refuses a database at another schema version. One connection per object,
    used by one call at a time (a lock), reopened after it was lost.
    """

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self._db = PgConnection(url, "alert store", readonly=readonly)
        self.path = self._db.path
        self._term = 0
        with self._using("open") as conn:
            if readonly:
                if (version := self._schema_version(conn)) != len(MIGRATIONS):
                    raise StoreError(
                        f"alert store {self.path} has schema version {version}, this redcolor"
                        f" reads {len(MIGRATIONS)}: open it read-write once to migrate it"
                    )
            else:
                self._migrate(conn)

    @staticmethod
    def _schema_version(conn: psycopg.Connection) -> int:
        (exists,) = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not exists:
            return 0
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def schema_version(self) -> int:
        """How many of :data:`MIGRATIONS` this database has applied."""
        with self._using("read") as conn:
            return self._schema_version(conn)

    def _migrate(self, conn: psycopg.Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version = self._schema_version(conn)
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"alert store {self.path} has schema version {version}, newer than this"
                    f" redcolor's {len(MIGRATIONS)}: upgrade redcolor"
                )
            if version == len(MIGRATIONS):
                return
            for script in MIGRATIONS[version:]:
                conn.execute(script.encode())  # no parameters: several statements at once
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version VALUES (%s)", (len(MIGRATIONS),))
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('log_id', %s) ON CONFLICT DO NOTHING",
                (secrets.token_hex(LOG_ID_BYTES),),
            )

    # -- fencing --------------------------------------------------------------------------

    def take_term(self, holder: str) -> int:
        """Raise the store's term by one for ``holder`` and write under it from now on."""
        with self._using("write") as conn, conn.transaction():
            (new,) = conn.execute(
                "UPDATE writer SET term = term + 1, holder = %s WHERE one = 1 RETURNING term",
                (holder,),
            ).fetchone()
            conn.execute(
                "INSERT INTO terms (term, holder, taken_at_unix_s) VALUES (%s, %s, %s)",
                (new, holder, time.time()),
            )
        self._term = int(new)
        return self._term

    @property
    def writer_term(self) -> int:
        """The term this object writes under (0 until it took one)."""
        return self._term

    def write_under(self, term: int) -> None:
        """Write under ``term``, taken on another connection of this process."""
        self._term = term

    def term(self) -> int:
        """The store's current term (0 until someone took one)."""
        with self._using("read") as conn:
            (term,) = conn.execute("SELECT term FROM writer WHERE one = 1").fetchone()
        return int(term)

    def _lock_writer(self, conn: psycopg.Connection, mode: str = "UPDATE") -> int:
        """Inside the caller's transaction: lock the writer row, Fenced unless this writer's
        term is current; return the log's last ``seq``."""
        last, term, holder = conn.execute(
            f"SELECT last_seq, term, holder FROM writer WHERE one = 1 FOR {mode}"
        ).fetchone()
        if term != self._term:
            raise Fenced(fenced_message(self.path, self._term, int(term), str(holder)))
        return int(last)

    # -- writing --------------------------------------------------------------------------

    def _insert(self, conn: psycopg.Connection, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Number and insert ``events`` inside the caller's transaction (writer row locked)."""
        last = self._lock_writer(conn)
        stored = [
            msgspec.structs.replace(event, seq=last + offset)
            for offset, event in enumerate(events, start=1)
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO events (seq, id, category, stage, issued_at_unix_s, body, term)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        e.seq,
                        e.id,
                        e.category,
                        e.stage,
                        e.issued_at_unix_s,
                        EVENT_ENCODER.encode(e),
                        self._term,
                    )
                    for e in stored
                ],
            )
            areas = [(area.id, e.seq) for e in stored for area in e.areas]
            if areas:
                cur.executemany(
                    "INSERT INTO event_areas (area_id, seq) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    areas,
                )
        if stored:
            conn.execute("UPDATE writer SET last_seq = %s WHERE one = 1", (stored[-1].seq,))
        return stored

    def append(self, events: Sequence[AlertEvent]) -> list[AlertEvent]:
        """Make ``events`` durable in one transaction; return them with their ``seq`` set."""
        if not events:
            return []
        with self._writing() as conn:
            return self._insert(conn, events)

    def append_checkpointed(
        self,
        events: Sequence[AlertEvent],
        checkpoint: Callable[[list[AlertEvent]], bytes],
        version: int,
        after_seq: int,
    ) -> tuple[list[AlertEvent], Checkpoint]:
        """Append ``events`` and the lifecycle checkpoint they lead to in one transaction
        (:meth:`SQLiteEventStore.append_checkpointed`: CheckpointConflict, nothing written,
        when the checkpoint's version or the log moved)."""
        with self._writing() as conn:
            last = self._lock_writer(conn)
            row = conn.execute("SELECT version FROM lifecycle WHERE one = 1").fetchone()
            if (row[0] if row else 0) != version or last != after_seq:
                raise CheckpointConflict(
                    f"the alert store {self.path} changed under its lifecycle writer (checkpoint"
                    f" {row[0] if row else 0}, seq {last}; expected {version}, {after_seq})"
                )
            stored = self._insert(conn, events)
            seq = stored[-1].seq if stored else last
            saved = Checkpoint(version + 1, seq, checkpoint(stored))
            conn.execute(
                "INSERT INTO lifecycle (one, version, seq, body) VALUES (1, %s, %s, %s)"
                " ON CONFLICT (one) DO UPDATE SET version = excluded.version,"
                " seq = excluded.seq, body = excluded.body",
                (saved.version, saved.seq, saved.body),
            )
        return stored, saved

    def checkpoint(self) -> Checkpoint | None:
        """The stored lifecycle checkpoint, or None when no lifecycle writer has written one."""
        with self._using("read") as conn:
            row = conn.execute("SELECT version, seq, body FROM lifecycle WHERE one = 1").fetchone()
        return None if row is None else Checkpoint(int(row[0]), int(row[1]), bytes(row[2]))

    def channel_position(self, channel: str, missing_seq: int) -> int:
        """The last ``seq`` ``channel`` delivered (a missing row is made at ``missing_seq``)."""
        with self._using("write") as conn:
            conn.execute(
                "INSERT INTO channel_positions (channel, last_seq) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (channel, missing_seq),
            )
            (seq,) = conn.execute(
                "SELECT last_seq FROM channel_positions WHERE channel = %s", (channel,)
            ).fetchone()
        return int(seq)

    def save_channel_position(self, channel: str, last_seq: int) -> None:
        """Record that ``channel`` delivered up to ``last_seq`` (never moves back); Fenced,
        and nothing saved, for a deposed writer."""
        with self._writing() as conn:
            self._lock_writer(conn, "SHARE")
            conn.execute(
                "INSERT INTO channel_positions (channel, last_seq) VALUES (%s, %s)"
                " ON CONFLICT (channel) DO UPDATE"
                " SET last_seq = GREATEST(channel_positions.last_seq, excluded.last_seq)",
                (channel, last_seq),
            )

    def runs(self) -> list[tuple[str, bytes, float | None]]:
        """Every recorded run as (run id, body, finished time or None), oldest first."""
        with self._using("read") as conn:
            rows = conn.execute(
                "SELECT run_id, body, finished_unix_s FROM runs ORDER BY n"
            ).fetchall()
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def record_run(self, run_id: str, body: bytes) -> None:
        """Remember a run that starts writing to this store."""
        with self._using("write") as conn:
            conn.execute("INSERT INTO runs (run_id, body) VALUES (%s, %s)", (run_id, body))

    def finish_run(self, run_id: str, finished_unix_s: float) -> None:
        """Mark a run as having written its last all-clear."""
        with self._using("write") as conn:
            conn.execute(
                "UPDATE runs SET finished_unix_s = %s WHERE run_id = %s", (finished_unix_s, run_id)
            )

    # -- reading --------------------------------------------------------------------------

    def _rows(self, sql: str, args: Sequence[object]) -> list[StoredEvent]:
        with self._using("read") as conn:
            rows = conn.execute(sql, args).fetchall()
        return [StoredEvent(int(seq), bytes(body), int(term)) for seq, body, term in rows]

    def read_since(self, after_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq > after_seq`` in ``seq`` order, at most ``limit``."""
        return self._rows(
            "SELECT seq, body, term FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
            (after_seq, limit),
        )

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
        """History filter (:meth:`SQLiteEventStore.query`)."""
        sql, args = history_sql(
            "%s", after_seq, since_unix_s, until_unix_s, area_id, category, limit
        )
        return self._rows(sql, args)

    def read_before(self, before_seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events with ``seq < before_seq``, newest first, at most ``limit``."""
        return self._rows(
            "SELECT seq, body, term FROM events WHERE seq < %s ORDER BY seq DESC LIMIT %s",
            (before_seq, limit),
        )

    def read_alert(self, alert_id: str, upto_seq: int) -> list[AlertEvent]:
        """Every event of one alert with ``seq <= upto_seq``, in ``seq`` order."""
        with self._using("read") as conn:
            rows = conn.execute(
                "SELECT body FROM events WHERE id = %s AND seq <= %s ORDER BY seq",
                (alert_id, upto_seq),
            ).fetchall()
        return [EVENT_DECODER.decode(body) for (body,) in rows]

    def log_id(self) -> str:
        """This log's id, made when the database was first opened read-write."""
        with self._using("read") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()
        if row is None:
            raise StoreError(f"alert store {self.path} has no log id yet (open it read-write once)")
        return str(row[0])

    def last_seq(self) -> int:
        with self._using("read") as conn:
            (last,) = conn.execute("SELECT last_seq FROM writer WHERE one = 1").fetchone()
        return int(last)

    def _using(self, doing: str) -> AbstractContextManager[psycopg.Connection]:
        return self._db.using(doing)

    @contextmanager
    def _writing(self) -> Iterator[psycopg.Connection]:
        """One write transaction in pipeline mode: BEGIN goes with the writer row's lock, and
        the inserts, the writer row's update and COMMIT go together (two round trips)."""
        with self._using("write") as conn, conn.pipeline(), conn.transaction():
            yield conn

    def close(self) -> None:
        self._db.close()
