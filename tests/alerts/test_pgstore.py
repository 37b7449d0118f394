"""What only the PostgreSQL store has to prove: its log id, append-only rows, migrations,
typed errors for a bad URL or a lost connection, and gap-free seq under concurrent writers."""

from __future__ import annotations

import multiprocessing
import re
import threading
import time

import psycopg
import pytest

from redcolor.alerts.pgstore import MIGRATIONS, PgEventStore, redacted
from redcolor.alerts.store import Fenced, open_store
from redcolor.errors import StoreError
from redcolor.model import AlertArea, AlertEvent


def _event(n: int) -> AlertEvent:
    return AlertEvent(
        f"a{n}", 0, "missiles", "alert", (AlertArea(n % 7, 15),), 1.7e9 + n, None, (), {}
    )


def test_open_store_picks_the_backend_and_the_log_id_is_kept(pg_url) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PgEventStore) and store.schema_version() == len(MIGRATIONS)
    log_id = store.log_id()
    assert re.fullmatch(r"[0-9a-f]{16}", log_id)
    store.close()
    assert PgEventStore(pg_url).log_id() == log_id  # a second open migrates nothing
    assert PgEventStore(pg_url, readonly=True).log_id() == log_id


def test_event_rows_are_append_only_in_the_database(pg_url) -> None:
    open_store(pg_url).append([_event(1)])
    with psycopg.connect(pg_url, autocommit=True) as db:
        for sql in (
            "UPDATE events SET term = 5",
            "DELETE FROM event_areas",
            "TRUNCATE events, event_areas",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                db.execute(sql)
    assert [row.seq for row in open_store(pg_url).read_since(0)] == [1]


def test_a_readonly_store_writes_nothing(pg_url) -> None:
    open_store(pg_url).append([_event(1)])
    reader = open_store(pg_url, readonly=True)
    with pytest.raises(StoreError, match="read-only transaction"):
        reader.append([_event(2)])
    with pytest.raises(StoreError, match="read-only transaction"):
        reader.channel_position("mqtt", 0)  # an autocommitted write too
    assert reader.last_seq() == 1


def test_a_bad_url_or_an_unreachable_server_is_one_line() -> None:
    for url in (
        "postgresql://postgres:secret@127.0.0.1:1/nothing",
        "postgresql://postgres@127.0.0.1:5432/redcolor_no_such_database",
        "postgresql://postgres@127.0.0.1:5432/db?nonsense=1",
    ):
        with pytest.raises(StoreError) as err:
            open_store(url)
        assert "\n" not in str(err.value) and "secret" not in str(err.value)
    assert redacted("postgresql://u:pw@h:5/d") == "postgresql://u:***@h:5/d"


def test_a_lost_connection_fails_one_call_and_the_next_reconnects(pg_url) -> None:
    store = PgEventStore(pg_url)
    store.take_term("node-a")
    store.append([_event(1)])
    with psycopg.connect(pg_url, autocommit=True) as admin:
        (killed,) = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed == 1
    with pytest.raises(StoreError, match="cannot write") as err:
        store.append([_event(2)])
    assert "\n" not in str(err.value)
    assert [e.seq for e in store.append([_event(3)])] == [2]  # reconnected, same term
    assert [(row.seq, row.term) for row in store.read_since(0)] == [(1, 1), (2, 1)]


def _append_many(url: str, n: int, batch: int) -> None:
    store = PgEventStore(url)
    for i in range(n):
        store.append([_event(i)] * batch)
    store.close()


def test_concurrent_writers_get_gap_free_seqs(pg_url) -> None:
    """Two processes and two threads append at once: every seq once, none missing."""
    open_store(pg_url).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(pg_url, 40, 2)) for _ in range(2)]
    threads = [threading.Thread(target=_append_many, args=(pg_url, 40, 3)) for _ in range(2)]
    for worker in (*procs, *threads):
        worker.start()
    for worker in (*procs, *threads):
        worker.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    store = open_store(pg_url)
    seqs = [row.seq for row in store.read_since(0, limit=10_000)]
    assert seqs == list(range(1, 2 * 40 * 2 + 2 * 40 * 3 + 1))
    assert store.last_seq() == len(seqs)


def _wait_for_lock_waiters(admin: psycopg.Connection, n: int) -> None:
    for _ in range(500):
        (waiting,) = admin.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        if waiting >= n:
            return
        time.sleep(0.01)
    raise AssertionError(f"{n} writers never queued on the writer row")


def test_a_deposed_leader_queued_behind_a_new_term_is_fenced(pg_url) -> None:
    """The term is read under the writer row's lock: an append queued behind the new leader's
    take_term sees the new term when it gets the lock, not the one from before it waited."""
    old, new = PgEventStore(pg_url), PgEventStore(pg_url)
    old.take_term("node-a")
    failure: list[BaseException] = []

    def write() -> None:
        try:
            old.append([_event(1)])
        except Fenced as exc:
            failure.append(exc)

    with psycopg.connect(pg_url, autocommit=True) as admin, psycopg.connect(pg_url) as blocker:
        blocker.execute("SELECT 1 FROM writer FOR UPDATE")  # as a slow commit would hold it
        taker = threading.Thread(target=new.take_term, args=("node-b",))
        taker.start()
        _wait_for_lock_waiters(admin, 1)
        writer = threading.Thread(target=write)
        writer.start()
        _wait_for_lock_waiters(admin, 2)
        blocker.rollback()
        taker.join(10)
        writer.join(10)
    assert new.term() == 2 and len(failure) == 1 and new.last_seq() == 0


def test_a_new_migration_is_applied_once_and_a_reader_waits_for_it(pg_url, monkeypatch) -> None:
    store = PgEventStore(pg_url)
    store.append([_event(1)])
    log_id = store.log_id()
    later = (*MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT")
    monkeypatch.setattr("redcolor.alerts.pgstore.MIGRATIONS", later)
    with pytest.raises(StoreError, match="schema version 1, this redcolor reads 2"):
        PgEventStore(pg_url, readonly=True)
    migrated = PgEventStore(pg_url)
    assert migrated.schema_version() == 2 and PgEventStore(pg_url).schema_version() == 2
    assert (migrated.log_id(), migrated.last_seq()) == (log_id, 1)
    monkeypatch.setattr("redcolor.alerts.pgstore.MIGRATIONS", MIGRATIONS)
    with pytest.raises(StoreError, match="newer than this redcolor"):
        PgEventStore(pg_url)
