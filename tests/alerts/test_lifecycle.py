"""The alert lifecycle core: merging, staging, never dropping, all-clear after the hold."""

from __future__ import annotations

import numpy as np

from redcolor.alerts.lifecycle import (
    LifecycleConfig,
    apply,
    initial_state,
    next_due_unix_s,
    record_stored,
)
from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import LANGUAGES
from redcolor.warning.base import ThreatDecision

T0 = 1_700_000_000.0
SHELTER = {1: 15, 2: 30, 3: 90, 4: 0, 5: 60}


def _decision(threat, areas, now, until, alert_at=None, category="missiles", pre_alert=True):
    ids = np.asarray(areas, dtype=np.int64)
    at = np.full(ids.shape, now) if alert_at is None else np.asarray(alert_at, dtype=float)
    return ThreatDecision(threat, category, now, ids, at, until, pre_alert)


def _state(hold_s=600.0):
    return initial_state(LifecycleConfig(shelter_s=SHELTER, hold_s=hold_s, run_id="t"))


def test_first_decision_opens_one_alert_with_instructions():
    _, events = apply(_state(), [_decision("a", [1, 2], T0, T0 + 30)], T0)
    (event,) = events
    assert (event.id, event.stage, event.category) == ("t-00001", "alert", "missiles")
    assert [(a.id, a.shelter_s) for a in event.areas] == [(1, 15), (2, 30)]
    assert event.expires_at_unix_s == T0 + 30 + 600
    assert set(event.instructions) == set(LANGUAGES)
    assert all(event.instructions.values())
    assert event.source == ("a",)


def test_salvo_in_one_scan_is_one_alert_and_overlap_merges():
    decisions = [_decision("a", [1, 2], T0, T0 + 30), _decision("b", [2, 3], T0, T0 + 40)]
    state, events = apply(_state(), decisions, T0)
    assert [(e.id, e.stage) for e in events] == [("t-00001", "alert")]
    assert [a.id for a in events[0].areas] == [1, 2, 3]
    assert events[0].source == ("a", "b")
    # a later threat over area 3 joins the open alert instead of opening another
    state, events = apply(state, [_decision("c", [3, 4], T0 + 5, T0 + 50)], T0 + 5)
    assert {(e.id, e.stage, tuple(a.id for a in e.areas)) for e in events} == {
        ("t-00001", "update", (3,)),
        ("t-00001", "alert", (4,)),
    }


def test_area_never_dropped_before_end_and_ended_after_hold():
    state, _ = apply(_state(hold_s=100), [_decision("a", [1, 2], T0, T0 + 30)], T0)
    # the region moved: area 2 no longer in the decision, area 3 added
    state, events = apply(state, [_decision("a", [1, 3], T0 + 1, T0 + 30)], T0 + 1)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("alert", [3])]
    assert events[0].references == ()
    assert sorted(state.areas) == [1, 2, 3]
    state, events = apply(state, [], T0 + 129)
    assert events == []
    assert next_due_unix_s(state) == T0 + 130
    state, events = apply(state, [], T0 + 130)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("ended", [1, 2, 3])]
    assert state.areas == {} and state.alerts == {} and next_due_unix_s(state) is None


def test_end_waits_for_the_last_threat_of_each_area():
    decisions = [_decision("a", [1], T0, T0 + 10), _decision("b", [1, 2], T0, T0 + 200)]
    state, _ = apply(_state(hold_s=60), decisions, T0)
    state, events = apply(state, [], T0 + 100)
    assert events == []
    state, events = apply(state, [], T0 + 260)
    assert [a.id for a in events[0].areas] == [1, 2]


def test_long_flight_is_pre_alerted_then_raised_on_schedule_even_without_track():
    # area 3 (90 s) must shelter 100 s before impact, area 1 (15 s) 25 s before
    impact = T0 + 600
    d = _decision("m", [1, 3], T0, impact, alert_at=[impact - 25, impact - 100])
    state, events = apply(_state(), [d], T0)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("pre_alert", [1, 3])]
    state, events = apply(state, [], impact - 101)
    assert events == []
    assert next_due_unix_s(state) == impact - 100
    state, events = apply(state, [], impact - 100)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("alert", [3])]
    state, events = apply(state, [], impact - 20)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("alert", [1])]
    assert state.areas[1].stage == "alert"


def test_later_decision_moves_the_schedule_and_can_raise_now():
    impact = T0 + 600
    state, _ = apply(_state(), [_decision("m", [1], T0, impact, alert_at=[impact - 25])], T0)
    state, events = apply(state, [_decision("m", [1], T0 + 1, impact, alert_at=[T0])], T0 + 1)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("alert", [1])]
    assert state.schedule == {}


def test_drone_category_and_renewal_extends_the_end():
    state, events = apply(
        _state(hold_s=60), [_decision("d", [5], T0, T0 + 100, category="hostile_aircraft")], T0
    )
    assert events[0].category == "hostile_aircraft"
    state, _ = apply(
        state, [_decision("d", [5], T0 + 50, T0 + 150, category="hostile_aircraft")], T0 + 50
    )
    state, events = apply(state, [], T0 + 161)
    assert events == []
    state, events = apply(state, [], T0 + 210)
    assert events[0].stage == "ended"


def test_references_point_at_stored_seq_and_new_alert_after_end(tmp_path):
    store = SQLiteEventStore(tmp_path / "a.db")
    state, events = apply(_state(hold_s=10), [_decision("a", [1], T0, T0 + 5)], T0)
    state = record_stored(state, store.append(events))
    state, events = apply(state, [_decision("b", [1, 2], T0 + 1, T0 + 6)], T0 + 1)
    assert {e.references for e in events} == {(1,)}
    state = record_stored(state, store.append(events))
    state, events = apply(state, [], T0 + 16)
    assert events[0].stage == "ended" and events[0].references == (3,)
    store.append(events)
    state, events = apply(state, [_decision("c", [1], T0 + 20, T0 + 30)], T0 + 20)
    assert events[0].id == "t-00002" and events[0].references == ()
    stored = list(store.iter_all())
    assert [e.seq for e in stored] == [1, 2, 3, 4]


def test_inputs_are_not_mutated():
    state0 = _state()
    state1, _ = apply(state0, [_decision("a", [1], T0, T0 + 5)], T0)
    assert state0.areas == {} and state0.alerts == {}
    apply(state1, [_decision("b", [2], T0 + 1, T0 + 5)], T0 + 1)
    assert sorted(state1.areas) == [1]


def test_joining_a_pre_alerted_area_keeps_it_pre_alerted_and_expiry_is_alert_wide():
    impact = T0 + 600
    d1 = _decision("m1", [1, 3], T0, impact, alert_at=[impact - 25, impact - 100])
    state, _ = apply(_state(), [d1], T0)
    d2 = _decision("m2", [3], T0 + 10, impact - 300, alert_at=[impact - 400])
    state, events = apply(state, [d2], T0 + 10)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("pre_alert", [3])]
    assert events[0].expires_at_unix_s == impact + 600
    assert events[0].source == ("m1", "m2")


def test_short_flight_schedule_is_silent_until_due_and_survives_a_lost_track():
    d = _decision("r", [1, 3], T0, T0 + 40, alert_at=[T0 + 20, T0 - 1], pre_alert=False)
    state, events = apply(_state(), [d], T0)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("alert", [3])]
    assert sorted(state.areas) == [3]
    state, events = apply(state, [], T0 + 19)  # the track is lost: no more decisions
    assert events == []
    state, events = apply(state, [], T0 + 20)
    assert [(e.id, e.stage, [a.id for a in e.areas]) for e in events] == [("t-00001", "alert", [1])]


def test_later_decision_cancels_a_silent_schedule():
    first = _decision("r", [1], T0, T0 + 40, alert_at=[T0 + 20], pre_alert=False)
    state, events = apply(_state(), [first], T0)
    assert events == [] and state.areas == {}
    state, events = apply(state, [_decision("r", [3], T0 + 5, T0 + 40)], T0 + 5)
    assert [a.id for a in events[0].areas] == [3]
    state, events = apply(state, [], T0 + 25)
    assert events == [] and sorted(state.areas) == [3]


def test_infinite_alert_at_is_a_pre_alert_with_nothing_scheduled():
    # a drone shelters area 5 now and pre-alerts area 3 (within its reach, not its path)
    d = _decision("d", [3, 5], T0, T0 + 100, alert_at=[np.inf, T0], category="hostile_aircraft")
    state, events = apply(_state(hold_s=60), [d], T0)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [
        ("pre_alert", [3]),
        ("alert", [5]),
    ]
    assert state.schedule == {}
    assert next_due_unix_s(state) == T0 + 160
    state, events = apply(state, [], T0 + 160)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("ended", [3, 5])]
    assert next_due_unix_s(state) is None


def test_pre_alert_never_prolongs_a_shelter_alert():
    # area 5 shelters for drone d until T0 + 100; a later scan names it only for a pre-alert
    # (the drone has moved on but could still turn back): the pre-alert does not keep people
    # in the shelter, while area 3, only pre-alerted, stays open with the renewed pre-alert
    shelter = _decision("d", [5], T0, T0 + 100, category="hostile_aircraft")
    state, _ = apply(_state(hold_s=60), [shelter], T0)
    later = _decision(
        "d", [3, 5], T0 + 90, T0 + 300, alert_at=[np.inf, np.inf], category="hostile_aircraft"
    )
    state, events = apply(state, [later], T0 + 90)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("pre_alert", [3])]
    assert state.areas[5].until_unix_s == T0 + 100 and state.areas[3].until_unix_s == T0 + 300
    state, events = apply(state, [], T0 + 160)
    assert [(e.stage, [a.id for a in e.areas]) for e in events] == [("ended", [5])]
