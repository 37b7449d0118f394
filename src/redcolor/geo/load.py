"""Loading the alert-area editions shipped in the package (``redcolor/data/areas-*.json.gz``,
built by ``scripts/build_areas.py``; sources and licences in ``redcolor/data/SOURCES.md``)."""

from __future__ import annotations

import functools
import gzip
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import shapely
from shapely.geometry import shape

from redcolor.errors import DataFileError, InputError
from redcolor.geo.areas import Area, AreaIndex

EDITIONS = ("current", "2023-12")
FORMAT = 1


class _AreaRecord(msgspec.Struct, frozen=True):
    id: int
    value: str
    name_he: str
    name_en: str
    name_ar: str
    name_ru: str
    zone_he: str
    zone_en: str
    zone_ar: str
    zone_ru: str
    shelter_s: int
    lat: float
    lon: float
    approximate: bool
    geometry: dict[str, Any]
    aliases: tuple[str, ...] = ()


class _AreasFile(msgspec.Struct, frozen=True):
    format: int
    edition: str
    areas: list[_AreaRecord]


def data_path(edition: str) -> Path:
    """Path of an edition's data file inside the installed package."""
    if edition not in EDITIONS:
        raise InputError(f"unknown area edition {edition!r}; choose one of {', '.join(EDITIONS)}")
    return Path(str(resources.files("redcolor") / "data" / f"areas-{edition}.json.gz"))


def read_areas_file(path: Path) -> AreaIndex:
    """Read one areas file. DataFileError, naming the file, if it is missing or corrupt."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise DataFileError(f"alert-area data file {path} is missing") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"alert-area data file {path} is unreadable: {exc}") from None
    try:
        doc = msgspec.json.decode(raw, type=_AreasFile)
    except msgspec.MsgspecError as exc:
        raise DataFileError(f"alert-area data file {path} is corrupt: {exc}") from None
    if doc.format != FORMAT:
        raise DataFileError(f"alert-area data file {path} has format {doc.format}, want {FORMAT}")
    areas = []
    for r in doc.areas:
        try:
            polygon = shape(r.geometry)
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.ShapelyError):
            raise DataFileError(
                f"alert-area data file {path}: area {r.id} has a broken geometry"
            ) from None
        if polygon.geom_type not in ("Polygon", "MultiPolygon") or not polygon.is_valid:
            raise DataFileError(f"alert-area data file {path}: area {r.id} is not a valid polygon")
        fields = msgspec.structs.asdict(r)
        del fields["geometry"]
        areas.append(Area(**fields, polygon=polygon))
    try:
        return AreaIndex(doc.edition, areas)
    except ValueError as exc:
        raise DataFileError(f"alert-area data file {path}: {exc}") from None


@functools.cache
def load_areas(edition: str = "current") -> AreaIndex:
    """The alert areas of an edition (``current`` or ``2023-12``), loaded once per process.

    Raises InputError for an unknown edition, DataFileError for a missing or corrupt file.
    """
    return read_areas_file(data_path(edition))


def outline_path() -> Path:
    """The coastline and borders shipped in the package (Natural Earth 1:10m countries, clipped
    to the region by ``scripts/build_web.py``): one file, drawn by the live map and the reports."""
    return Path(str(resources.files("redcolor") / "data" / "outline.geojson"))


@functools.cache
def load_outline() -> dict[str, shapely.Geometry]:
    """Country name -> its (Multi)Polygon, from :func:`outline_path`. DataFileError if the file
    is missing or corrupt."""
    path = outline_path()
    try:
        doc = msgspec.json.decode(path.read_bytes())
        return {f["properties"]["name"]: shape(f["geometry"]) for f in doc["features"]}
    except (OSError, msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataFileError(f"cannot read the outline {path}: {exc}") from None
