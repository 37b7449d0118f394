"""Build the third-party assets of the web map into ``src/redcolor/serve/static/``.

Run once by a maintainer (the outputs are committed, so the package needs neither npm nor the
network at run time)::

    .venv/bin/python scripts/build_web.py

What it does
------------
1. ``npm pack`` fetches two packages from the npm registry by exact version:

   * ``leaflet@1.9.4`` (BSD-2-Clause): ``dist/leaflet.js``, ``dist/leaflet.css`` and ``LICENSE``
     are copied to ``static/vendor/leaflet/``.
   * ``world-atlas@2.0.2`` (ISC; the geometry is Natural Earth 4.1.0 Admin 0 countries at
     1:10m, public domain): ``countries-10m.json`` is decoded from TopoJSON here, each country
     is clipped to the region around the alert areas, and the result is written as a small
     GeoJSON outline (coastline and borders) to ``redcolor/data/outline.geojson`` (the map
     serves it at ``/outline.geojson``; reports draw it).

2. The npm integrity strings of both tarballs are printed, and the versions are recorded in
   ``static/vendor/VERSIONS.json`` so the README can quote what is vendored.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.validation import make_valid

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "redcolor" / "serve" / "static"
OUTLINE = ROOT / "src" / "redcolor" / "data" / "outline.geojson"  # shared: map and reports
LEAFLET = "leaflet@1.9.4"
WORLD_ATLAS = "world-atlas@2.0.2"

# The outline covers the alert areas (lon 34.2-35.9, lat 29.4-33.4) with room to pan around:
# Sinai, Jordan, Lebanon and southern Syria. Degrees, WGS84 (x = lon, y = lat).
REGION_LON_LAT = (31.5, 28.0, 38.5, 35.0)
# Output coordinates are rounded to 4 decimals (~10 m): the source is quantized to ~0.002 deg.
DECIMALS = 4


def npm_pack(spec: str, workdir: Path) -> tuple[Path, str]:
    """Fetch one package tarball with ``npm pack``; return the unpacked folder and integrity."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(out.stdout)[0]
    target = workdir / spec.split("@")[0]
    with tarfile.open(workdir / info["filename"]) as tar:
        tar.extractall(target, filter="data")
    return target / "package", info["integrity"]


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Decode quantized, delta-encoded TopoJSON arcs into lon/lat point lists.

    Each arc position ``[dx, dy]`` is an integer delta from the previous position; absolute
    positions map to degrees as ``x * scale + translate`` (TopoJSON specification, section 2.1.2).
    """
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_from_arcs(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list:
    """Join arcs into one ring; a negative index ``~i`` means arc ``i`` reversed."""
    ring: list[tuple[float, float]] = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return ring


def country_geometry(geometry: dict[str, Any], arcs: list) -> MultiPolygon | None:
    """One TopoJSON Polygon / MultiPolygon geometry as a shapely MultiPolygon."""
    if geometry.get("type") == "Polygon":
        polygons = [geometry["arcs"]]
    elif geometry.get("type") == "MultiPolygon":
        polygons = geometry["arcs"]
    else:
        return None
    parts = []
    for rings in polygons:
        # Quantization collapses some islets to fewer than 4 points: drop those rings.
        shell, *holes = (ring_from_arcs(ring, arcs) for ring in rings)
        if len(shell) >= 4:
            parts.append(Polygon(shell, [hole for hole in holes if len(hole) >= 4]))
    return MultiPolygon(parts) if parts else None


def build_outline(topology: dict[str, Any]) -> dict[str, Any]:
    """Clip every country that meets the region; return a GeoJSON FeatureCollection."""
    arcs = decode_arcs(topology)
    region = box(*REGION_LON_LAT)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        shape = country_geometry(geometry, arcs)
        if shape is None or not shape.intersects(region):
            continue
        clipped = make_valid(shape).intersection(region)
        if clipped.is_empty:
            continue
        geojson = mapping(clipped)
        features.append(
            {
                "type": "Feature",
                "properties": {"name": geometry["properties"]["name"]},
                "geometry": json.loads(
                    json.dumps(geojson), parse_float=lambda s: round(float(s), DECIMALS)
                ),
            }
        )
    return {
        "type": "FeatureCollection",
        "source": "Natural Earth 4.1.0 Admin 0 countries 1:10m (public domain), via npm "
        f"{WORLD_ATLAS} (ISC); clipped to lon/lat box {list(REGION_LON_LAT)}",
        "features": features,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    vendor = STATIC / "vendor" / "leaflet"
    vendor.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        leaflet, leaflet_integrity = npm_pack(LEAFLET, work)
        for name in ("dist/leaflet.js", "dist/leaflet.css", "LICENSE"):
            shutil.copyfile(leaflet / name, vendor / Path(name).name)
        # The source map is not vendored, so drop the comment that points at it.
        script = vendor / "leaflet.js"
        lines = script.read_text().splitlines(keepends=True)
        script.write_text("".join(x for x in lines if not x.startswith("//# sourceMappingURL")))
        atlas, atlas_integrity = npm_pack(WORLD_ATLAS, work)
        topology = json.loads((atlas / "countries-10m.json").read_text())
        outline = build_outline(topology)
        OUTLINE.write_text(json.dumps(outline, separators=(",", ":")))
        shutil.copyfile(atlas / "LICENSE", STATIC / "vendor" / "world-atlas-LICENSE")
    versions = {
        LEAFLET: {"license": "BSD-2-Clause", "integrity": leaflet_integrity},
        WORLD_ATLAS: {
            "license": "ISC (data: Natural Earth, public domain)",
            "integrity": atlas_integrity,
        },
    }
    (STATIC / "vendor" / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    size_kb = OUTLINE.stat().st_size / 1024
    print(f"outline.geojson: {len(outline['features'])} countries, {size_kb:.0f} KiB")
    for spec, info in versions.items():
        print(f"{spec}: {info['integrity']}")


if __name__ == "__main__":
    main()
