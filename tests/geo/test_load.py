"""Loading editions: unknown editions and missing or corrupt files give one clear error naming
the file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from redcolor.errors import DataFileError, InputError
from redcolor.geo import EDITIONS, load_areas, read_areas_file
from redcolor.geo.load import data_path


def test_unknown_edition() -> None:
    with pytest.raises(InputError, match="unknown area edition '1999'"):
        load_areas("1999")


def test_every_edition_ships() -> None:
    for edition in EDITIONS:
        assert data_path(edition).is_file()


def _doc() -> dict:
    with gzip.open(data_path("current")) as fh:
        doc = json.load(fh)
    doc["areas"] = doc["areas"][:5]
    return doc


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "areas-test.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    return path


def test_round_trip_of_a_small_file(tmp_path: Path) -> None:
    index = read_areas_file(_write(tmp_path, _doc()))
    assert len(index) == 5 and index.edition == "current"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json.gz"
    with pytest.raises(DataFileError, match=f"{path} is missing"):
        read_areas_file(path)


def test_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "areas.json.gz"
    path.write_bytes(b"{not gzip at all")
    with pytest.raises(DataFileError, match=str(path)):
        read_areas_file(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataFileError, match=str(path)):
        read_areas_file(path)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("areas"),
        lambda d: d["areas"][0].__setitem__("shelter_s", "ninety"),
        lambda d: d["areas"][1].pop("value"),
        lambda d: d.__setitem__("format", 99),
        lambda d: d["areas"][2].__setitem__("geometry", {"type": "Polygon", "coordinates": 7}),
        lambda d: d["areas"][2].__setitem__("geometry", {"type": "Point", "coordinates": [1, 2]}),
        lambda d: d["areas"][3].__setitem__("id", d["areas"][0]["id"]),
    ],
)
def test_corrupt_content(tmp_path: Path, breakage) -> None:
    doc = _doc()
    breakage(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(DataFileError, match=str(path)) as err:
        read_areas_file(path)
    assert "\n" not in str(err.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "areas.json.gz"
    path.write_bytes(gzip.compress(b"[1, 2,"))
    with pytest.raises(DataFileError, match=str(path)):
        read_areas_file(path)
