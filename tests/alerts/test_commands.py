"""Operator commands in the pure lifecycle: manual alerts, update, end, cancel, suppression."""

from __future__ import annotations

import numpy as np
import pytest

from redcolor.alerts.commands import CancelAlert, EndAlert, IssueAlert, UpdateAlert
from redcolor.alerts.instructions import (
    EXERCISE_MARK,
    SENT_IN_ERROR,
    TEMPLATES,
    instructions_for,
    marked_exercise,
)
from redcolor.alerts.lifecycle import (
    LifecycleConfig,
    apply,
    check_command,
    initial_state,
    next_due_unix_s,
    open_alerts,
    record_stored,
)
from redcolor.errors import ConflictError, InputError, NotFoundError
from redcolor.model import CATEGORIES, LANGUAGES, STAGES
from redcolor.warning.base import ThreatDecision

T0 = 1_700_000_000.0
SHELTER = {1: 15, 2: 30, 3: 90, 4: 0, 5: 60}
OP = ("operator:olga", "approved:sam")
KNOWN = frozenset(SHELTER)


def _decision(threat, areas, now, until, alert_at=None):
    ids = np.asarray(areas, dtype=np.int64)
    at = np.full(ids.shape, now) if alert_at is None else np.asarray(alert_at, dtype=float)
    return ThreatDecision(threat, "missiles", now, ids, at, until, True)


def _state():
    return initial_state(LifecycleConfig(shelter_s=SHELTER, hold_s=600.0, run_id="t"))


def _issue(alert_id="op-1", areas=(1, 2), expires=None, status="actual", **kw):
    return IssueAlert(
        alert_id,
        kw.get("category", "earthquake"),
        kw.get("stage", "alert"),
        frozenset(areas),
        expires,
        status,
        OP,
        kw.get("instructions"),
    )


def _stored(state, events, first_seq):
    stored = [
        e.__class__(**{**{f: getattr(e, f) for f in e.__struct_fields__}, "seq": first_seq + i})
        for i, e in enumerate(events)
    ]
    return record_stored(state, stored), stored


def _areas(event):
    return [a.id for a in event.areas]


def test_manual_alert_is_issued_beside_a_threat_alert_on_the_same_area():
    state, _ = apply(_state(), [_decision("a", [1], T0, T0 + 30)], T0)
    state, events = apply(state, [], T0 + 1, [_issue(areas=(1, 2), status="exercise")])
    (event,) = events
    assert (event.id, event.stage, event.category, event.status) == (
        "op-1",
        "alert",
        "earthquake",
        "exercise",
    )
    assert _areas(event) == [1, 2] and event.source == OP
    assert event.expires_at_unix_s is None
    # an exercise's texts are the category's, each headed by the EXERCISE mark of its language
    assert event.instructions == marked_exercise(instructions_for("earthquake", "alert"))
    assert all(event.instructions[lang].startswith(EXERCISE_MARK[lang]) for lang in LANGUAGES)
    assert event.instructions["en"].startswith("EXERCISE: Earthquake.")
    # the threat alert still owns area 1; the manual alert lives beside it
    assert state.areas[1].alert_id == "t-00001"
    listed = {a.alert_id: a for a in open_alerts(state)}
    assert set(listed) == {"t-00001", "op-1"}
    assert listed["op-1"].manual and listed["op-1"].status == "exercise"
    assert [(x.id, x.stage, x.shelter_s) for x in listed["op-1"].areas] == [
        (1, "alert", 15),
        (2, "alert", 30),
    ]
    assert not listed["t-00001"].manual and listed["t-00001"].expires_unix_s == T0 + 630


def test_manual_alert_without_expiry_is_never_due_and_with_one_ends_on_time():
    state, _ = apply(_state(), [], T0, [_issue("op-1")])
    assert next_due_unix_s(state) is None
    state, events = apply(state, [], T0 + 10_000)
    assert events == [] and "op-1" in state.manual
    state, _ = apply(state, [], T0, [_issue("op-2", areas=(3,), expires=T0 + 120)])
    assert next_due_unix_s(state) == T0 + 120
    state, events = apply(state, [], T0 + 119.9)
    assert events == []
    state, events = apply(state, [], T0 + 120)
    assert [(e.id, e.stage, _areas(e)) for e in events] == [("op-2", "ended", [3])]
    assert events[0].instructions == instructions_for("earthquake", "ended")
    assert "op-2" not in state.manual and "op-1" in state.manual


def test_manual_update_adds_at_its_stage_and_removes_with_ended_and_references_last_seq():
    state, events = apply(_state(), [], T0, [_issue(stage="pre_alert", category="hazmat")])
    state, _ = _stored(state, events, 7)
    update = UpdateAlert("op-1", frozenset({3}), frozenset({1}), ("operator:ann",))
    state, events = apply(state, [], T0 + 5, [update])
    assert [(e.stage, _areas(e), e.references, e.source) for e in events] == [
        ("pre_alert", [3], (7,), ("operator:ann",)),
        ("ended", [1], (7,), ("operator:ann",)),
    ]
    assert state.manual["op-1"].areas == {2, 3}


def test_manual_alert_keeps_its_own_instructions_for_added_areas():
    own = {lang: f"text {lang}" for lang in LANGUAGES}
    state, events = apply(_state(), [], T0, [_issue(instructions=own)])
    assert events[0].instructions == own
    state, events = apply(state, [], T0 + 1, [UpdateAlert("op-1", frozenset({4}), frozenset(), OP)])
    assert events[0].instructions == own


def test_cancel_of_a_manual_alert_sends_the_prepared_correction_to_every_area():
    state, events = apply(_state(), [], T0, [_issue(areas=(1, 2, 3), status="exercise")])
    state, _ = _stored(state, events, 3)
    state, events = apply(state, [], T0 + 2, [CancelAlert("op-1", ("operator:sam",))])
    (event,) = events
    assert (event.stage, _areas(event), event.references) == ("cancelled", [1, 2, 3], (3,))
    assert event.instructions == marked_exercise(SENT_IN_ERROR) and event.status == "exercise"
    assert state.manual == {} and open_alerts(state) == []


def test_end_of_an_automatic_alert_suppresses_its_threat_so_a_live_track_cannot_reopen_it():
    state, _ = apply(_state(), [_decision("a", [1, 2], T0, T0 + 30)], T0)
    # a scheduled area of the same threat, due later (pre-alerted meanwhile)
    state, _ = apply(state, [_decision("a", [1, 2, 3], T0 + 1, T0 + 30, [T0, T0, T0 + 50])], T0 + 1)
    assert "a" in state.schedule
    state, events = apply(state, [], T0 + 2, [EndAlert("t-00001", None, ("operator:olga",))])
    assert [(e.id, e.stage, _areas(e), e.source) for e in events] == [
        ("t-00001", "ended", [1, 2, 3], ("operator:olga",))
    ]
    assert state.areas == {} and state.schedule == {} and "a" in state.suppressed
    # the track keeps coming: nothing re-opens, nothing is scheduled, nothing is due
    state, events = apply(state, [_decision("a", [1, 2, 3], T0 + 3, T0 + 90)], T0 + 3)
    assert events == [] and next_due_unix_s(state) is None
    state, events = apply(state, [], T0 + 60)
    assert events == []
    # another threat still alerts as usual
    _, events = apply(state, [_decision("b", [1], T0 + 61, T0 + 90)], T0 + 61)
    assert [(e.id, e.stage) for e in events] == [("t-00002", "alert")]


def test_cancel_of_an_automatic_alert_releases_with_cancelled():
    state, events = apply(_state(), [_decision("a", [1, 2], T0, T0 + 30)], T0)
    state, _ = _stored(state, events, 1)
    state, events = apply(state, [], T0 + 1, [CancelAlert("t-00001", OP)])
    assert [(e.stage, _areas(e), e.references, e.instructions) for e in events] == [
        ("cancelled", [1, 2], (1,), SENT_IN_ERROR)
    ]
    assert "a" in state.suppressed and state.alerts == {}


def test_removing_areas_of_an_automatic_alert_excludes_them_for_its_threats():
    state, _ = apply(_state(), [_decision("a", [1, 2, 3], T0, T0 + 30)], T0)
    update = UpdateAlert("t-00001", frozenset(), frozenset({2}), OP)
    state, events = apply(state, [], T0 + 1, [update])
    assert [(e.stage, _areas(e)) for e in events] == [("ended", [2])]
    assert state.excluded == {"a": frozenset({2})}
    # the threat still names area 2: it stays out; its other areas stay under alert
    state, events = apply(state, [_decision("a", [1, 2, 3, 4], T0 + 2, T0 + 40)], T0 + 2)
    assert [(e.stage, _areas(e)) for e in events] == [("alert", [4])]
    assert sorted(state.areas) == [1, 3, 4]


def test_adding_areas_to_an_automatic_alert_shelters_them_until_its_end_plus_hold():
    state, _ = apply(_state(), [_decision("a", [1], T0, T0 + 30)], T0)
    state, events = apply(
        state, [], T0 + 5, [UpdateAlert("t-00001", frozenset({5}), frozenset(), OP)]
    )
    assert [(e.stage, _areas(e), e.expires_at_unix_s) for e in events] == [("alert", [5], T0 + 630)]
    assert state.areas[5].alert_id == "t-00001"
    state, events = apply(state, [], T0 + 630)
    assert [(e.stage, _areas(e)) for e in events] == [("ended", [1, 5])]


def test_commands_are_checked_without_changing_the_state():
    state, _ = apply(_state(), [_decision("a", [1], T0, T0 + 30)], T0)
    state, _ = apply(state, [], T0, [_issue("op-1", areas=(2,))])
    before = state
    with pytest.raises(NotFoundError):
        check_command(state, EndAlert("nope", None, OP), KNOWN)
    with pytest.raises(ConflictError):
        check_command(state, _issue("op-1"), KNOWN)
    with pytest.raises(ConflictError):
        check_command(state, _issue("t-00001"), KNOWN)
    with pytest.raises(InputError, match="unknown area"):
        check_command(state, _issue("op-2", areas=(99,)), KNOWN)
    with pytest.raises(InputError):
        check_command(state, _issue("op-2", areas=()), KNOWN)
    with pytest.raises(InputError):
        check_command(state, _issue("op-2", category="all_clear"), KNOWN)
    with pytest.raises(InputError):
        check_command(state, _issue("op-2", instructions={"en": "only english"}), KNOWN)
    with pytest.raises(ConflictError, match="nothing to change"):
        check_command(state, UpdateAlert("op-1", frozenset({2}), frozenset(), OP), KNOWN)
    with pytest.raises(InputError, match="not in alert"):
        check_command(state, UpdateAlert("op-1", frozenset(), frozenset({3}), OP), KNOWN)
    with pytest.raises(ConflictError, match="under alert"):
        # area 2 is a manual area; area 1 the threat alert's: a second threat alert is refused
        apply(
            state,
            [_decision("b", [3], T0, T0 + 30)],
            T0 + 1,
            [UpdateAlert("t-00002", frozenset({1}), frozenset(), OP)],
        )
    with pytest.raises(InputError):
        check_command(state, EndAlert("op-1", frozenset(), OP), KNOWN)
    # apply raises the same error and returns nothing
    with pytest.raises(NotFoundError):
        apply(state, [], T0 + 1, [CancelAlert("gone", OP)])
    assert state == before


def test_every_category_has_instructions_at_every_stage_in_every_language():
    for category in CATEGORIES:
        for stage in STAGES:
            texts = instructions_for(category, stage)
            assert set(texts) == set(LANGUAGES) and all(t.strip() for t in texts.values())
            template = TEMPLATES[f"{category}.{stage}"]
            assert (template.category, template.stage, dict(template.text)) == (
                category,
                stage,
                texts,
            )
    assert instructions_for("drill", "alert")["en"] != instructions_for("missiles", "alert")["en"]
    assert instructions_for("tsunami", "cancelled") == SENT_IN_ERROR
    assert len({instructions_for(c, "alert")["he"] for c in CATEGORIES}) >= 9
