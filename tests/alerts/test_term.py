"""The pipeline thread's side of the lease (``TermWriter``), on both store backends: a standby
writes nothing; winning takes a store term and rebuilds the lifecycle from the log (the old
leader's open alert is carried on, not issued again); a write fenced by a newer leader makes the
core a standby at once."""

from __future__ import annotations

import numpy as np

from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lease import NOBODY, Leadership, LeaseMachine
from redcolor.alerts.lifecycle import LifecycleConfig
from redcolor.alerts.store import Fenced, open_store
from redcolor.alerts.term import TermWriter
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15, 102: 30}
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
