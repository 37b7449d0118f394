"""The store's faults survived: PostgreSQL restarting under a writer, the store's disk filling.

Each on real things: a private PostgreSQL server (``own_postgres``, stopped as if it crashed)
and an 8 MB tmpfs (``small_disk``) as the SQLite directory or a PostgreSQL tablespace. The
write during the fault raises a typed one-line StoreError (StoreFull for the disk), nothing
accepted before or during it is lost, seq stays gap-free, and writing works once it clears.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

import numpy as np
import psycopg
import pytest

from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lifecycle import LifecycleConfig
from redcolor.alerts.pgstore import PgEventStore
from redcolor.alerts.store import EventStore, SQLiteEventStore, StoreFull
from redcolor.errors import StoreError
from redcolor.model import AlertArea, AlertEvent
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15}


def _event(n: int, text_bytes: int = 0) -> AlertEvent:
    """An event; ``text_bytes`` of random (incompressible) instructions make it take room."""
    words = secrets.token_hex(text_bytes // 2) if text_bytes else "Enter the protected space"
    return AlertEvent(
        f"a{n}", 0, "missiles", "alert", (AlertArea(101, 15),), 1.7e9 + n, None, (), {"en": words}
    )


def _decision(now: float) -> ThreatDecision:
    ids = np.asarray([101], dtype=np.int64)
    return ThreatDecision("t1", "missiles", now, ids, np.full(1, now), now + 30, True)


def _assert_kept(store: EventStore, accepted: list[AlertEvent]) -> None:
    """Every accepted event is stored as accepted, and the seqs run 1.. with no gap."""
    rows = store.read_since(0, limit=100_000)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    by_seq = {r.seq: r.decode() for r in rows}
    assert all(by_seq[e.seq] == e for e in accepted)


def test_postgresql_restarting_under_a_writer(own_postgres) -> None:
    url = own_postgres.database()
    store = PgEventStore(url)
    term = store.take_term("core-a")
    accepted: list[AlertEvent] = []
    errors: list[str] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                accepted.extend(store.append([_event(n)]))
            except StoreError as exc:
                errors.append(str(exc))
                time.sleep(0.02)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(accepted) < 20:
            time.sleep(0.01)
        own_postgres.stop("immediate")  # as if it crashed: recovery at the next start
        while not errors:
            time.sleep(0.01)
        during = len(accepted)
        time.sleep(0.2)
        assert len(accepted) == during  # nothing is accepted while it is down
        own_postgres.start()
        deadline = time.monotonic() + 10
        while len(accepted) < during + 20:
            assert time.monotonic() < deadline, f"no write after the restart: {errors[-1]}"
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join(10)
    assert all("\n" not in e and not isinstance(e, StoreFull) for e in errors)
    assert any("cannot" in e for e in errors)
    _assert_kept(store, accepted)
    assert {r.term for r in store.read_since(0, limit=100_000)} == {term}
    # the lifecycle over it: fails in one line while it is down, goes on after
    lifecycle = DurableLifecycle(store, SHELTER, config=LifecycleConfig(SHELTER, 60.0, "r"))
    own_postgres.stop("immediate")
    now = 1.7e9 + 10_000
    with pytest.raises(StoreError):
        lifecycle.step([_decision(now)], now)
    own_postgres.start()
    (alert,) = lifecycle.step([_decision(now)], now)[1]
    assert alert.seq == store.last_seq() and store.read_since(alert.seq - 1)[0].term == term
    _assert_kept(store, accepted)


def _append_until_full(store: EventStore, accepted: list[AlertEvent], limit: int) -> StoreFull:
    for n in range(limit):
        try:
            accepted.extend(store.append([_event(n, text_bytes=1500)]))
        except StoreFull as exc:
            return exc
    raise AssertionError(f"{limit} appends and the disk never filled")


def test_the_disk_filling_under_a_postgresql_writer(own_postgres, small_disk) -> None:
    url = own_postgres.database(tablespace_dir=small_disk)
    store = PgEventStore(url)
    store.take_term("core-a")
    accepted = store.append([_event(n, 1500) for n in range(3)])
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE filler (b TEXT)")
        with pytest.raises(psycopg.errors.DiskFull):  # fill the tablespace to its last page
            for _ in range(100):  # ~1 MB a statement, each kept (under 2 kB a row: no TOAST)
                db.execute(
                    "INSERT INTO filler SELECT repeat(md5(r::text), 60)"
                    " FROM generate_series(1, 500) r"
                )
        full = _append_until_full(store, accepted, 200)
        assert "disk is full" in str(full) and "\n" not in str(full)
        assert store.last_seq() == accepted[-1].seq  # the refused append stored nothing
        db.execute("DROP TABLE filler")  # the fault clears
    more = store.append([_event(1000, 1500)])
    assert more[0].seq == accepted[-1].seq + 1
    _assert_kept(store, [*accepted, *more])


def test_the_disk_filling_under_a_sqlite_writer(small_disk) -> None:
    path = small_disk / "alerts.db"
    store = SQLiteEventStore(path)
    accepted = store.append([_event(n, 1500) for n in range(3)])
    filler = small_disk / "filler"
    with open(filler, "wb") as out:  # fill the disk to its last byte
        try:
            while True:
                out.write(os.urandom(1 << 16))
                out.flush()
        except OSError:
            pass
    full = _append_until_full(store, accepted, 200)
    assert "disk is full" in str(full) and "\n" not in str(full)
    assert store.last_seq() == accepted[-1].seq  # the refused append stored nothing
    filler.unlink()  # the fault clears
    more = store.append([_event(1000, 1500)])
    assert more[0].seq == accepted[-1].seq + 1
    store.close()
    _assert_kept(SQLiteEventStore(path), [*accepted, *more])
