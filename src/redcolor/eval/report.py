"""The picture of a run: a map per policy (matplotlib), as PNG or as an HTML page with tables.

Each panel shows the alert areas around the action (grey outlines), needed and warned areas
(green), warned but not needed (orange), needed but missed (red), the true impacts (black x),
the last predicted 99% impact region of every ballistic track (blue), and the tracks (thin grey
lines).
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from redcolor.errors import InputError
from redcolor.eval.compare import Evaluation
from redcolor.geo import AreaIndex, load_areas

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


def render_png(evaluation: Evaluation, index: AreaIndex) -> bytes:
    """The map panels as PNG bytes."""
    names = list(evaluation.outcomes)
    cols = min(2, len(names))
    rows = math.ceil(len(names) / cols)
    fig = Figure(figsize=(7.5 * cols, 7.0 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    box = _view_box(evaluation, index)
    in_view = index.meeting(shapely.box(*box))
    for ax, name in zip(axes.ravel(), names, strict=False):
        _panel(ax, evaluation, name, index, in_view, box)
    for ax in axes.ravel()[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(f"{evaluation.scenario}: warned vs needed areas", fontsize=14)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _view_box(evaluation: Evaluation, index: AreaIndex) -> tuple[float, float, float, float]:
    lons = [i.lon for i in evaluation.impacts]
    lats = [i.lat for i in evaluation.impacts]
    for outcome in evaluation.outcomes.values():
        for area_id in outcome.score.warned | outcome.score.needed:
            area = index.get(area_id)
            lons.append(area.lon)
            lats.append(area.lat)
    if not lons:
        lons, lats = [34.8], [31.5]
    x0, x1, y0, y1 = min(lons), max(lons), min(lats), max(lats)
    pad = max(x1 - x0, y1 - y0, 0.05) * 0.12
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _rings(geom: shapely.Geometry) -> list[np.ndarray]:
    parts = getattr(geom, "geoms", [geom])
    return [np.asarray(p.exterior.coords) for p in parts if hasattr(p, "exterior")]


def _panel(
    ax: Axes,
    evaluation: Evaluation,
    name: str,
    index: AreaIndex,
    in_view: np.ndarray,
    box: tuple[float, float, float, float],
) -> None:
    score = evaluation.outcomes[name].score
    groups: dict[str, list[np.ndarray]] = {"base": [], "hit": [], "needless": [], "missed": []}
    for area_id in in_view.tolist():
        if area_id in score.missed:
            key = "missed"
        elif area_id in score.needed and area_id in score.warned:
            key = "hit"
        elif area_id in score.warned:
            key = "needless"
        else:
            key = "base"
        groups[key].extend(_rings(index.get(area_id).polygon))
    ax.add_collection(
        PolyCollection(groups["base"], facecolor="#f4f4f4", edgecolor="#bbbbbb", linewidth=0.3)
    )
    for key, colour in _COLOURS.items():
        ax.add_collection(
            PolyCollection(
                groups[key],
                facecolor=colour,
                edgecolor="#555555",
                linewidth=0.4,
                alpha=0.75,
                label=key,
            )
        )
    run = evaluation.run
    for track_id in np.unique(run.track_ids):
        sel = run.track_ids == track_id
        ax.plot(run.track_lon[sel], run.track_lat[sel], color="#666666", linewidth=0.5)
    regions = [p.region(0.99) for p in run.last_predictions.values() if p.kind != "drone"]
    for i, region in enumerate(regions):
        for ring in _rings(region):
            label = "last 99% impact region" if i == 0 else None
            ax.plot(ring[:, 0], ring[:, 1], color="#1f5fbf", linewidth=0.6, label=label)
    ax.plot(
        [i.lon for i in evaluation.impacts],
        [i.lat for i in evaluation.impacts],
        "kx",
        markersize=4,
        label="true impact",
    )
    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(1.0 / math.cos(math.radians(0.5 * (box[1] + box[3]))))
    fig = score.figures(evaluation.oracle)
    lead = fig["lead_time_s"]["median"]
    ax.set_title(
        f"{name}: needed {fig['needed']}, warned {fig['warned']}, missed {fig['missed']}, "
        f"needless {fig['needless']}, median lead {lead if lead is not None else '-'} s",
        fontsize=9,
    )
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.legend(loc="lower left", fontsize=7)


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
