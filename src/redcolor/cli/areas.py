"""`redcolor areas` commands: statistics, point lookup, one area, GeoJSON export, map around a
point. Each command parses, calls one ``redcolor.geo`` function and renders the result."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from redcolor.errors import InputError
from redcolor.geo import EDITIONS, Area, load_areas

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

areas_app = typer.Typer(
    name="areas",
    help="Alert areas: statistics, lookup by point or name, GeoJSON export, map around a point.",
)


@areas_app.callback(invoke_without_command=True)
def _areas(ctx: typer.Context) -> None:
    """Alert areas: statistics, lookup by point or name, GeoJSON export, map around a point."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


Edition = Annotated[str, typer.Option("--edition", help=f"Area edition: {' | '.join(EDITIONS)}.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
Lat = Annotated[float, typer.Argument(help="Latitude, degrees (WGS84).")]
Lon = Annotated[float, typer.Argument(help="Longitude, degrees (WGS84).")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(areas_app, name="areas")


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InputError(f"latitude {lat} is out of range [-90, 90]")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise InputError(f"longitude {lon} is out of range [-180, 180]")


def area_json(area: Area) -> dict[str, Any]:
    """The public JSON of one area (the keys of ``areas locate --json``)."""
    return {
        "id": area.id,
        "value": area.value,
        "name_en": area.name_en,
        "name_he": area.name_he,
        "name_ar": area.name_ar,
        "name_ru": area.name_ru,
        "zone_en": area.zone_en,
        "shelter_s": area.shelter_s,
    }


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))


def _area_table(area: Area, title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("id", str(area.id)),
        ("value", area.value),
        *([("also spelled", ", ".join(area.aliases))] if area.aliases else []),
        ("name (en / he)", f"{area.name_en} / {area.name_he}"),
        ("name (ar / ru)", f"{area.name_ar} / {area.name_ru}"),
        ("zone (en / he)", f"{area.zone_en} / {area.zone_he}"),
        ("time to shelter", f"{area.shelter_s} s"),
        ("centroid", f"{area.lat:.5f}, {area.lon:.5f}"),
    ]
    if area.approximate:
        rows.append(("polygon", "approximate (no source has one)"))
    for row in rows:
        table.add_row(*row)
    return table


@areas_app.command("stats")
def stats(edition: Edition = "current", as_json: AsJson = False) -> None:
    """Counts of areas, zones, polygons and shelter times."""
    doc = load_areas(edition).stats()
    if as_json:
        _print_json(doc)
        return
    table = Table(title=f"Alert areas, {doc['edition']} edition", title_justify="left")
    table.add_column("time to shelter", justify="right")
    table.add_column("areas", justify="right")
    for shelter_s, count in doc["by_shelter_s"].items():
        table.add_row(f"{shelter_s} s", f"{count:,}")
    table.add_row("all", f"{doc['areas']:,}", style="bold")
    _out.print(table)
    _out.print(
        f"{doc['zones']} zones; {doc['with_polygon']:,} areas with a source polygon, "
        f"{doc['approximate']} approximate."
    )


@areas_app.command("locate")
def locate(lat: Lat, lon: Lon, edition: Edition = "current", as_json: AsJson = False) -> None:
    """The alert area holding a point (exit 1, naming the nearest area, if none does)."""
    _check_point(lat, lon)
    index = load_areas(edition)
    area = index.locate(lat, lon)
    if area is not None:
        if as_json:
            _print_json(area_json(area))
        else:
            _out.print(_area_table(area, f"{lat}, {lon} is in {area.name_en}"))
        return
    near, dist_m = index.nearest(lat, lon)
    if as_json:
        _print_json({"nearest": area_json(near), "distance_m": round(dist_m, 1)})
    _err.print(
        f"redcolor: no alert area contains {lat}, {lon}; the nearest is {near.name_en} "
        f"(id {near.id}, {near.shelter_s} s) at {dist_m:,.0f} m",
        markup=False,
    )
    raise typer.Exit(1)


@areas_app.command("show")
def show(
    name_or_id: Annotated[str, typer.Argument(help="Area id, Hebrew value or name.")],
    edition: Edition = "current",
    as_json: AsJson = False,
) -> None:
    """One area by id, Hebrew value or name in any language."""
    area = load_areas(edition).find(name_or_id)
    if as_json:
        _print_json(
            area_json(area)
            | {
                "zone_he": area.zone_he,
                "zone_ar": area.zone_ar,
                "zone_ru": area.zone_ru,
                "lat": area.lat,
                "lon": area.lon,
                "approximate": area.approximate,
                "aliases": list(area.aliases),
            }
        )
        return
    _out.print(_area_table(area, f"Alert area {area.name_en} ({edition} edition)"))


@areas_app.command("export")
def export(
    geojson: Annotated[Path, typer.Option("--geojson", help="Write a GeoJSON file here.")],
    edition: Edition = "current",
) -> None:
    """Write every area as a GeoJSON FeatureCollection."""
    doc = load_areas(edition).to_geojson()
    try:
        geojson.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {geojson}: {exc.strerror or exc}") from None
    _out.print(f"wrote {len(doc['features']):,} areas ({edition} edition) to {geojson}")


@areas_app.command("around")
def around(
    lat: Lat,
    lon: Lon,
    radius_km: Annotated[
        float, typer.Option("--radius-km", help="Radius, km (0-200).", min=0.0, max=200.0)
    ] = 5.0,
    map_png: Annotated[Path | None, typer.Option("--map", help="Also draw a PNG map.")] = None,
    edition: Edition = "current",
    as_json: AsJson = False,
) -> None:
    """The areas within a radius of a point, nearest first, with their shelter times."""
    _check_point(lat, lon)
    index = load_areas(edition)
    ids = index.within_m(lat, lon, radius_km * 1000.0)
    dist_m = index.distances_m(lat, lon, ids)
    order = sorted(range(len(ids)), key=lambda k: (dist_m[k], int(ids[k])))
    rows = [(index.get(int(ids[k])), float(dist_m[k])) for k in order]
    if map_png is not None:
        from redcolor.geo.plot import draw_areas_map

        try:
            draw_areas_map(index, lat, lon, radius_km * 1000.0, map_png)
        except OSError as exc:
            raise InputError(f"cannot write {map_png}: {exc.strerror or exc}") from None
    if as_json:
        _print_json([area_json(a) | {"distance_m": round(d, 1)} for a, d in rows])
        return
    table = Table(
        title=f"{len(rows)} alert area{'' if len(rows) == 1 else 's'} within {radius_km:g} km"
        f" of {lat}, {lon} ({edition})",
        title_justify="left",
    )
    for name, justify in [
        ("id", "right"),
        ("area", "left"),
        ("שם", "right"),
        ("zone", "left"),
        ("shelter", "right"),
        ("distance", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for area, d in rows:
        table.add_row(
            str(area.id),
            area.name_en,
            area.name_he,
            area.zone_en,
            f"{area.shelter_s} s",
            "inside" if d == 0 else f"{d / 1000:.2f} km",
        )
    _out.print(table)
    if map_png is not None:
        _out.print(f"map: {map_png}")
