"""Every area value is the real feed's spelling: checked for all areas of both editions against
the sources' spellings in tests/reference/area_spellings.json (written by scripts/build_areas.py
from the raw files; see src/redcolor/data/SOURCES.md, "Spelling")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redcolor.errors import NotFoundError
from redcolor.geo import AreaIndex, load_areas

SPELLINGS = Path(__file__).resolve().parents[1] / "reference" / "area_spellings.json"


@pytest.fixture(scope="module")
def sources() -> dict[str, Any]:
    return json.loads(SPELLINGS.read_text(encoding="utf-8"))


def _feed(sources: dict[str, Any]) -> set[str]:
    """The real feed's spellings: oref_alert's list keys and the pseudo-areas it names."""
    return set(sources["oref_alert"]["areas"]) | set(sources["feed_pseudo_areas"])


def _collapsed(name: str) -> str:
    """pikud-haoref-api's generator: the feed's '' (gershayim) written as one apostrophe."""
    return name.replace("''", "'")


def test_every_current_value_is_the_real_feeds_spelling(sources) -> None:
    areas = load_areas("current")
    feed = _feed(sources)
    assert len(areas) == 1450 and len(sources["oref_alert"]["areas"]) == 1451
    wrong = sorted(a.value for a in areas.areas if a.value not in feed)
    assert wrong == []
    assert all(a.name_he == a.value for a in areas.areas)


def test_pikud_haoref_api_spellings_are_aliases(sources) -> None:
    """Each of pikud-haoref-api's 1,450 values names its area: as the value where it is the
    feed's spelling, else as the alias of the area whose value it is the collapse of."""
    areas = load_areas("current")
    pha = sources["pikud_haoref_api"]["current"]["values"]
    assert len(pha) == 1450
    respelled = {}
    for spelling in pha:
        area = areas.find(spelling)
        if area.value != spelling:
            assert area.aliases == (spelling,) and _collapsed(area.value) == spelling
            respelled[spelling] = area.value
    # One in 72.5: every one a gershayim written '' by the feed and ' by pikud-haoref-api.
    assert len(respelled) == 20
    assert respelled["כפר חב'ד"] == "כפר חב''ד" and respelled["עין הנצי'ב"] == "עין הנצי''ב"
    assert {a.value for a in areas.areas if a.aliases} == set(respelled.values())


def test_respelled_areas_take_oref_alerts_shelter_time(sources) -> None:
    """Looked up by the feed's spelling, these three get oref_alert's newer 90 s (the
    pikud-haoref-api countdown says 60 s)."""
    areas = load_areas("current")
    for value in ("עין הנצי''ב", "כרם מהר''ל", "מרכז מיר''ב"):
        assert areas.find(value).shelter_s == 90


def test_2023_12_gershayim_restored_and_renames_kept(sources) -> None:
    areas = load_areas("2023-12")
    feed = _feed(sources)
    pha = sources["pikud_haoref_api"]["2023-12"]["values"]
    assert len(areas) == len(pha) == 1377
    collapsed_feed = {_collapsed(n): n for n in feed if "''" in n}
    # No value is still a collapsed form of a feed spelling.
    assert sorted(a.value for a in areas.areas if a.value in collapsed_feed) == []
    restored = {a.value for a in areas.areas if "''" in a.value}
    assert len(restored) == 21 and "ניל''י" in restored
    assert restored - feed == {"ניל''י"}  # Nili: renamed נילי since
    assert areas.find("ניל'י").value == "ניל''י" and areas.find("נילי").value == "ניל''י"
    # Every 2023 pikud-haoref-api spelling still finds its own area.
    for spelling in pha:
        area = areas.find(spelling)
        assert spelling in (area.value, *area.aliases)
    # Names renamed since by punctuation keep their 2023 spelling; today's is an alias.
    bat_yam = areas.find("בת ים")
    assert bat_yam.value == "בת-ים" and bat_yam.aliases == ("בת ים",)
    assert load_areas("current").find("בת ים").value == "בת ים"


def test_aliases_are_never_served(sources) -> None:
    areas = load_areas("current")
    features = areas.to_geojson()["features"]
    served = {f["properties"]["value"] for f in features}
    aliases = {a for f in features for a in f["properties"]["aliases"]}
    assert len(aliases) == 20 and not served & aliases
    assert served <= _feed(sources)


def test_an_alias_naming_another_area_is_refused() -> None:
    areas = load_areas("current")
    one, two = areas.get(areas.find("כפר חב''ד").id), areas.get(areas.find("אזור").id)
    clash = type(one)(**{f: getattr(one, f) for f in one.__dataclass_fields__} | {
        "aliases": (two.value,)
    })  # fmt: skip
    with pytest.raises(ValueError, match="names two areas"):
        AreaIndex("test", [clash, two])


def test_find_by_alias_is_exact_not_fuzzy() -> None:
    areas = load_areas("current")
    assert areas.find(" כפר  חב'ד ").value == "כפר חב''ד"
    with pytest.raises(NotFoundError, match=r"close matches: .*כפר חב''ד"):
        areas.find("כפר חבד")
