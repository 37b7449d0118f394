"""The lifecycle keeper on a real server: all-clears after a writer died, one writer at a time;
the active view rebuilt after a restart."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest

from redcolor.alerts.checkpoint import Clock
from redcolor.alerts.commands import IssueAlert
from redcolor.alerts.durable import DurableLifecycle, LifecycleLock
from redcolor.alerts.lifecycle import LifecycleConfig
from redcolor.alerts.operate import operate
from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.keys import load_or_create_signing_key
from redcolor.serve.keeper import run_keeper
from redcolor.serve.run import channel_services
from redcolor.serve.state import ServeConfig
from redcolor.warning.base import ThreatDecision

from .conftest import LiveServer, make_state, until


async def _keeper(state) -> None:
    await run_keeper(state, idle_s=0.05)


def _open_alert(path, areas, ids, *, hold_s: float, clock: Clock) -> None:
    """What a pipeline killed mid-alert leaves: alerts open, a checkpoint, nobody writing."""
    shelter = {a.id: a.shelter_s for a in areas.areas}
    lifecycle = DurableLifecycle(
        SQLiteEventStore(path),
        shelter,
        config=LifecycleConfig(shelter, hold_s, "dead"),
        clock=clock,
    )
    now = clock.now(time.time())
    area_ids = np.asarray(sorted(ids), dtype=np.int64)
    decision = ThreatDecision("t1", "missiles", now, area_ids, np.full(len(ids), now), now, False)
    lifecycle.step([decision], now)


async def test_keeper_gives_the_all_clear_only_once_the_lock_is_free(tmp_path, areas, meron_ids):
    path = tmp_path / "a.db"
    _open_alert(path, areas, meron_ids[:3], hold_s=1.0, clock=Clock())
    blocker = LifecycleLock(path)  # a pipeline somewhere still owns the lifecycle
    assert blocker.try_acquire()
    state = make_state(SQLiteEventStore(path), areas, poll_s=0.01)
    with LiveServer(state, [_keeper]) as server:
        await asyncio.sleep(2.0)  # the all-clear is due, but it is not the keeper's to give
        assert state.store.last_seq() == 1
        blocker.release()  # the owner died
        await until(lambda: state.store.last_seq() == 2, 5.0)
        await until(lambda: not state.active.areas(time.time()), 5.0)
        async with httpx.AsyncClient() as client:
            live = await client.get(f"{server.http}/warningMessages/alert/Alerts.json")
        assert live.content == b""
        await asyncio.sleep(0.3)
    events = list(SQLiteEventStore(path).iter_all())
    assert [e.stage for e in events] == ["alert", "ended"]
    assert {a.id for a in events[1].areas} == set(meron_ids[:3])


async def test_keeper_follows_the_clock_of_a_sped_up_run(tmp_path, areas, meron_ids) -> None:
    """A run at 20x recorded its clock: the all-clear comes when the run would have given it
    (hold 20 s of scenario time = 1 s of wall time), stamped in the run's time."""
    path = tmp_path / "a.db"
    wall0 = time.time()
    clock = Clock(wall0, wall0 + 500.0, 20.0)
    _open_alert(path, areas, meron_ids[:2], hold_s=20.0, clock=clock)
    state = make_state(SQLiteEventStore(path), areas, poll_s=0.01)
    with LiveServer(state, [_keeper]):
        await until(lambda: state.store.last_seq() == 2, 10.0)
        ended_wall = time.time()
    alert, ended = SQLiteEventStore(path).iter_all()
    assert ended.stage == "ended"
    assert ended.issued_at_unix_s - alert.issued_at_unix_s >= 20.0
    assert ended_wall - wall0 < 5.0


def test_edges_run_no_keeper(tmp_path) -> None:
    core = channel_services(ServeConfig(db=tmp_path / "a.db"))
    key = tmp_path / "core.key"
    load_or_create_signing_key(key)  # an edge needs the core's public key
    edge_config = ServeConfig(
        db=tmp_path / "a.db",
        nats_follow_url="nats://127.0.0.1:1",
        verify_key=key.with_name("core.key.pub"),
    )
    edge = channel_services(edge_config)
    assert "keeper" in [s.__name__ for s in core]
    assert "keeper" not in [s.__name__ for s in edge]


def test_active_view_after_restart_shows_only_open_alerts(tmp_path, areas, meron_ids) -> None:
    from .conftest import SalvoWriter

    path = tmp_path / "a.db"
    store = SQLiteEventStore(path)
    writer = SalvoWriter(store, areas)
    writer.lifecycle(meron_ids[:3])  # ended
    writer.event("expired", "alert", meron_ids[3:5], expires_s=-30.0)  # expired unended
    writer.lifecycle(meron_ids[5:8], end=False)  # still open
    restarted = make_state(SQLiteEventStore(path), areas)
    shown = restarted.active.areas(time.time())
    assert {a.area_id for a in shown} == set(meron_ids[5:8])
    assert {a.alert_id for a in shown} == {"salvo-2"}


async def test_keeper_ends_a_manual_alert_at_its_expiry_and_never_waits_for_one_without(
    tmp_path, areas, meron_ids
) -> None:
    """An operator's alert without expiry is not the keeper's to end: it lets the lock go (a
    pipeline may start); one with an expiry is ended then, no hold."""
    path = tmp_path / "a.db"
    shelter = {a.id: a.shelter_s for a in areas.areas}
    source = ("operator:olga", "approved:sam")
    open_ended = IssueAlert(
        "op-1", "earthquake", "alert", frozenset(meron_ids[:2]), None, "actual", source
    )
    operate(path, shelter, [open_ended], time.time())
    state = make_state(SQLiteEventStore(path), areas, poll_s=0.01)
    with LiveServer(state, [_keeper]):
        await asyncio.sleep(0.5)
        other = LifecycleLock(path)
        await until(other.try_acquire, 5.0)  # the keeper holds nothing while nothing is due
        other.release()
        expires = time.time() + 1.0
        timed = IssueAlert(
            "op-2", "hazmat", "alert", frozenset(meron_ids[2:3]), expires, "exercise", source
        )
        operate(path, shelter, [timed], time.time())
        await until(lambda: state.store.last_seq() == 3, 10.0)
    events = list(SQLiteEventStore(path).iter_all())
    assert [(e.id, e.stage) for e in events] == [
        ("op-1", "alert"),
        ("op-2", "alert"),
        ("op-2", "ended"),
    ]
    assert events[2].issued_at_unix_s == pytest.approx(expires, abs=0.5)
    assert events[2].status == "exercise"
