"""The picture of a run: a map per policy (matplotlib), as PNG or as an HTML page with tables.

Each panel is zoomed to its policy's warned and needed areas and the impacts, over the
coastline and borders (Natural Earth, ``geo.load_outline``): the alert areas in view (grey),
needed and warned areas (green), warned but not needed (orange), needed but missed (red), each
warned or missed area named, the true impacts (black x), the last predicted 99% impact region of
every ballistic track (blue), the radar tracks (dark grey lines) and a scale bar.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from redcolor.errors import InputError
from redcolor.eval.compare import Evaluation
from redcolor.eval.score import Score
from redcolor.eval.story import read_real_alerts
from redcolor.geo import AreaIndex, load_areas, load_outline
from redcolor.geo.plot import place_labels, scale_bar

_COLOURS = {"hit": "#2e9e44", "needless": "#f0a030", "missed": "#d62728"}


def write_report(evaluation: Evaluation, path: str | Path, index: AreaIndex | None = None) -> Path:
    """Write the report to ``path`` (``.png`` or ``.html``); returns the path."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".png", ".html"):
        raise InputError(f"report must be a .png or .html file, got {out.name!r}")
    png = render_png(evaluation, index or load_areas())
    try:
        if suffix == ".png":
            out.write_bytes(png)
        else:
            out.write_text(_html(evaluation, png), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write report {out}: {exc.strerror}") from exc
    return out


MAX_LABELS = 30  # warned areas named on a panel; beyond that, the largest are named
MIN_HALF_KM = 4.0  # a panel shows at least 8 km across, so a lone area is seen in context
PANEL_IN = 6.5  # panel width, inches
LAND, SEA, BORDER, REAL = "#f6f3ea", "#dbe7f1", "#8a8a8a", "#7b3294"


def render_png(evaluation: Evaluation, index: AreaIndex) -> bytes:
    """The map panels as PNG bytes: one per policy, each zoomed to its own warned, needed and
    impact areas, all of one shape so no panel is left mostly empty."""
    names = list(evaluation.outcomes)
    cols = min(2, len(names))
    rows = math.ceil(len(names) / cols)
    boxes = {name: _view_box(evaluation, name, index) for name in names}
    aspect = float(np.clip(np.median([_ground_aspect(b) for b in boxes.values()]), 0.6, 1.5))
    boxes = {name: _fit(box, aspect) for name, box in boxes.items()}
    fig = Figure(figsize=(PANEL_IN * cols, (PANEL_IN * aspect + 0.9) * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    outline = load_outline()
    real = _real_alert_areas(evaluation)
    for ax, name in zip(axes.ravel(), names, strict=False):
        _panel(ax, evaluation, name, index, boxes[name], outline, real)
    for ax in axes.ravel()[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(f"{evaluation.scenario}: warned vs needed areas", fontsize=14)
    fig.tight_layout()
    for ax, name in zip(axes.ravel(), names, strict=False):
        _name_warned(fig, ax, evaluation, name, index, boxes[name])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


Box = tuple[float, float, float, float]  # lon0, lat0, lon1, lat1


def _km_per_deg_lon(box: Box) -> float:
    return 111.32 * math.cos(math.radians(0.5 * (box[1] + box[3])))


def _ground_aspect(box: Box) -> float:
    """Height over width of ``box`` on the ground."""
    return (box[3] - box[1]) * 111.32 / ((box[2] - box[0]) * _km_per_deg_lon(box))


def _view_box(evaluation: Evaluation, name: str, index: AreaIndex) -> Box:
    """What a policy's panel must show: its warned and needed areas and the impacts, with a
    margin, at least ``MIN_HALF_KM`` each way from the middle."""
    score = evaluation.outcomes[name].score
    shapes = [shapely.Point(i.lon, i.lat) for i in evaluation.impacts]
    shapes += [index.get(a).polygon for a in score.warned | score.needed]
    if not shapes:
        shapes = [shapely.Point(34.8, 31.5)]
    x0, y0, x1, y1 = shapely.GeometryCollection(shapes).bounds
    pad_x, pad_y = 0.12 * (x1 - x0), 0.12 * (y1 - y0)
    box = (x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y)
    half_lat = MIN_HALF_KM / 111.32
    half_lon = MIN_HALF_KM / _km_per_deg_lon(box)
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    return (
        min(box[0], cx - half_lon),
        min(box[1], cy - half_lat),
        max(box[2], cx + half_lon),
        max(box[3], cy + half_lat),
    )


def _fit(box: Box, aspect: float) -> Box:
    """``box`` grown along one side to the ground ``aspect`` (height over width)."""
    cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
    width_km = (box[2] - box[0]) * _km_per_deg_lon(box)
    height_km = (box[3] - box[1]) * 111.32
    if height_km / width_km < aspect:
        height_km = width_km * aspect
    else:
        width_km = height_km / aspect
    half_lon = 0.5 * width_km / _km_per_deg_lon(box)
    half_lat = 0.5 * height_km / 111.32
    return (cx - half_lon, cy - half_lat, cx + half_lon, cy + half_lat)


def _real_alert_areas(evaluation: Evaluation) -> tuple[str, list[shapely.Geometry]] | None:
    """The areas the real system alerted in the event the scenario models (its
    ``[real_alerts]``), in the edition of that day, and a legend label; None without."""
    sim = evaluation.run.sim
    spec = sim.scenario.real_alerts if sim is not None else None
    if spec is None:
        return None
    rows = read_real_alerts(spec)
    areas = load_areas(spec.edition)
    day = rows[0].local.strftime("%Y-%m-%d")
    return f"alerted for real ({day})", [areas.get(i).polygon for i in {r.area_id for r in rows}]


def _aim_points(evaluation: Evaluation) -> list[tuple[float, float]]:
    sim = evaluation.run.sim
    return (
        [] if sim is None else [(s.target.lon_deg, s.target.lat_deg) for s in sim.scenario.salvos]
    )


def _rings(geom: shapely.Geometry) -> list[np.ndarray]:
    parts = getattr(geom, "geoms", [geom])
    return [np.asarray(p.exterior.coords) for p in parts if hasattr(p, "exterior")]


def _kind(score: Score, area_id: int) -> str:
    if area_id in score.missed:
        return "missed"
    if area_id in score.needed and area_id in score.warned:
        return "hit"
    return "needless" if area_id in score.warned else "base"


def _panel(
    ax: Axes,
    evaluation: Evaluation,
    name: str,
    index: AreaIndex,
    box: Box,
    outline: dict[str, shapely.Geometry],
    real: tuple[str, list[shapely.Geometry]] | None,
) -> None:
    score = evaluation.outcomes[name].score
    view = shapely.box(*box)
    ax.set_facecolor(SEA)
    land = [ring for geom in outline.values() for ring in _rings(geom.intersection(view))]
    ax.add_collection(PolyCollection(land, facecolor=LAND, edgecolor=BORDER, linewidth=0.8))
    groups: dict[str, list[np.ndarray]] = {"base": [], "hit": [], "needless": [], "missed": []}
    for area_id in index.meeting(view).tolist():
        groups[_kind(score, area_id)].extend(_rings(index.get(area_id).polygon))
    ax.add_collection(
        PolyCollection(groups["base"], facecolor="#e9e9e9", edgecolor="#b0b0b0", linewidth=0.3)
    )
    handles: list[Artist] = []
    for key, colour in _COLOURS.items():
        ax.add_collection(
            PolyCollection(
                groups[key], facecolor=colour, edgecolor="#555555", linewidth=0.4, alpha=0.8
            )
        )
        if groups[key]:
            handles.append(Patch(facecolor=colour, edgecolor="#555555", label=f"{key} area"))
    if real is not None:
        label, polygons = real
        rings = [r for poly in polygons if poly.intersects(view) for r in _rings(poly)]
        ax.add_collection(
            PolyCollection(
                rings, facecolor="none", edgecolor=REAL, linewidth=1.1, linestyle=(0, (3, 2))
            )
        )
        handles.append(Patch(facecolor="none", edgecolor=REAL, linestyle="--", label=label))
    run = evaluation.run
    for track_id in np.unique(run.track_ids):
        sel = run.track_ids == track_id
        ax.plot(run.track_lon[sel], run.track_lat[sel], color="#555555", linewidth=0.6)
    if run.track_ids.size:
        handles.append(Line2D([], [], color="#555555", linewidth=0.8, label="radar tracks"))
    regions = [p.region(0.99) for p in run.last_predictions.values() if p.kind != "drone"]
    for region in regions:
        for ring in _rings(region):
            ax.plot(ring[:, 0], ring[:, 1], color="#1f5fbf", linewidth=0.7)
    if regions:
        handles.append(Line2D([], [], color="#1f5fbf", label="last 99% impact region"))
    ax.plot(
        [i.lon for i in evaluation.impacts],
        [i.lat for i in evaluation.impacts],
        "kx",
        markersize=4,
        zorder=5,
    )
    handles.append(Line2D([], [], color="k", marker="x", ls="", label="true impact"))
    aims = _aim_points(evaluation)
    if aims:
        ax.plot(*zip(*aims, strict=True), "*", ms=13, mfc="#d62728", mec="white", zorder=6)
        handles.append(
            Line2D([], [], marker="*", ls="", ms=10, mfc="#d62728", mec="white", label="aim point")
        )
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(111.32 / _km_per_deg_lon(box))
    fig = score.figures(evaluation.oracle)
    lead = fig["lead_time_s"]["median"]
    ax.set_title(
        f"{name}: needed {fig['needed']}, warned {fig['warned']}, missed {fig['missed']}, "
        f"needless {fig['needless']}, median lead {lead if lead is not None else '-'} s",
        fontsize=9,
    )
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude (deg)", fontsize=8)
    ax.set_ylabel("latitude (deg)", fontsize=8)
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9)
    scale_bar(ax, (box[2] - box[0]) * _km_per_deg_lon(box), _km_per_deg_lon(box))


def _name_warned(
    fig: Figure, ax: Axes, evaluation: Evaluation, name: str, index: AreaIndex, box: Box
) -> None:
    """Name the panel's warned and missed areas (the largest ``MAX_LABELS`` of them), once the
    layout is final: labels are placed where they do not cover each other."""
    score = evaluation.outcomes[name].score
    view = shapely.box(*box)
    labels = []
    for area_id in score.warned | score.missed:
        area = index.get(area_id)
        if not area.polygon.intersects(view):
            continue
        p = area.polygon.intersection(view).representative_point()
        labels.append((area.name_en, p.x, p.y, area.polygon.area))
    labels = sorted(labels, key=lambda item: -item[3])[:MAX_LABELS]
    place_labels(fig, ax, labels, step=0.035 * (box[3] - box[1]), fontsize=7.5)


def _html(evaluation: Evaluation, png: bytes) -> str:
    figures = evaluation.figures()
    keys = ["needed", "warned", "missed", "late", "late_unavoidable", "needless", "precision"]
    head = "".join(f"<th>{k}</th>" for k in ["policy", *keys, "median lead s", "area-min"])
    rows = []
    for name, fig in figures["policies"].items():
        cells = [
            name,
            *(fig.get(k) for k in keys),
            fig["lead_time_s"]["median"],
            fig["shelter_area_minutes"],
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    events = evaluation.outcomes[next(iter(evaluation.outcomes))].events
    t0 = evaluation.run.start_unix_s
    timeline = "".join(
        f"<tr><td>{e.seq}</td><td>{e.issued_at_unix_s - t0:.1f}</td><td>{html.escape(e.id)}</td>"
        f"<td>{e.stage}</td><td>{e.category}</td><td>{len(e.areas)}</td></tr>"
        for e in events[:500]
    )
    img = base64.b64encode(png).decode("ascii")
    title = html.escape(evaluation.scenario)
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{title}</title>"
        f"<h1>redcolor simulate: {title}</h1><table border=1><tr>{head}</tr>{''.join(rows)}"
        f"</table><p>latency ms: {figures['latency_ms']}</p>"
        f"<img alt='map of warned and needed areas' src='data:image/png;base64,{img}'>"
        "<h2>Alert events (first policy)</h2><table border=1><tr><th>seq</th><th>t s</th>"
        f"<th>id</th><th>stage</th><th>category</th><th>areas</th></tr>{timeline}</table></html>"
    )
