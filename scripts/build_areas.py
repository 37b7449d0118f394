"""Build redcolor's alert-area data files from the raw public sources.

Reads the raw files (pikud-haoref-api ``cities.json``/``polygons.json`` and oref_alert's
``area_to_polygon.json.zip``/``area_to_migun_time.json``; see ``src/redcolor/data/SOURCES.md``)
and writes one gzipped JSON file per edition to ``src/redcolor/data/areas-<edition>.json.gz``.
Rerun it when a source updates::

    .venv/bin/python scripts/build_areas.py --raw /work/shared/data/raw

Rules, per edition:

* ``current``: the areas of pikud-haoref-api HEAD ``cities.json``. Polygon: pikud-haoref-api
  ``polygons.json`` by area id, else oref_alert ``area_to_polygon`` by Hebrew value, else an
  approximation (below). Where the pikud-haoref-api polygon lies over 1 km from the area's
  listed point and the oref_alert polygon holds that point, the oref_alert one wins (the id was
  reused for another place; 3 areas). Shelter time: oref_alert ``area_to_migun_time`` by Hebrew
  value where it has the area (it is newer), else the pikud-haoref-api ``countdown``.
* ``2023-12``: the areas of the 2023-12-20 ``cities.json`` (in force on 2024-01-06), with that
  snapshot's ``countdown`` as shelter time. Polygon: the 2023-12 ``polygons.json`` by id, else
  oref_alert ``area_to_polygon`` by value, else the approximation, with the same check. Twelve
  entries of this snapshot carry no id: they take the current edition's id for the same value
  where there is one, else a synthetic id from 900001 up, in Hebrew-value order.

Spelling, both editions: ``value`` is the real feed's spelling of the area name. oref_alert's
lists (``area_to_migun_time``, ``area_to_district``, ``area_to_polygon``; made from the Home Front
Command's own area list) carry it; pikud-haoref-api's generator (``lib/cities.js``, "Remove
duplicate single quote") collapses the feed's ``''`` (two apostrophes for gershayim, as in
``כפר חב''ד``) into one ``'``. So a pikud-haoref-api value not in oref_alert's lists whose
``'``-collapse of exactly one oref_alert name gives it takes that name (20 areas in ``current``;
the same 20 plus ``ניל''י`` in ``2023-12``, from a table: Nili was renamed ``נילי`` since); the
pikud-haoref-api spelling is kept as an alias. In ``2023-12``, today's spelling of a name that
differs only in punctuation or spacing (``בת-ים``/``בת ים``) is kept as an alias too. Shelter
times, polygons and ids are looked up by the corrected value.

Every polygon is repaired with shapely ``make_valid`` (self-intersections), reduced to its
polygonal parts and snapped to a 1e-5 degree grid (about 1 m; the pikud-haoref-api polygons carry
4 decimals) with ``set_precision``, which keeps it valid. An area with no polygon in any source
gets the Voronoi cell of its listed point among all the edition's points, clipped to a 1.5 km
disc, flagged ``approximate``. Zone names in en/ru/ar are normalised to the most common
translation of the Hebrew zone name (the sources spell a few zones two ways).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point, Polygon, mapping

from redcolor.geo.frame import LocalFrame

GRID_DEG = 1e-5
APPROX_RADIUS_M = 1500.0
STALE_M = 1000.0
SYNTHETIC_ID_BASE = 900_000
OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "redcolor" / "data"
LANGS = ("he", "en", "ar", "ru")
SPELLINGS_OUT = OUT_DIR.parents[2] / "tests" / "reference" / "area_spellings.json"
# The feed's spellings of 2023-12 areas that left oref_alert's lists before its snapshot (see
# the module docstring); ``ניל''י`` is also how open projects keyed on the feed spell it.
FEED_SPELLING_2023 = {"ניל'י": "ניל''י"}
# A real-feed pseudo-area that oref_alert's lists leave out: oref_alert names it in
# ``metadata/__init__.py`` (``SOME_PARTS_OF_THE_COUNTRY``); pikud-haoref-api spells it the same.
FEED_PSEUDO_AREAS = ("בחלק מהאזורים בארץ",)
_PUNCT = re.compile(r"[\s'\"\-.,()]")


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def _cities(path: Path) -> list[dict[str, Any]]:
    """The areas of a pikud-haoref-api ``cities.json``, without the "select all" pseudo-entry."""
    return [c for c in _read_json(path) if c.get("value") != "all"]


def _polygon_from_latlon(points: list[list[float]]) -> Any:
    """A valid polygonal shapely geometry (x = lon, y = lat) from ``[lat, lon]`` points, or None."""
    if len(points) < 3:
        return None
    ring = np.asarray(points, dtype=np.float64)[:, ::-1]
    geom = shapely.make_valid(Polygon(ring))
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    geom = shapely.set_precision(shapely.union_all(parts), GRID_DEG)
    return None if geom.is_empty else geom


def _stale(geom: Any, other: Any, lat: float, lon: float) -> bool:
    """True when a polygon lies over STALE_M from the area's listed point while ``other`` (the
    alternative source's polygon) holds the point: the id was reused for another place."""
    frame = LocalFrame(lat, lon)
    origin = Point(0.0, 0.0)
    return bool(
        frame.to_local(geom).distance(origin) > STALE_M and frame.to_local(other).intersects(origin)
    )


def _approximate(lat: float, lon: float, all_lat: np.ndarray, all_lon: np.ndarray) -> Any:
    """Voronoi cell of (lat, lon) among all points, clipped to a 1.5 km disc, in WGS84."""
    frame = LocalFrame(lat, lon)
    x, y = frame.project(all_lat, all_lon)
    near = np.hypot(x, y) < 20 * APPROX_RADIUS_M
    disc = Point(0.0, 0.0).buffer(APPROX_RADIUS_M, quad_segs=16)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(np.column_stack([x[near], y[near]])))
    )
    own = [c for c in cells if c.covers(Point(0.0, 0.0))]  # none when it is the only point
    geom = frame.to_wgs84(own[0].intersection(disc) if own else disc)
    return shapely.set_precision(geom, GRID_DEG)


def _zone_names(cities: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Hebrew zone -> {lang: most common translation}."""
    counts: dict[str, dict[str, collections.Counter[str]]] = collections.defaultdict(
        lambda: collections.defaultdict(collections.Counter)
    )
    for c in cities:
        for lang in ("en", "ar", "ru"):
            counts[c["zone"]][lang][c[f"zone_{lang}"]] += 1
    return {
        zone: {lang: ctr.most_common(1)[0][0] for lang, ctr in by_lang.items()}
        for zone, by_lang in counts.items()
    }


def _feed_spelling(value: str, feed_names: frozenset[str], fixed: dict[str, str]) -> str:
    """The real feed's spelling of a pikud-haoref-api value (see the module docstring)."""
    if value in feed_names:
        return value
    if value in fixed:
        return fixed[value]
    uncollapsed = [n for n in feed_names if "''" in n and n.replace("''", "'") == value]
    return uncollapsed[0] if len(uncollapsed) == 1 else value


def _respelled(feed_names: frozenset[str]) -> dict[str, str]:
    """Punctuation- and space-free key -> the one feed name with that key (ambiguous keys out)."""
    by_key = collections.defaultdict(list)
    for name in feed_names:
        by_key[_PUNCT.sub("", name)].append(name)
    return {k: names[0] for k, names in by_key.items() if len(names) == 1}


def _respell(
    cities: list[dict[str, Any]], feed_names: frozenset[str], fixed: dict[str, str], today: bool
) -> list[dict[str, Any]]:
    """Cities with ``value``/``name`` in the feed's spelling and the other spellings in
    ``aliases`` (with ``today``, also the feed's current spelling of a renamed-by-punctuation
    name). SystemExit if a spelling would name two areas."""
    respelled = _respelled(feed_names) if today else {}
    out = []
    for c in cities:
        value = _feed_spelling(c["value"], feed_names, fixed)
        aliases = [c["value"]] if value != c["value"] else []
        current = respelled.get(_PUNCT.sub("", value), value)
        if current not in (value, *aliases):
            aliases.append(current)
        name = value if c["name"] == c["value"] else c["name"]
        out.append(c | {"value": value, "name": name, "aliases": aliases})
    spellings = collections.Counter(s for c in out for s in (c["value"], *c["aliases"]))
    clash = sorted(s for s, n in spellings.items() if n > 1)
    if clash:
        raise SystemExit(f"spellings naming two areas: {clash}")
    return out


def build_edition(
    edition: str,
    cities: list[dict[str, Any]],
    polygons_by_id: dict[str, list[list[float]]],
    polygons_by_value: dict[str, list[list[float]]],
    shelter_by_value: dict[str, int],
    ids_by_value: dict[str, int],
) -> dict[str, Any]:
    """Assemble one edition's document (see the module docstring for the rules); ``cities``
    carry the feed's spelling in ``value`` and the others in ``aliases`` (see ``_respell``)."""
    zones = _zone_names(cities)
    missing_id = sorted(
        c["value"] for c in cities if "id" not in c and c["value"] not in ids_by_value
    )
    synthetic = {v: SYNTHETIC_ID_BASE + k + 1 for k, v in enumerate(missing_id)}
    all_lat = np.array([c["lat"] for c in cities], dtype=np.float64)
    all_lon = np.array([c["lng"] for c in cities], dtype=np.float64)
    areas, counts = [], collections.Counter[str]()
    for c in cities:
        area_id = c.get("id") or ids_by_value.get(c["value"]) or synthetic[c["value"]]
        geom, source = None, ""
        if str(area_id) in polygons_by_id and "id" in c:
            geom, source = _polygon_from_latlon(polygons_by_id[str(area_id)]), "pikud-haoref-api"
        if c["value"] in polygons_by_value:
            other = _polygon_from_latlon(polygons_by_value[c["value"]])
            if geom is None:
                geom, source = other, "oref_alert"
            elif other is not None and _stale(geom, other, c["lat"], c["lng"]):
                print(
                    f"{edition}: {c['value']} ({c['name_en']}, id {area_id}): polygon from"
                    " oref_alert, the pikud-haoref-api one is away from the listed point"
                )
                geom, source = other, "oref_alert"
        if geom is None:
            geom, source = _approximate(c["lat"], c["lng"], all_lat, all_lon), "voronoi-1.5km"
        counts[source] += 1
        centroid = geom.centroid
        zone = zones[c["zone"]]
        areas.append(
            {
                "id": int(area_id),
                "value": c["value"],
                "name_he": c["name"],
                "name_en": c["name_en"],
                "name_ar": c["name_ar"],
                "name_ru": c["name_ru"],
                "zone_he": c["zone"],
                "zone_en": zone["en"],
                "zone_ar": zone["ar"],
                "zone_ru": zone["ru"],
                "shelter_s": int(shelter_by_value.get(c["value"], c["countdown"])),
                "lat": round(centroid.y, 6),
                "lon": round(centroid.x, 6),
                "listed_lat": c["lat"],
                "listed_lon": c["lng"],
                "approximate": source == "voronoi-1.5km",
                "polygon_source": source,
                "geometry": mapping(geom),
                "aliases": c.get("aliases", []),
            }
        )
    ids = [a["id"] for a in areas]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{edition}: duplicate area ids")
    areas.sort(key=lambda a: a["id"])
    print(f"{edition}: {len(areas)} areas, {len(zones)} zones, polygons {dict(counts)}")
    return {"format": 1, "edition": edition, "areas": areas}


def _write(doc: dict[str, Any], out_dir: Path) -> Path:
    path = out_dir / f"areas-{doc['edition']}.json.gz"
    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 keeps the output byte-identical across reruns on unchanged sources.
    with path.open("wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(raw)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return path


def _spellings_doc(
    feed_names: frozenset[str], current: list[dict[str, Any]], snapshot: list[dict[str, Any]]
) -> dict[str, Any]:
    """The source spellings the area tests check against, so they run without the raw files."""
    return {
        "about": "Area-name spellings of the raw sources (src/redcolor/data/SOURCES.md), written "
        "by scripts/build_areas.py for tests/geo/test_spellings.py.",
        "oref_alert": {
            "commit": "f6e31b05801e705b1aeaa8c0f47452c5c44e4293",
            "lists": "keys of area_to_migun_time, area_to_district and area_to_polygon",
            "areas": sorted(feed_names),
        },
        "feed_pseudo_areas": list(FEED_PSEUDO_AREAS),
        "feed_spelling_2023_12": FEED_SPELLING_2023,
        "pikud_haoref_api": {
            "current": {
                "commit": "1f51471d146e3857a2bfb2588525b34eb3b36665",
                "values": sorted(c["value"] for c in current),
            },
            "2023-12": {
                "commit": "2f1cbec6058306fa2331f29b58495cbbd475c1ed",
                "values": sorted(c["value"] for c in snapshot),
            },
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=Path("/work/shared/data/raw"))
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--spellings", type=Path, default=SPELLINGS_OUT)
    args = parser.parse_args(argv)
    raw: Path = args.raw
    pha, oref = raw / "pikud-haoref-api", raw / "oref_alert"
    with zipfile.ZipFile(oref / "area_to_polygon.json.zip") as zf:
        oref_polygons = json.loads(zf.read("area_to_polygon.json"))
    migun = _read_json(oref / "converted_from_py" / "area_to_migun_time.json")
    district = _read_json(oref / "converted_from_py" / "area_to_district.json")
    feed_names = frozenset(migun) | frozenset(district) | frozenset(oref_polygons)

    current_raw = _cities(pha / "cities.json")
    snapshot_raw = _cities(pha / "2023-12_snapshot" / "cities.json")
    current_cities = _respell(current_raw, feed_names, {}, today=False)
    current = build_edition(
        "current", current_cities, _read_json(pha / "polygons.json"), oref_polygons, migun, {}
    )
    snapshot = build_edition(
        "2023-12",
        _respell(snapshot_raw, feed_names, FEED_SPELLING_2023, today=True),
        _read_json(pha / "2023-12_snapshot" / "polygons.json"),
        oref_polygons,
        {},
        {c["value"]: c["id"] for c in current_cities},
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for doc in (current, snapshot):
        _write(doc, args.out)
    spellings = _spellings_doc(feed_names, current_raw, snapshot_raw)
    args.spellings.write_text(
        json.dumps(spellings, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.spellings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
