"""The active-alerts fold: stages, several alerts on one area, expiry."""

from __future__ import annotations

import msgspec

from redcolor.channels.active import ActiveAlerts
from redcolor.model import AlertArea, AlertEvent


def _ev(alert_id, seq, stage, areas, t, expires=None, category="missiles") -> AlertEvent:
    return AlertEvent(
        alert_id, seq, category, stage, tuple(AlertArea(a, 30) for a in areas), t, expires, (), {}
    )


def test_lifecycle_and_precedence() -> None:
    view = ActiveAlerts()
    view.apply(_ev("bm", 1, "pre_alert", (1, 2, 3), 0.0))
    view.apply(_ev("r", 2, "alert", (2,), 5.0))
    view.apply(_ev("bm", 3, "alert", (3,), 6.0))
    by_area = {a.area_id: a for a in view.areas(7.0)}
    assert {k: (v.alert_id, v.stage) for k, v in by_area.items()} == {
        1: ("bm", "pre_alert"),
        2: ("r", "alert"),
        3: ("bm", "alert"),
    }
    assert by_area[3].since_unix_s == 6.0  # the alert stage starts its own clock
    view.apply(_ev("r", 4, "ended", (2,), 8.0))
    assert {a.area_id: a.alert_id for a in view.areas(9.0)}[2] == "bm"  # still pre-alerted
    view.apply(_ev("bm", 5, "ended", (), 10.0))  # no areas: the whole alert ends
    assert view.areas(11.0) == [] and view.last_seq == 5


def test_update_keeps_since_and_expiry_hides_then_forgets() -> None:
    view = ActiveAlerts()
    view.apply(_ev("a", 1, "alert", (1,), 0.0, expires=100.0))
    view.apply(_ev("a", 2, "update", (1, 4), 3.0))
    entries = {a.area_id: a for a in view.areas(50.0)}
    assert entries[1].since_unix_s == 0.0 and entries[4].since_unix_s == 3.0
    assert view.areas(100.0) == []
    view.apply(_ev("b", 3, "alert", (9,), 200.0))
    assert [a.area_id for a in view.areas(201.0)] == [9] and list(view._alerts) == ["b"]


def test_cancelled_releases_at_once_and_a_real_alert_outranks_an_exercise() -> None:
    view = ActiveAlerts()
    drill = msgspec.structs.replace(_ev("x", 1, "alert", (1, 2), 0.0), status="exercise")
    view.apply(drill)
    view.apply(_ev("r", 2, "pre_alert", (2,), 1.0))
    by_area = {a.area_id: (a.alert_id, a.status) for a in view.areas(2.0)}
    # area 2: the real pre-alert wins over the newer-ranked exercise alert
    assert by_area == {1: ("x", "exercise"), 2: ("r", "actual")}
    view.apply(_ev("x", 3, "cancelled", (1, 2), 3.0))
    assert [(a.area_id, a.alert_id) for a in view.areas(3.0)] == [(2, "r")]
    view.apply(_ev("r", 4, "cancelled", (), 4.0))  # no areas: the whole alert goes
    assert view.areas(4.0) == []


def test_a_partial_end_carries_the_rest_of_the_alert_s_later_end() -> None:
    # barrage-3000's alert 00008: its last update said it ends at 683.3; a decision of the call
    # that ended some of its areas prolonged the others (no event for that alone), so that
    # partial ``ended`` says 685.3, and the remaining areas ended at 685.3
    view = ActiveAlerts()
    view.apply(_ev("a", 1, "alert", (1, 2), 0.0, expires=683.3))
    view.apply(_ev("a", 2, "ended", (1,), 358.3, expires=685.3))
    assert view.alert_expires("a") == 685.3
    assert [a.area_id for a in view.areas(684.0)] == [2]
    assert view.areas(685.3) == []
