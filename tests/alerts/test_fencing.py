"""Fencing: a deposed leader (or an unfenced writer once a leader exists) writes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from redcolor.alerts.commands import CancelAlert, IssueAlert
from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lifecycle import LifecycleConfig
from redcolor.alerts.operate import operate
from redcolor.alerts.store import Fenced, open_store
from redcolor.model import AlertArea, AlertEvent
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15, 102: 30}
T0 = 1_700_000_000.0
OP = ("operator:sam",)


def _event(n: int) -> AlertEvent:
    return AlertEvent(
        id=f"a{n}",
        seq=0,
        category="missiles",
        stage="alert",
        areas=(AlertArea(id=101, shelter_s=15),),
        issued_at_unix_s=T0 + n,
        expires_at_unix_s=None,
        source=("track:1",),
        instructions={"en": "Enter the protected space"},
    )


def _decision(threat: str, now: float) -> ThreatDecision:
    ids = np.asarray([101, 102], dtype=np.int64)
    return ThreatDecision(threat, "missiles", now, ids, np.full(2, now), now + 30, True)


def test_a_new_store_is_at_term_zero_and_take_term_counts_up(store_target) -> None:
    a, b = open_store(store_target), open_store(store_target)
    assert a.term() == 0
    assert a.take_term("node-a") == 1
    assert b.take_term("node-b") == 2
    assert a.term() == b.term() == 2


def test_a_deposed_leader_is_fenced_and_writes_nothing(store_target) -> None:
    a, b = open_store(store_target), open_store(store_target)
    a.take_term("node-a")
    (first,) = a.append([_event(1)])
    b.take_term("node-b")
    with pytest.raises(Fenced, match="term 1 but node-b took term 2"):
        a.append([_event(2)])
    with pytest.raises(Fenced):
        a.save_channel_position("mqtt", 1)
    assert a.channel_position("mqtt", 0) == 0
    assert a.last_seq() == 1
    (second,) = b.append([_event(3)])
    assert second.seq == first.seq + 1  # the fenced write took no seq
    assert [(row.seq, row.term) for row in b.read_since(0)] == [(1, 1), (2, 2)]
    assert [row.term for row in b.query()] == [1, 2]
    assert [row.term for row in b.read_before(10)] == [2, 1]


def test_an_unfenced_writer_is_fenced_once_a_term_exists(store_target) -> None:
    plain, leader = open_store(store_target), open_store(store_target)
    plain.append([_event(1)])  # term 0: a single-process store works as before
    assert [row.term for row in plain.read_since(0)] == [0]
    leader.take_term("node-a")
    with pytest.raises(Fenced, match="term 0"):
        plain.append([_event(2)])
    assert leader.last_seq() == 1


def test_a_deposed_lifecycle_step_is_fenced_and_writes_nothing(store_target) -> None:
    config = LifecycleConfig(SHELTER, hold_s=60.0, run_id="r")
    old_store = open_store(store_target)
    old_store.take_term("node-a")
    old = DurableLifecycle(old_store, SHELTER, config=config)
    assert old.step([_decision("t1", T0)], T0)[1]
    new_store = open_store(store_target)
    new_store.take_term("node-b")
    before = (new_store.last_seq(), new_store.checkpoint())
    with pytest.raises(Fenced):
        old.step([_decision("t2", T0 + 1)], T0 + 1)
    assert (new_store.last_seq(), new_store.checkpoint()) == before
    new = DurableLifecycle(new_store, SHELTER, config=config)  # the new leader rebuilds
    (event,) = new.step([_decision("t2", T0 + 1)], T0 + 1)[1]
    assert (event.seq, new_store.read_since(event.seq - 1)[0].term) == (before[0] + 1, 2)


def test_operator_commands_write_under_the_leaders_term(store_target) -> None:
    leader = open_store(store_target)
    term = leader.take_term("node-a")
    command = IssueAlert("op-1", "hazmat", "alert", frozenset({101}), None, "actual", OP)
    with pytest.raises(Fenced):
        operate(store_target, SHELTER, [command], T0)  # no term: fenced, nothing written
    assert leader.last_seq() == 0
    (event,) = operate(store_target, SHELTER, [command], T0, term=term)
    assert leader.read_since(0)[0].term == term == leader.writer_term
    leader.take_term("node-b")
    with pytest.raises(Fenced):
        operate(store_target, SHELTER, [CancelAlert("op-1", OP)], T0, term=term)
    assert leader.last_seq() == event.seq
