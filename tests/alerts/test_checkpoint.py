"""Lifecycle checkpoint and rebuild: what a restart remembers, on real stores (both backends)."""

from __future__ import annotations

import numpy as np
import pytest

from redcolor.alerts.checkpoint import Clock, decode, encode, rebuild, shift
from redcolor.alerts.durable import DurableLifecycle, LifecycleLock
from redcolor.alerts.lifecycle import LifecycleConfig, apply, initial_state, next_due_unix_s
from redcolor.alerts.store import SQLiteEventStore, open_store
from redcolor.errors import StoreError
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15, 102: 30, 103: 45, 104: 90}
T0 = 1_700_000_000.0


def _decision(threat, areas, now, until, alert_at=None, pre_alert=True) -> ThreatDecision:
    ids = np.asarray(areas, dtype=np.int64)
    at = np.full(len(ids), now) if alert_at is None else np.asarray(alert_at, dtype=np.float64)
    return ThreatDecision(threat, "missiles", now, ids, at, until, pre_alert)


def _busy_state():
    """A state with everything the log alone does not hold: a silent schedule, a pre-alert,
    an until grown without an event, two threats in one alert."""
    state = initial_state(LifecycleConfig(SHELTER, hold_s=60.0, run_id="r"))
    state, _ = apply(state, [_decision("t1", [101, 102], T0, T0 + 30)], T0)
    state, _ = apply(
        state,
        [
            _decision("t1", [101, 102], T0 + 1, T0 + 50),  # until grows, no event
            _decision("t2", [103], T0 + 1, T0 + 80, alert_at=[T0 + 40]),  # pre-alert + schedule
            _decision("t3", [104], T0 + 1, T0 + 90, alert_at=[T0 + 20], pre_alert=False),
        ],
        T0 + 1,
    )
    return state


def _fields(state):
    return (
        state.config,
        state.areas,
        state.alerts,
        state.threat_alert,
        state.schedule,
        state.next_alert,
    )


def test_checkpoint_decodes_to_the_state_it_encoded() -> None:
    state = _busy_state()
    assert state.schedule and any(a.stage == "pre_alert" for a in state.areas.values())
    clock = Clock(T0, T0 + 5, 4.0)
    again, clock_again = decode(encode(state, clock), SHELTER)
    assert _fields(again) == _fields(state)
    assert clock_again == clock
    assert _fields(shift(shift(state, 123.5), -123.5)) == _fields(state)


def test_clock_maps_wall_time_both_ways() -> None:
    clock = Clock(wall_origin_unix_s=T0, origin_unix_s=T0 + 10, speed=6.0)
    assert clock.now(T0 + 2) == pytest.approx(T0 + 22)
    assert clock.wall(clock.now(T0 + 7.25)) == pytest.approx(T0 + 7.25)


def test_restart_rebuilds_the_state_and_continues_it_exactly(store_target) -> None:
    """Kill after some steps (drop the object), reopen: same state, and the rest of the run
    issues exactly what the uninterrupted run issues (same ids, no alert twice)."""
    config = LifecycleConfig(SHELTER, hold_s=60.0, run_id="r")
    steps = [
        ([_decision("t1", [101, 102], T0, T0 + 30)], T0),
        ([_decision("t2", [103], T0 + 1, T0 + 80, alert_at=[T0 + 40])], T0 + 1),
        ([_decision("t3", [104], T0 + 2, T0 + 90, alert_at=[T0 + 20], pre_alert=False)], T0 + 2),
        ([], T0 + 25),  # the silent schedule of t3 falls due
        ([_decision("t4", [101], T0 + 30, T0 + 60)], T0 + 30),  # joins t1's alert
        ([_decision("t5", [102, 104], T0 + 31, T0 + 70)], T0 + 31),
    ]
    reference = DurableLifecycle(SQLiteEventStore(":memory:"), SHELTER, config=config)
    expected = [e for d, now in steps for e in reference.step(d, now)[1]]
    while (due := next_due_unix_s(reference.state)) is not None:
        expected += reference.step([], due)[1]

    store = open_store(store_target)
    first = DurableLifecycle(store, SHELTER, config=config)
    got = [e for d, now in steps[:3] for e in first.step(d, now)[1]]
    before = first.state
    del first  # the process dies; only the store remains
    second = DurableLifecycle(open_store(store_target), SHELTER, config=config)
    assert _fields(second.state) == _fields(before)
    got += [e for d, now in steps[3:] for e in second.step(d, now)[1]]
    while (due := next_due_unix_s(second.state)) is not None:
        got += second.step([], due)[1]
    assert got == expected
    assert any(e.stage == "ended" for e in got) and not second.state.areas


def test_without_a_checkpoint_the_log_is_folded_conservatively(tmp_path) -> None:
    """A log written with no checkpoint (an old store): every area of an open alert is held
    until the alert's last expiry; ended areas are gone; ids continue after the highest."""
    store = SQLiteEventStore(tmp_path / "old.db")
    writer = DurableLifecycle(
        SQLiteEventStore(":memory:"), SHELTER, config=LifecycleConfig(SHELTER, 60.0, "r")
    )
    _, stored = writer.step([_decision("t1", [101, 102], T0, T0 + 30)], T0)
    _, more = writer.step([_decision("t2", [103], T0 + 5, T0 + 100)], T0 + 5)
    store.append(stored + more)
    state, clock = rebuild(SHELTER, None, store.iter_all(), hold_s=60.0, run_id="r")
    assert clock == Clock()
    expiry = max(e.expires_at_unix_s for e in more + stored)
    assert set(state.areas) == {101, 102, 103}
    assert {a: x.end_unix_s + 60.0 for a, x in state.areas.items()} == {
        101: stored[-1].expires_at_unix_s,
        102: stored[-1].expires_at_unix_s,
        103: expiry,
    }
    assert state.next_alert == 3 and state.threat_alert == {"t1": "r-00001", "t2": "r-00002"}
    ended, _ = apply(state, [], T0 + 30 + 60)
    assert set(ended.areas) == {103}


def test_a_second_writer_cannot_issue_an_event_twice(store_target) -> None:
    path = store_target
    config = LifecycleConfig(SHELTER, hold_s=10.0, run_id="r")
    a = DurableLifecycle(open_store(path), SHELTER, config=config)
    a.step([_decision("t1", [101], T0, T0 + 5)], T0)
    b = DurableLifecycle(open_store(path), SHELTER, config=config)
    due = next_due_unix_s(a.state)
    assert due == next_due_unix_s(b.state)
    ends_a, _ = a.step([], due)
    ends_b, _ = b.step([], due)  # b's checkpoint is stale: it reloads and finds nothing due
    assert [e.stage for e in ends_a] == ["ended"] and ends_b == []
    stages = [e.stage for e in open_store(path).iter_all()]
    assert stages == ["alert", "ended"]


def test_the_lifecycle_lock_admits_one_writer_until_released(tmp_path) -> None:
    first, second = LifecycleLock(tmp_path / "a.db"), LifecycleLock(tmp_path / "a.db")
    assert first.try_acquire() and first.held
    assert not second.try_acquire()
    with pytest.raises(StoreError, match="being written by process"):
        second.acquire()
    first.release()
    assert second.try_acquire()
    second.release()
    assert LifecycleLock(":memory:").try_acquire()


def test_a_writer_whose_clock_is_behind_never_stores_an_event_before_the_last(
    store_target,
) -> None:
    """A takeover by a core whose clock runs 5 s behind the old leader's: what it stores is
    held up to the last stored event's time (and an expiry with it), so the log's times never
    run backwards, while its own lifecycle keeps its clock; once its clock has passed that
    time, its events carry their own time again. Both backends; the floor is read from the
    store (the checkpoint's last event), not remembered by the writer."""
    config = LifecycleConfig(SHELTER, hold_s=10.0, run_id="r")
    ahead = DurableLifecycle(open_store(store_target), SHELTER, config=config)
    _, (alerted,) = ahead.step([_decision("t1", [101], T0 + 5, T0 + 9)], T0 + 5)
    del ahead  # its clock was 5 s ahead; the next leader's is right
    behind = DurableLifecycle(open_store(store_target), SHELTER, config=config)
    assert behind.issued_floor_unix_s == alerted.issued_at_unix_s == T0 + 5
    mine, stored = behind.step([_decision("t2", [102], T0 + 1, T0 + 2)], T0 + 1)
    assert [e.issued_at_unix_s for e in mine] == [T0 + 1]  # the lifecycle's own clock
    assert [e.issued_at_unix_s for e in stored] == [T0 + 5]
    assert stored[0].expires_at_unix_s >= stored[0].issued_at_unix_s
    _, later = behind.step([_decision("t3", [103], T0 + 7, T0 + 60)], T0 + 7)
    assert [e.issued_at_unix_s for e in later] == [T0 + 7]
    times = [e.issued_at_unix_s for e in open_store(store_target).iter_all()]
    assert times == sorted(times) and times == [T0 + 5, T0 + 5, T0 + 7]
