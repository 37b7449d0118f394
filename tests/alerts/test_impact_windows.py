"""Impact time windows through the lifecycle and its checkpoint (issue 16, personal countdown)."""

from __future__ import annotations

import msgspec
import numpy as np

from redcolor.alerts.checkpoint import Clock, decode, encode, fold, shift
from redcolor.alerts.commands import IssueAlert
from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lifecycle import WINDOW_STEP_S, LifecycleConfig, apply, initial_state
from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import EVENT_DECODER, EVENT_ENCODER
from redcolor.warning.base import ThreatDecision

T0 = 1_700_000_000.0
SHELTER = {1: 15, 2: 30, 3: 90, 4: 60}


def _decision(threat, areas, now, early, late, alert_at=None, pre_alert=True, category="missiles"):
    ids = np.asarray(areas, dtype=np.int64)
    at = np.full(ids.shape, now) if alert_at is None else np.asarray(alert_at, dtype=float)
    e = np.broadcast_to(np.asarray(early, dtype=float), ids.shape).copy()
    lt = np.broadcast_to(np.asarray(late, dtype=float), ids.shape).copy()
    return ThreatDecision(threat, category, now, ids, at, now + 60, pre_alert, e, lt)


def _state():
    return initial_state(LifecycleConfig(shelter_s=SHELTER, hold_s=600.0, run_id="w"))


def _windows(event):
    return {a.id: (a.impact_earliest_unix_s, a.impact_latest_unix_s) for a in event.areas}


def test_events_carry_each_areas_window_and_unknown_ones_have_none():
    d = _decision("a", [1, 2, 3], T0, [T0 + 30.04, T0 + 31, np.nan], [T0 + 34.96, T0 + 36, np.nan])
    _, (event,) = apply(_state(), [d], T0)
    assert _windows(event) == {
        1: (T0 + 30.0, T0 + 35.0),
        2: (T0 + 31, T0 + 36),
        3: (None, None),
    }
    body = EVENT_ENCODER.encode(event)
    assert EVENT_DECODER.decode(body) == event
    # an area without a window is the entry it always was: id and shelter time only
    assert b'{"id":3,"shelter_s":90}' in body
    assert b'"impact_earliest_unix_s":1700000030.0' in body


def test_a_sheltering_areas_window_is_announced_only_when_it_moves_earlier_past_the_step():
    state, _ = apply(_state(), [_decision("a", [1, 2], T0, T0 + 30, T0 + 35)], T0)
    later = _decision("a", [1, 2], T0 + 1, T0 + 40, T0 + 45)
    state, events = apply(state, [later], T0 + 1)
    assert events == []  # later: the announced countdown stays on the safe side, no siren
    small = T0 + 30 - WINDOW_STEP_S + 0.5
    state, events = apply(state, [_decision("a", [1, 2], T0 + 2, small, T0 + 40)], T0 + 2)
    assert events == []  # 1.5 s earlier than announced: within the step
    state, events = apply(state, [_decision("a", [1, 2], T0 + 3, T0 + 26, T0 + 33)], T0 + 3)
    (event,) = events
    assert event.stage == "update" and _windows(event) == {
        1: (T0 + 26, T0 + 33),
        2: (T0 + 26, T0 + 33),
    }
    # compared with what was announced (T0 + 26), not with the last decision
    state, events = apply(state, [_decision("a", [1, 2], T0 + 4, T0 + 24.5, T0 + 33)], T0 + 4)
    assert events == []
    state, events = apply(state, [_decision("a", [1, 2], T0 + 5, T0 + 23.5, T0 + 33)], T0 + 5)
    assert [e.stage for e in events] == ["update"]
    # once the window has begun, its earliest moving about in the past changes no countdown
    state, events = apply(state, [_decision("a", [1, 2], T0 + 25, T0 + 10, T0 + 45)], T0 + 25)
    assert events == []


def test_a_pre_alerted_areas_window_is_announced_as_a_pre_alert():
    d = _decision("a", [3], T0, T0 + 300, T0 + 310, alert_at=[T0 + 180])
    state, (event,) = apply(_state(), [d], T0)
    assert event.stage == "pre_alert"
    d = _decision("a", [3], T0 + 5, T0 + 290, T0 + 300, alert_at=[T0 + 170])
    state, (event,) = apply(state, [d], T0 + 5)
    assert event.stage == "pre_alert" and _windows(event) == {3: (T0 + 290, T0 + 300)}
    # a pre-alert sounds no siren: a countdown moving later is announced too
    d = _decision("a", [3], T0 + 6, T0 + 293, T0 + 300, alert_at=[T0 + 173])
    state, (event,) = apply(state, [d], T0 + 6)
    assert event.stage == "pre_alert" and _windows(event) == {3: (T0 + 293, T0 + 300)}
    # the schedule keeps the window: the alert raised on time carries it
    state, (event,) = apply(state, [], T0 + 173)
    assert event.stage == "alert" and _windows(event) == {3: (T0 + 293, T0 + 300)}


def test_two_threats_span_and_a_past_window_is_dropped():
    state, _ = apply(_state(), [_decision("a", [1], T0, T0 + 30, T0 + 34)], T0)
    state, (event,) = apply(state, [_decision("b", [1], T0 + 1, T0 + 50, T0 + 56)], T0 + 1)
    assert event.stage == "update" and _windows(event) == {1: (T0 + 30, T0 + 56)}
    # after a's impact its window is dropped; the area's countdown (announced: possible now,
    # until T0 + 56) is later by b's estimate alone, so it is not announced for a sheltering
    # area, but a pre-alerted one would be told
    state, events = apply(state, [_decision("b", [1], T0 + 40, T0 + 52, T0 + 56)], T0 + 40)
    assert events == [] and state.areas[1].impact_window == (T0 + 52, T0 + 56)


def test_the_threats_of_one_step_make_one_window_of_their_latest_estimates():
    """Threats merging into one area in one step (in threat id order): each counts with its
    latest window, once. The one that set the area's earliest moving later moves a
    pre-alerted area's countdown (announced), and a window already past when it comes is
    dropped by the next threat's."""
    at = [T0 + 300]

    def step(state, now, *windows):
        return apply(state, [_decision(t, [3], now, e, x, alert_at=at) for t, e, x in windows], now)

    state, _ = step(_state(), T0, ("b", T0 + 330, T0 + 334), ("c", T0 + 320, T0 + 324))
    assert state.areas[3].shown_earliest_unix_s == T0 + 320
    state, (event,) = step(state, T0 + 1, ("b", T0 + 330, T0 + 334), ("c", T0 + 340, T0 + 344))
    assert event.stage == "pre_alert" and _windows(event) == {3: (T0 + 330, T0 + 344)}
    state, (event,) = step(
        state, T0 + 2, ("a", T0 - 10, T0 - 5), ("b", T0 + 326, T0 + 334), ("c", T0 + 340, T0 + 350)
    )
    assert _windows(event) == {3: (T0 + 326, T0 + 350)}  # named: a joined
    assert state.areas[3].impacts == {"b": (T0 + 326, T0 + 334), "c": (T0 + 340, T0 + 350)}


def test_manual_and_ended_areas_have_no_window():
    issue = IssueAlert(
        "m1", "earthquake", "alert", frozenset({1, 2}), None, "actual", ("operator:ann",)
    )
    state, events = apply(_state(), [_decision("a", [3], T0, T0 + 30, T0 + 34)], T0, [issue])
    manual = [e for e in events if e.id == "m1"]
    assert manual and all(_windows(e) == {1: (None, None), 2: (None, None)} for e in manual)
    _, events = apply(state, [], T0 + 60 + 600)
    (ended,) = [e for e in events if e.stage == "ended"]
    assert _windows(ended) == {3: (None, None)}


def test_checkpoint_keeps_windows_schedules_and_what_was_announced(tmp_path):
    state, _ = apply(_state(), [_decision("a", [1, 2], T0, T0 + 30, T0 + 34)], T0)
    state, _ = apply(
        state,
        [
            _decision("b", [2], T0 + 1, T0 + 40, T0 + 44),
            _decision("c", [4], T0 + 1, T0 + 100, T0 + 104, alert_at=[T0 + 20], pre_alert=False),
        ],
        T0 + 1,
    )
    assert state.schedule["c"][4].impact == (T0 + 100, T0 + 104)
    assert state.areas[2].impacts == {"a": (T0 + 30, T0 + 34), "b": (T0 + 40, T0 + 44)}
    again, _ = decode(encode(state, Clock()), SHELTER)
    assert again.areas == state.areas and again.schedule == state.schedule
    assert shift(shift(state, 50.0), -50.0).areas == state.areas
    assert shift(shift(state, 50.0), -50.0).schedule == state.schedule

    # a restart continues exactly: the next small move is still compared with what was shown
    config = state.config
    steps = [
        ([_decision("a", [1, 2], T0, T0 + 30, T0 + 34)], T0),
        ([_decision("a", [1, 2], T0 + 1, T0 + 28.5, T0 + 34)], T0 + 1),
        ([_decision("a", [1, 2], T0 + 2, T0 + 27, T0 + 33)], T0 + 2),
    ]
    reference = DurableLifecycle(SQLiteEventStore(":memory:"), SHELTER, config=config)
    expected = [e for d, now in steps for e in reference.step(d, now)[1]]
    first = DurableLifecycle(SQLiteEventStore(tmp_path / "a.db"), SHELTER, config=config)
    got = [e for d, now in steps[:2] for e in first.step(d, now)[1]]
    del first
    second = DurableLifecycle(SQLiteEventStore(tmp_path / "a.db"), SHELTER, config=config)
    got += [e for d, now in steps[2:] for e in second.step(d, now)[1]]
    assert got == expected and [e.stage for e in got] == ["alert", "update"]


def test_older_checkpoints_and_a_log_without_checkpoint_still_restore():
    """A checkpoint written before windows existed decodes (no windows); the conservative fold
    of a log takes each area's announced window as its threats' and as shown."""
    state, events = apply(_state(), [_decision("a", [1], T0, T0 + 30, T0 + 34)], T0)
    body = msgspec.msgpack.decode(encode(state, Clock()))
    body["areas"] = [row[:6] for row in body["areas"]]  # an area row of an older version
    old, _ = decode(msgspec.msgpack.encode(body), SHELTER)
    assert old.areas[1].impacts == {} and old.areas[1].shown_earliest_unix_s is None
    # the first versions with windows wrote them as [threat, earliest, latest] rows
    body["areas"] = [[*row, [["a", T0 + 30, T0 + 34]], T0 + 30] for row in body["areas"]]
    first, _ = decode(msgspec.msgpack.encode(body), SHELTER)
    assert first.areas[1] == state.areas[1]
    stored = [msgspec.structs.replace(e, seq=n + 1) for n, e in enumerate(events)]
    folded = fold(_state(), stored)
    assert folded.areas[1].impacts == {"a": (T0 + 30, T0 + 34)}
    assert folded.areas[1].shown_earliest_unix_s == T0 + 30
