"""The pipeline thread's side of the lease (``TermWriter``), on both store backends: a standby
writes nothing; winning takes a store term and rebuilds the lifecycle from the log (the old
leader's open alert is carried on, not issued again); a write fenced by a newer leader makes the
core a standby at once."""

from __future__ import annotations

import numpy as np

from redcolor.alerts.checkpoint import rebuild
from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lease import NOBODY, Leadership, LeaseMachine
from redcolor.alerts.lifecycle import LifecycleConfig
from redcolor.alerts.store import Fenced, StoreFull, open_store
from redcolor.alerts.term import TermWriter
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15, 102: 30}
SHELTER3 = {**SHELTER, 103: 45}
T0 = 1_700_000_000.0


def _decision(now: float) -> ThreatDecision:
    ids = np.asarray([101, 102], dtype=np.int64)
    return ThreatDecision("t1", "missiles", now, ids, np.full(2, now), now + 30, True)


def _core(node: str, now: list[float]) -> Leadership:
    return Leadership(LeaseMachine(node, f"{node}-1"), lambda: now[0])


def _win(leadership: Leadership) -> None:
    """As if this core had just written the lease into an empty register (the adapter's part)."""
    machine, now = leadership.machine, leadership.clock()
    machine.observe(NOBODY, now)
    write = machine.due(now)
    assert write is not None
    machine.written(write, 1, now)


def test_standby_writes_nothing_leader_takes_a_term_and_rebuilds(store_target) -> None:
    now = [0.0]
    changes: list[int | None] = []
    a, b = _core("a", now), _core("b", now)
    store_a, store_b = open_store(store_target), open_store(store_target)
    config = LifecycleConfig(SHELTER, 5.0, "live-a")
    life_a = DurableLifecycle(store_a, SHELTER, config=config)
    life_b = DurableLifecycle(store_b, SHELTER, config=LifecycleConfig(SHELTER, 5.0, "live-b"))
    writer_a, writer_b = TermWriter(a, changes.append), TermWriter(b)

    assert not writer_a.admit(life_a) and store_a.term() == 0  # a standby takes nothing
    _win(a)
    assert writer_a.admit(life_a) and writer_a.store_term == 1 and changes == [1]
    assert writer_a.taking_over() and not writer_a.taking_over()  # once
    events, _ = life_a.step([_decision(T0)], T0)
    assert [e.stage for e in events] == ["alert"] and store_a.last_seq() >= 1

    _win(b)  # b wins (a's lease lapsed): a new store term, the log rebuilt
    assert writer_b.admit(life_b) and writer_b.store_term == 2
    assert set(life_b.state.areas) == {101, 102}  # a's open alert, from the log
    again, _ = life_b.step([_decision(T0 + 1)], T0 + 1)
    assert all(e.stage != "alert" for e in again)  # carried on, not issued twice

    try:
        life_a.step([_decision(T0 + 2)], T0 + 2)
    except Fenced as exc:
        writer_a.failed(exc)
    else:
        raise AssertionError("the deposed leader wrote")
    assert a.leading_term() is None and writer_a.store_term is None and changes == [1, None]
    assert not writer_a.admit(life_a)
    store_a.close()
    store_b.close()


def _open_areas(events) -> dict[int, str]:
    """Area -> its open alert, folding the log (an ``ended``/``cancelled`` closes what it names)."""
    open_area: dict[int, str] = {}
    for event in events:
        for area in (a.id for a in event.areas):
            if event.stage in ("ended", "cancelled"):
                assert open_area.pop(area) == event.id, f"all-clear of {area} not open"
            else:
                assert open_area.setdefault(area, event.id) == event.id, f"{area} alerted twice"
    return open_area


def test_areas_of_one_alert_end_one_by_one_across_takeovers(store_target) -> None:
    """The chaos test's flake (tests/ha/test_core_faults.py), without processes: one alert
    whose areas' threats end at different times gives its all-clears one by one, so after the
    first partial ``ended`` the alert's last event is ``ended`` while areas are still open.
    A leader taking over at that point (checkpoint, or the log alone) gives the rest on time."""
    now = [0.0]
    cores = [_core(n, now) for n in "abc"]
    stores = [open_store(store_target) for _ in cores]
    lives = [
        DurableLifecycle(s, SHELTER3, config=LifecycleConfig(SHELTER3, 5.0, "live")) for s in stores
    ]
    writers = [TermWriter(core) for core in cores]
    ids = np.asarray([101, 102], dtype=np.int64)
    long = ThreatDecision("t1", "missiles", T0, ids, np.full(2, T0), T0 + 30, True)
    short = ThreatDecision("t2", "missiles", T0, np.asarray([103]), np.full(1, T0), T0 + 10, True)

    def lead(k: int, t: float) -> DurableLifecycle:
        now[0] = t
        _win(cores[k])
        assert writers[k].admit(lives[k])  # a new store term; the lifecycle rebuilt
        return lives[k]

    lead(0, 0.0).step([long, short], T0)  # one alert: 101, 102 until T0+30, 103 until T0+10
    life = lead(1, 1.0)
    assert set(life.state.areas) == {101, 102, 103}
    life.step([], T0 + 15)  # 103's all-clear (until + hold); 101, 102 stay
    log = [row.decode() for row in stores[1].read_since(0)]
    assert [(e.stage, [a.id for a in e.areas]) for e in log] == [
        ("alert", [101, 102, 103]),
        ("ended", [103]),
    ]
    assert {e.id: e.stage for e in log} == {"live-00001": "ended"}  # its last event is "ended"
    assert set(_open_areas(log)) == {101, 102}  # yet two areas wait for their all-clear

    life = lead(2, 2.0)  # a takeover right after the partial all-clear
    assert set(life.state.areas) == {101, 102}
    folded, _ = rebuild(SHELTER3, None, log, hold_s=5.0, run_id="live")  # the log alone
    assert set(folded.areas) == {101, 102}
    assert life.step([], T0 + 34) == ([], [])  # not before until + hold
    life.step([], T0 + 35)
    log = [row.decode() for row in stores[2].read_since(0)]
    assert log[-1].stage == "ended" and [a.id for a in log[-1].areas] == [101, 102]
    assert not _open_areas(log)
    for store in stores:
        store.close()


def test_a_store_refusing_writes_is_a_fault_logged_once_until_a_term_is_taken(
    store_target, caplog
) -> None:
    now = [0.0]
    faults: list[str | None] = []
    core = _core("a", now)
    store = open_store(store_target)
    life = DurableLifecycle(store, SHELTER, config=LifecycleConfig(SHELTER, 5.0, "live-a"))
    writer = TermWriter(core, on_fault=faults.append)
    _win(core)
    assert writer.admit(life) and faults == []
    full = StoreFull(f"cannot write alert store {store.path}: the disk is full")
    writer.failed(full)
    assert core.leading_term() is None and writer.fault == str(full) and faults == [str(full)]
    writer.failed(full)  # the same fault at the next retry: logged once
    assert faults == [str(full), str(full)] and writer.fault == str(full)
    assert sum("disk is full" in r.getMessage() for r in caplog.records) == 1
    _win(core)
    assert writer.admit(life) and writer.fault is None and faults[-1] is None
    writer.failed(Fenced("a newer leader writes"))  # fenced is no fault of the store
    assert writer.fault is None and faults[-1] is None
    store.close()
