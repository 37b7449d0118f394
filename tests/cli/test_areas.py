"""`redcolor areas ...` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redcolor.cli.main import main


def _json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_stats_json(capsys) -> None:
    assert main(["areas", "stats", "--json"]) == 0
    assert _json(capsys) == {
        "edition": "current",
        "areas": 1450,
        "zones": 30,
        "with_polygon": 1449,
        "approximate": 1,
        "by_shelter_s": {"0": 2, "15": 138, "30": 126, "45": 139, "60": 170, "90": 875},
    }
    assert main(["areas", "stats", "--edition", "2023-12", "--json"]) == 0
    assert _json(capsys)["areas"] == 1377


def test_stats_table(capsys) -> None:
    assert main(["areas", "stats"]) == 0
    out = capsys.readouterr().out
    assert "1,450" in out and "30 zones" in out


@pytest.mark.parametrize(
    ("lat", "lon", "name_en", "shelter_s"),
    [("32.08", "34.78", "Tel Aviv - City Center", 90), ("31.525", "34.596", "Sderot, Ibim", 15)],
)
def test_locate_json(capsys, lat, lon, name_en, shelter_s) -> None:
    assert main(["areas", "locate", lat, lon, "--json"]) == 0
    doc = _json(capsys)
    assert list(doc) == [
        "id", "value", "name_en", "name_he", "name_ar", "name_ru", "zone_en", "shelter_s",
    ]  # fmt: skip
    assert doc["name_en"] == name_en and doc["shelter_s"] == shelter_s


def test_locate_table(capsys) -> None:
    assert main(["areas", "locate", "32.08", "34.78"]) == 0
    out = capsys.readouterr().out
    assert "Tel Aviv - City Center" in out and "90 s" in out


def test_locate_in_the_sea_exits_1_naming_the_nearest(capsys) -> None:
    assert main(["areas", "locate", "32.1", "34.6"]) == 1
    err = _one_error_line(capsys)
    assert "no alert area contains 32.1, 34.6" in err
    assert "nearest is Tel Aviv - South And Jaffa" in err and " m" in err
    assert main(["areas", "locate", "32.1", "34.6", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["nearest"]["name_en"] == "Tel Aviv - South And Jaffa"
    assert 10_000 < doc["distance_m"] < 20_000


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["abc", "34.8"], "lat"),
        (["32", "east"], "lon"),
        (["95", "34.8"], "latitude 95.0 is out of range"),
        (["32", "181"], "longitude 181.0 is out of range"),
        (["nan", "34.8"], "latitude nan is out of range"),
        (["32", "34.8", "--edition", "1999"], "unknown area edition"),
    ],
)
def test_locate_bad_input_is_one_line_exit_2(capsys, args, fragment) -> None:
    assert main(["areas", "locate", *args]) == 2
    err = _one_error_line(capsys)
    assert err.startswith("redcolor: error:") and fragment in err


def test_show(capsys) -> None:
    assert main(["areas", "show", "meron", "--json"]) == 0
    doc = _json(capsys)
    assert doc["name_en"] == "Meron" and doc["zone_en"] == "Upper Galilee"
    assert main(["areas", "show", str(doc["id"])]) == 0
    assert "Meron" in capsys.readouterr().out
    assert main(["areas", "show", "Merom"]) == 2
    assert "close matches" in _one_error_line(capsys)


def test_show_by_another_spelling_gives_the_feeds(capsys) -> None:
    assert main(["areas", "show", "כפר חב'ד", "--json"]) == 0
    doc = _json(capsys)
    assert doc["value"] == "כפר חב''ד" and doc["aliases"] == ["כפר חב'ד"]
    assert main(["areas", "show", "כפר חב''ד"]) == 0
    out = capsys.readouterr().out
    assert "also spelled" in out and "כפר חב'ד" in out


def test_export_geojson(tmp_path: Path, capsys) -> None:
    path = tmp_path / "areas.geojson"
    assert main(["areas", "export", "--geojson", str(path)]) == 0
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 1450
    assert main(["areas", "export", "--geojson", str(tmp_path / "no" / "x.json")]) == 2
    assert "cannot write" in _one_error_line(capsys)


def test_around_meron_with_map(tmp_path: Path, capsys) -> None:
    png = tmp_path / "meron.png"
    assert main(["areas", "around", "32.996", "35.414", "--radius-km", "8", "--map", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Meron" in out and "Safed - City" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert main(["areas", "around", "32.996", "35.414", "--radius-km", "8", "--json"]) == 0
    rows = _json(capsys)
    assert len(rows) == 29 and rows[0]["name_en"] == "Meron"
    assert [r["distance_m"] for r in rows] == sorted(r["distance_m"] for r in rows)


def test_around_bad_radius(capsys) -> None:
    assert main(["areas", "around", "32.996", "35.414", "--radius-km", "500"]) == 2
    assert "radius-km" in _one_error_line(capsys)


@pytest.mark.parametrize("content", [None, b"garbage, not gzip", b"\x1f\x8b\x08\x00truncated"])
def test_missing_or_corrupt_data_file_is_one_line_naming_it(
    tmp_path: Path, monkeypatch, capsys, content
) -> None:
    from redcolor.geo import load

    bad = tmp_path / "areas-current.json.gz"
    if content is not None:
        bad.write_bytes(content)
    monkeypatch.setattr(load, "data_path", lambda edition: bad)
    load.load_areas.cache_clear()
    try:
        assert main(["areas", "locate", "32.08", "34.78"]) == 2
    finally:
        load.load_areas.cache_clear()
    err = _one_error_line(capsys)
    assert err.startswith("redcolor: error: alert-area data file") and str(bad) in err


def test_areas_without_a_command_prints_help(capsys) -> None:
    assert main(["areas"]) == 0
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("stats", "locate", "show", "export", "around"))
