"""Pure encoders: the oref live and history files (CAP 1.2: tests/channels/test_cap.py)."""

from __future__ import annotations

import json

import msgspec

from redcolor.channels import oref
from redcolor.channels.active import ActiveArea
from redcolor.model import AlertArea, AlertEvent


def _ev(stage, category="missiles", seq=5, refs=(), areas=(1, 2, 3)) -> AlertEvent:
    return AlertEvent(
        "a-1",
        seq,
        category,
        stage,
        tuple(AlertArea(a, 15) for a in areas),
        1_720_000_000.5,
        1_720_000_600.0,
        ("track:3",),
        {"en": "Enter a protected space", "he": "היכנסו למרחב המוגן"},
        refs,
    )


def test_live_file_cat_title_and_exact_values() -> None:
    active = [
        ActiveArea(1, "a", "alert", "hostile_aircraft", 0.0, 15, 7),
        ActiveArea(2, "b", "pre_alert", "missiles", 0.0, 15, 9),
    ]
    body = json.loads(oref.live_file(active, lambda i: f"v{i}", log_id="t"))
    assert body == {
        "id": oref.live_id("t", 7, 0.0),
        "cat": "6",
        "title": "חדירת כלי טיס עוין",
        "data": ["v1"],
        "desc": oref.DESC_HE,
    }
    assert oref.live_file([], str, log_id="t") == b""


def test_history_rows_use_israel_summer_time_and_history_categories() -> None:
    rows = oref.history_rows([_ev("ended"), _ev("pre_alert"), _ev("alert")], lambda i: f"v{i}")
    assert [r.category for r in rows] == [13] * 3 + [14] * 3 + [1] * 3
    assert rows[0].alertDate == "2024-07-03 12:46:40"  # IDT = UTC+3 in July
    assert oref.israel_local(1_704_520_800.0) == "2024-01-06 08:00:00"  # IST = UTC+2


def test_history_is_capped_at_3000_rows() -> None:
    many = [_ev("alert", areas=tuple(range(1, 101)))] * 40
    assert len(oref.history_rows(many, str)) == oref.HISTORY_CAP_ROWS


def test_live_file_shows_an_exercise_under_its_drill_code_never_a_real_one() -> None:
    drill = [
        ActiveArea(1, "x", "alert", "missiles", 0.0, 15, 7, "exercise"),
        ActiveArea(2, "x", "alert", "missiles", 0.0, 15, 8, "exercise"),
    ]
    body = json.loads(oref.live_file(drill, lambda i: f"v{i}", log_id="t"))
    assert (body["cat"], body["data"]) == ("101", ["v1", "v2"])
    assert body["title"] == oref.DRILL_PREFIX_HE + oref.TITLE_HE["missiles"]
    for category, code in oref.DRILL_LIVE_CAT.items():
        one = [ActiveArea(1, "x", "alert", category, 0.0, 15, 7, "exercise")]
        assert json.loads(oref.live_file(one, str, log_id="t"))["cat"] == code
    for category in ("drill", "pre_alert"):
        one = [ActiveArea(1, "x", "pre_alert", category, 0.0, 15, 7, "exercise")]
        assert json.loads(oref.live_file(one, str, log_id="t"))["cat"] == "102"
    real_codes = set(oref.LIVE_CAT.values()) - {oref.LIVE_CAT["drill"]}
    assert not real_codes & set(oref.DRILL_LIVE_CAT.values())
    # a real pre-alert beside an exercise alert: only the real areas, under the real code
    mixed = [*drill, ActiveArea(3, "r", "pre_alert", "missiles", 0.0, 15, 5)]
    body = json.loads(oref.live_file(mixed, lambda i: f"v{i}", log_id="t"))
    assert (body["cat"], body["data"]) == ("10", ["v3"])


def test_history_rows_of_exercises_and_cancels() -> None:
    drill = msgspec.structs.replace(_ev("alert", "earthquake"), status="exercise")
    cancel = _ev("cancelled", "missiles")
    rows = oref.history_rows([cancel, drill, _ev("alert", "drill")], str)
    assert [r.category for r in rows] == [13] * 3 + [21] * 3 + [17] * 3
    assert rows[0].title == oref.SENT_IN_ERROR_TITLE_HE
    assert rows[3].title == oref.DRILL_PREFIX_HE + oref.TITLE_HE["earthquake"]
    drill_cancel = msgspec.structs.replace(cancel, status="exercise")
    (row, *_) = oref.history_rows([drill_cancel], str)
    # the drill of the end code (13): 27 in the site's category list
    assert row.category == 27 and row.title.startswith(oref.DRILL_PREFIX_HE)
