"""Pure encoders: oref live/history files and CAP 1.2 (validated against the OASIS schema)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pytest
import xmlschema
from shapely.geometry import MultiPolygon, box

from redcolor.channels import cap, oref
from redcolor.channels.active import ActiveArea
from redcolor.model import CATEGORIES, STAGES, AlertArea, AlertEvent

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
    body = json.loads(oref.live_file(active, lambda i: f"v{i}"))
    assert body == {
        "id": "7",
        "cat": "6",
        "title": "חדירת כלי טיס עוין",
        "data": ["v1"],
        "desc": oref.DESC_HE,
    }
    assert oref.live_file([], str) == b""


def test_history_rows_use_israel_summer_time_and_history_categories() -> None:
    rows = oref.history_rows([_ev("ended"), _ev("pre_alert"), _ev("alert")], lambda i: f"v{i}")
    assert [r.category for r in rows] == [13] * 3 + [14] * 3 + [1] * 3
    assert rows[0].alertDate == "2024-07-03 12:46:40"  # IDT = UTC+3 in July
    assert oref.israel_local(1_704_520_800.0) == "2024-01-06 08:00:00"  # IST = UTC+2


def test_history_is_capped_at_3000_rows() -> None:
    many = [_ev("alert", areas=tuple(range(1, 101)))] * 40
    assert len(oref.history_rows(many, str)) == oref.HISTORY_CAP_ROWS
