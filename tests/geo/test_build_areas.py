"""scripts/build_areas.py: the conversion rules on small synthetic sources, the output read back
by the loader, and (where the raw sources are present) byte-identical rebuilds."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import shapely
from pyproj import Geod

from redcolor.geo import read_areas_file
from redcolor.geo.load import data_path

ROOT = Path(__file__).resolve().parents[2]
RAW = Path("/work/shared/data/raw")
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_areas", ROOT / "scripts" / "build_areas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _city(value: str, lat: float, lon: float, zone_en: str = "Zone One", **extra) -> dict:
    city = {
        "name": value, "name_en": f"{value}-en", "name_ar": f"{value}-ar", "name_ru": f"{value}-ru",
        "zone": "אזור", "zone_en": zone_en, "zone_ar": "z-ar", "zone_ru": "z-ru",
        "countdown": 60, "lat": lat, "lng": lon, "value": value,
    }  # fmt: skip
    return city | extra


def _square(lat: float, lon: float, half: float = 0.004) -> list[list[float]]:
    return [[lat - half, lon - half], [lat - half, lon + half], [lat + half, lon + half],
            [lat + half, lon - half]]  # fmt: skip


CITIES = [
    _city("א", 32.00, 35.00, id=1),
    _city("ב", 32.00, 35.02, id=2),
    _city("ג", 32.01, 35.01, zone_en="Zone 1", id=3),  # minority spelling of the zone
    _city("ד", 32.03, 35.00),  # no id, known in the newer edition
    _city("ה", 32.03, 35.03),  # no id, unknown
    _city("ו", 32.06, 35.06, id=6),  # its id's polygon is elsewhere (the id was reused)
]
POLYGONS_BY_ID = {
    "1": _square(32.00, 35.00),
    # a bow-tie: self-intersecting, repaired into two triangles
    "2": [[31.996, 35.016], [32.004, 35.024], [31.996, 35.024], [32.004, 35.016]],
    "6": _square(32.20, 35.20),
}
# "א" has a far-away polygon here too, but it does not hold the listed point: pikud's stays.
POLYGONS_BY_VALUE = {
    "ד": _square(32.03, 35.00),
    "א": _square(31.5, 34.5),
    "ו": _square(32.06, 35.06),
}


def test_rules_on_synthetic_sources(build, tmp_path: Path) -> None:
    doc = build.build_edition(
        "test", CITIES, POLYGONS_BY_ID, POLYGONS_BY_VALUE, {"א": 90}, {"ד": 77}
    )
    by_value = {a["value"]: a for a in doc["areas"]}
    assert [a["id"] for a in doc["areas"]] == sorted(a["id"] for a in doc["areas"])
    assert {v: a["id"] for v, a in by_value.items()} == {
        "א": 1, "ב": 2, "ג": 3, "ד": 77, "ה": 900_001, "ו": 6
    }  # fmt: skip
    assert by_value["א"]["shelter_s"] == 90 and by_value["ב"]["shelter_s"] == 60
    assert {a["zone_en"] for a in doc["areas"]} == {"Zone One"}
    assert [by_value[v]["polygon_source"] for v in "אבגדהו"] == [
        "pikud-haoref-api", "pikud-haoref-api", "voronoi-1.5km", "oref_alert", "voronoi-1.5km",
        "oref_alert",
    ]  # fmt: skip
    assert [by_value[v]["approximate"] for v in "אבגדהו"] == [
        False, False, True, False, True, False
    ]  # fmt: skip
    assert shapely.geometry.shape(by_value["ו"]["geometry"]).contains(shapely.Point(35.06, 32.06))

    bowtie = shapely.geometry.shape(by_value["ב"]["geometry"])
    assert bowtie.is_valid and bowtie.geom_type == "MultiPolygon" and len(bowtie.geoms) == 2

    # The approximate polygon: inside a 1.5 km disc and nearer its own point than any other.
    cell = shapely.geometry.shape(by_value["ג"]["geometry"])
    xy = shapely.get_coordinates(cell)
    own = GEOD.inv(np.full(len(xy), 35.01), np.full(len(xy), 32.01), xy[:, 0], xy[:, 1])[2]
    assert own.max() <= 1500.0 + 2.0
    for c in CITIES:
        if c["value"] != "ג":
            other = GEOD.inv(
                np.full(len(xy), c["lng"]), np.full(len(xy), c["lat"]), xy[:, 0], xy[:, 1]
            )[2]
            assert (own <= other + 2.0).all()
    # A lone point far from all others gets the full disc.
    assert shapely.geometry.shape(by_value["ה"]["geometry"]).area > 0.9 * cell.area

    index = read_areas_file(build._write(doc, tmp_path))
    assert len(index) == 6 and index.get(77).value == "ד"
    assert index.locate(32.0, 35.0).value == "א"


def test_respell_takes_the_feeds_gershayim_and_keeps_the_other_spelling(build) -> None:
    feed = frozenset({"כפר חב''ד", "בת ים", "ג'ת", "אבי''ב", "אבי'ב"})
    cities = [_city("כפר חב'ד", 32.0, 35.0), _city("ג'ת", 32.1, 35.0), _city("אבי'ב", 32.2, 35.0)]
    out = build._respell(cities, feed, {}, today=False)
    # collapsed '' restored; a real geresh kept; a value the feed has as it is stays as it is
    assert [(c["value"], c["name"], c["aliases"]) for c in out] == [
        ("כפר חב''ד", "כפר חב''ד", ["כפר חב'ד"]), ("ג'ת", "ג'ת", []), ("אבי'ב", "אבי'ב", []),
    ]  # fmt: skip
    renamed = build._respell([_city("בת-ים", 32.0, 35.0)], feed, {}, today=True)
    assert renamed[0]["value"] == "בת-ים" and renamed[0]["aliases"] == ["בת ים"]
    fixed = build._respell([_city("ניל'י", 32.0, 35.0)], feed, {"ניל'י": "ניל''י"}, today=False)
    assert fixed[0]["value"] == "ניל''י" and fixed[0]["aliases"] == ["ניל'י"]
    with pytest.raises(SystemExit, match="naming two areas"):
        build._respell([_city("כפר חב'ד", 32, 35), _city("כפר חב''ד", 32, 35.1)], feed, {}, False)
    doc = build.build_edition(
        "t", out, {}, {"כפר חב''ד": _square(32.0, 35.0)}, {"כפר חב''ד": 90}, {}
    )
    respelled = next(a for a in doc["areas"] if a["aliases"])
    assert respelled["polygon_source"] == "oref_alert" and respelled["shelter_s"] == 90


@pytest.mark.skipif(not RAW.is_dir(), reason="the raw sources are not on this machine")
def test_rebuild_is_byte_identical(build, tmp_path: Path, capsys) -> None:
    spellings = tmp_path / "area_spellings.json"
    assert (
        build.main(["--raw", str(RAW), "--out", str(tmp_path), "--spellings", str(spellings)]) == 0
    )
    for edition in ("current", "2023-12"):
        built = tmp_path / f"areas-{edition}.json.gz"
        assert built.read_bytes() == data_path(edition).read_bytes(), edition
    assert spellings.read_bytes() == (ROOT / "tests" / "reference" / spellings.name).read_bytes()
    out = capsys.readouterr().out
    assert "current: 1450 areas, 30 zones" in out and "2023-12: 1377 areas" in out
