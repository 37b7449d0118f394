"""Operator writes on a real store: checkpointed, rebuilt, and beside a running pipeline lane."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

import redcolor.alerts.durable as durable
from redcolor.alerts.checkpoint import Clock, decode, encode, rebuild
from redcolor.alerts.commands import CancelAlert, EndAlert, IssueAlert, UpdateAlert
from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lifecycle import LifecycleConfig, apply, initial_state, open_alerts
from redcolor.alerts.operate import operate, preview, read_open_alerts
from redcolor.alerts.store import SQLiteEventStore, open_store
from redcolor.errors import ConflictError, InputError, NotFoundError
from redcolor.geo import load_areas
from redcolor.model import EVENT_DECODER, EVENT_ENCODER
from redcolor.pipeline import run
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.base import ThreatDecision

SHELTER = {101: 15, 102: 30, 103: 45, 104: 90}
T0 = 1_700_000_000.0
OP = ("operator:olga", "approved:sam")


def _decision(threat, areas, now, until) -> ThreatDecision:
    ids = np.asarray(areas, dtype=np.int64)
    return ThreatDecision(threat, "missiles", now, ids, np.full(len(ids), now), until, True)


def _issue(alert_id, areas, expires=None, status="actual"):
    return IssueAlert(alert_id, "hazmat", "alert", frozenset(areas), expires, status, OP)


def _operator_state():
    """Threat alert t1 with area 102 taken out by hand, threat t2's alert ended by hand, and
    two manual alerts (one exercise, one with its own expiry)."""
    state = initial_state(LifecycleConfig(SHELTER, hold_s=60.0, run_id="r"))
    state, _ = apply(state, [_decision("t1", [101, 102], T0, T0 + 30)], T0)
    state, _ = apply(state, [_decision("t2", [103], T0 + 1, T0 + 30)], T0 + 1)
    commands = [
        UpdateAlert("r-00001", frozenset(), frozenset({102}), OP),
        EndAlert("r-00002", None, OP),
        _issue("op-1", [101, 104], status="exercise"),
        _issue("op-2", [103], expires=T0 + 500),
    ]
    state, _ = apply(state, [], T0 + 2, commands)
    return state


def test_checkpoint_keeps_manual_alerts_suppressions_and_exclusions() -> None:
    state = _operator_state()
    assert state.suppressed == {"t2"} and state.excluded == {"t1": frozenset({102})}
    back, clock = decode(encode(state, Clock(T0, T0, 2.0)), SHELTER)
    assert back == state and clock == Clock(T0, T0, 2.0)


def test_checkpoints_and_events_of_older_versions_still_decode() -> None:
    state = initial_state(LifecycleConfig(SHELTER, hold_s=60.0, run_id="r"))
    state, _ = apply(state, [_decision("t1", [101], T0, T0 + 30)], T0)
    body = msgspec.msgpack.decode(encode(state, Clock()))
    for new_field in ("manual", "suppressed", "excluded"):
        del body[new_field]  # what a checkpoint written before issue 13 holds
    back, _ = decode(msgspec.msgpack.encode(body), SHELTER)
    assert back == state and back.manual == {} and back.suppressed == frozenset()
    event = msgspec.json.decode(EVENT_ENCODER.encode(_issue_event()))
    del event["status"]
    assert EVENT_DECODER.decode(msgspec.json.encode(event)).status == "actual"


def _issue_event():
    _, (event,) = apply(
        initial_state(LifecycleConfig(SHELTER)), [], T0, [_issue("op-1", [101], status="exercise")]
    )
    return event


def test_fold_without_checkpoint_rebuilds_operator_state_conservatively(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    state = initial_state(LifecycleConfig(SHELTER, hold_s=60.0, run_id="r"))
    state, first = apply(state, [_decision("t1", [101, 102], T0, T0 + 30)], T0)
    state, more = apply(
        state,
        [],
        T0 + 2,
        [_issue("op-1", [101, 104], status="exercise"), EndAlert("r-00001", None, OP)],
    )
    store.append(first + more)  # a writer that keeps no checkpoint
    rebuilt, _ = rebuild(SHELTER, None, store.iter_all(), hold_s=60.0, run_id="r")
    assert set(rebuilt.manual) == {"op-1"}
    assert rebuilt.manual["op-1"].areas == {101, 104}
    assert rebuilt.manual["op-1"].status == "exercise"
    assert rebuilt.manual["op-1"].expires_at_unix_s is None
    assert rebuilt.areas == {} and rebuilt.suppressed == {"t1"}
    assert not any(t.startswith("operator:") for t in rebuilt.threat_alert)
    # the suppressed threat cannot re-open what the operator ended
    _, events = apply(rebuilt, [_decision("t1", [101], T0 + 3, T0 + 40)], T0 + 3)
    assert events == []


def test_operate_writes_commands_with_the_checkpoint_and_references_them(store_target) -> None:
    path = store_target
    issued = operate(path, SHELTER, [_issue("op-1", [101, 102])], T0)
    assert [(e.seq, e.id, e.stage, e.status) for e in issued] == [(1, "op-1", "alert", "actual")]
    (listed,) = read_open_alerts(path, SHELTER)
    assert (listed.alert_id, listed.manual, [a.id for a in listed.areas]) == (
        "op-1",
        True,
        [101, 102],
    )
    with pytest.raises(ConflictError):
        operate(path, SHELTER, [_issue("op-1", [103])], T0 + 1)
    (cancel,) = operate(path, SHELTER, [CancelAlert("op-1", ("operator:sam",))], T0 + 2)
    assert (cancel.seq, cancel.stage, cancel.references) == (2, "cancelled", (1,))
    with pytest.raises(NotFoundError):
        operate(path, SHELTER, [EndAlert("op-1", None, OP)], T0 + 3)
    assert read_open_alerts(path, SHELTER) == []
    store = open_store(path)
    assert store.last_seq() == 2 and store.checkpoint().seq == 2


def test_preview_shows_exactly_what_operate_then_writes(tmp_path) -> None:
    path = tmp_path / "a.db"
    operate(path, SHELTER, [_issue("op-1", [101], expires=T0 + 10)], T0)
    command = _issue("op-2", [102, 103], status="exercise")
    # at T0 + 20 op-1's expiry is due too: the preview shows only what the command makes
    shown = preview(path, SHELTER, [command], T0 + 20)
    assert SQLiteEventStore(path).last_seq() == 1  # nothing written
    written = operate(path, SHELTER, [command], T0 + 20)
    assert [(e.id, e.stage) for e in written] == [("op-1", "ended"), ("op-2", "alert")]
    assert [msgspec.structs.replace(e, seq=0) for e in written[1:]] == shown
    with pytest.raises(InputError, match="ahead"):
        preview(path, SHELTER, [_issue("op-3", [104], expires=T0 + 19)], T0 + 20)


def test_a_pipeline_step_after_an_operator_write_reloads_and_retries(store_target) -> None:
    """The pipeline's lifecycle and an operator's race on the same store: the operator wins the
    first write; the pipeline's next step conflicts, reloads (the manual alert included),
    writes its own events once, and a command that no longer checks raises its error."""
    path = store_target
    config = LifecycleConfig(SHELTER, hold_s=60.0, run_id="p")
    pipeline = DurableLifecycle(open_store(path), SHELTER, config=config)
    events, _ = pipeline.step([_decision("t1", [101], T0, T0 + 30)], T0)
    operate(path, SHELTER, [UpdateAlert("p-00001", frozenset({103}), frozenset(), OP)], T0 + 1)
    events, _ = pipeline.step([_decision("t1", [101, 102], T0 + 2, T0 + 30)], T0 + 2)
    assert [(e.seq, e.stage, [a.id for a in e.areas], e.references) for e in events] == [
        (3, "alert", [102], (2,))
    ]
    assert sorted(pipeline.state.areas) == [101, 102, 103]
    # an operator's stale command on a lifecycle that moved: reload, then its own error
    other = DurableLifecycle(open_store(path), SHELTER)
    operate(path, SHELTER, [CancelAlert("p-00001", OP)], T0 + 3)
    with pytest.raises(NotFoundError):
        other.step([], T0 + 4, [EndAlert("p-00001", None, OP)])
    assert open_store(path).last_seq() == 4


@pytest.mark.slow
def test_a_real_pipeline_run_survives_operator_writes_between_its_steps(
    tmp_path, monkeypatch
) -> None:
    """A simulated run writes its lane's events while an operator issues and ends manual
    alerts between two of its steps: every event is in the log once, gap-free, the lane's
    events are exactly those of an undisturbed run, references point at the right seq, and the
    drain ends the manual alert with an expiry on time without waiting for the one without."""
    sim = simulate(load_scenario("sderot-gaza"))
    shelter = {a.id: a.shelter_s for a in load_areas().areas}
    baseline = run(sim, policy="predicted", start_unix_s=sim.start_unix_s + 1000.0)
    loads = [0]
    real_load = durable.DurableLifecycle.load

    def counting_load(self):
        loads[0] += 1
        real_load(self)

    monkeypatch.setattr(durable.DurableLifecycle, "load", counting_load)
    path = tmp_path / "a.db"
    store = SQLiteEventStore(path)
    written: list = []
    calls = [0]
    north, middle, last = sorted(shelter)[-3:]  # areas far from the Gaza envelope
    manual_expiry: list[float] = []

    def between_steps(stored) -> None:
        calls[0] += 1
        t = stored[-1].issued_at_unix_s  # a run at full speed keeps the identity clock
        if calls[0] == 1:
            manual_expiry.append(t + 5000.0)
            written.extend(operate(path, shelter, [_issue("op-1", [last], expires=t + 5000)], t))
            written.extend(operate(path, shelter, [_issue("op-2", [middle])], t))
        elif calls[0] == 2:
            update = UpdateAlert("op-2", frozenset({north}), frozenset(), OP)
            written.extend(operate(path, shelter, [update], t))

    result = run(
        sim,
        policy="predicted",
        store=store,
        start_unix_s=sim.start_unix_s + 1000.0,
        on_events=between_steps,
    )
    assert calls[0] > 2 and loads[0] >= 3  # the lane had to reload after the writes
    log = list(SQLiteEventStore(path).iter_all())
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    lane = result.lanes["predicted"].events
    mine = [e for e in lane if not e.id.startswith("op-")]
    # the lane itself gave the manual alert's expiry (its drain waited for it)
    assert [(e.id, e.stage) for e in lane if e.id.startswith("op-")] == [("op-1", "ended")]
    machine = [e for e in log if not e.id.startswith("op-")]
    by_hand = [e for e in log if e.id.startswith("op-")]
    key = [(e.id, e.stage, e.areas, e.issued_at_unix_s) for e in machine]
    assert key == [(e.id, e.stage, e.areas, e.issued_at_unix_s + 1000.0) for e in mine]
    assert [(e.id, e.stage, e.areas) for e in baseline.events] == [
        (e.id, e.stage, e.areas) for e in mine
    ]
    assert [e.seq for e in machine] == [e.seq for e in mine]
    assert [e.seq for e in written] == [e.seq for e in by_hand[: len(written)]]
    assert machine[0].seq < by_hand[0].seq < machine[-1].seq
    # references: every event points at an earlier event of its own alert, never older than
    # the latest one issued before it
    for event in log:
        earlier = [e for e in log if e.id == event.id and e.seq < event.seq]
        if not earlier:
            assert event.references == ()
            continue
        (ref,) = event.references
        before = [e.seq for e in earlier if e.issued_at_unix_s < event.issued_at_unix_s]
        assert ref in {e.seq for e in earlier} and ref >= max(before, default=0)
    # the drain ended op-1 at its expiry and did not wait for op-2 (no expiry)
    (ended,) = [e for e in by_hand if e.id == "op-1" and e.stage == "ended"]
    assert ended.issued_at_unix_s == pytest.approx(manual_expiry[0])
    assert not [e for e in by_hand if e.id == "op-2" and e.stage == "ended"]
    assert log[-1] == ended
    final = open_alerts(DurableLifecycle(SQLiteEventStore(path), shelter).state)
    assert [(a.alert_id, [x.id for x in a.areas]) for a in final] == [("op-2", [north, middle])]
