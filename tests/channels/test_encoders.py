"""Pure encoders: oref live/history files and CAP 1.2 (validated against the OASIS schema)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgspec
import pytest
import xmlschema
from shapely.geometry import MultiPolygon, box

from redcolor.channels import cap, oref
from redcolor.channels.active import ActiveArea
from redcolor.model import CATEGORIES, STAGES, AlertArea, AlertEvent

NS = {"c": cap.CAP_NS}
SCHEMA = xmlschema.XMLSchema(str(resources.files("redcolor.data") / "cap" / "CAP-v1.2.xsd"))


@dataclass(frozen=True)
class _Area:
    id: int
    name_en: str
    name_he: str
    lat: float
    lon: float
    polygon: Any


AREAS = {
    1: _Area(1, "One", "אחת", 33.0, 35.4, box(35.39, 32.99, 35.41, 33.01)),
    2: _Area(
        2,
        "Two",
        "שתיים",
        33.1,
        35.5,
        MultiPolygon([box(35.5, 33.1, 35.51, 33.11), box(35.52, 33.1, 35.53, 33.11)]),
    ),
    3: _Area(3, "Three", "שלוש", 33.2, 35.6, None),
}


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


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("category", CATEGORIES)
def test_every_stage_and_category_gives_a_valid_cap_document(stage, category) -> None:
    earlier = _ev("alert", seq=2)
    doc = cap.cap_document(_ev(stage, category, refs=(2,)), AREAS.__getitem__, [earlier])
    SCHEMA.validate(doc)
    text = doc.decode()
    assert text.count("<polygon>") == 2 * 3 and text.count("<circle>") == 2  # en + he infos
    assert "redcolor@localhost,redcolor-2,2024-07-03T09:46:40+00:00" in text


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


def _cap(event: AlertEvent, referenced=()) -> ET.Element:
    doc = cap.cap_document(event, AREAS.__getitem__, list(referenced))
    SCHEMA.validate(doc)
    return ET.fromstring(doc)


def test_cap_cancel_is_its_own_message_and_an_all_clear_is_an_update() -> None:
    earlier = _ev("alert", seq=2)
    cancel = _cap(_ev("cancelled", refs=(2,)), [earlier])
    assert cancel.findtext("c:msgType", namespaces=NS) == "Cancel"
    assert cancel.findtext("c:status", namespaces=NS) == "Actual"
    assert cancel.findtext("c:note", namespaces=NS) == cap.CANCEL_NOTE
    refs = cancel.findtext("c:references", namespaces=NS)
    assert refs == "redcolor@localhost,redcolor-2,2024-07-03T09:46:40+00:00"
    assert cancel.findtext("c:info/c:certainty", namespaces=NS) == "Unlikely"
    ended = _cap(_ev("ended", refs=(2,)), [earlier])
    assert ended.findtext("c:msgType", namespaces=NS) == "Update"
    assert ended.findtext("c:info/c:responseType", namespaces=NS) == "AllClear"
    assert ended.find("c:note", NS) is None


@pytest.mark.parametrize("stage", STAGES)
def test_cap_exercise_is_never_actual(stage) -> None:
    event = msgspec.structs.replace(_ev(stage, "missiles"), status="exercise")
    root = _cap(event)
    assert root.findtext("c:status", namespaces=NS) == "Exercise"
    assert cap.EXERCISE_NOTE in root.findtext("c:note", namespaces=NS)
    headlines = [h.text for h in root.findall("c:info/c:headline", NS)]
    assert headlines and all(h.startswith("EXERCISE") for h in headlines)
    feed = ET.fromstring(cap.atom_feed([event], base_url="http://h", updated_unix_s=1.7e9))
    assert feed.findtext(f"{{{cap.ATOM_NS}}}entry/{{{cap.ATOM_NS}}}title").startswith("EXERCISE")
    # a real event of the same stage is Actual, without the note
    real = _cap(_ev(stage, "missiles"))
    assert real.findtext("c:status", namespaces=NS) == "Actual"
    assert stage == "cancelled" or real.find("c:note", NS) is None


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
