"""A map of the alert areas around a point, coloured by shelter time (matplotlib, PNG).

Drawn in ground kilometres around the point (:class:`~redcolor.geo.frame.LocalFrame`), so the
scale is true in every direction.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.patheffects as pe
import numpy as np
import shapely
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from redcolor.geo.areas import Area, AreaIndex
from redcolor.geo.frame import LocalFrame

MAX_LABELS = 80
# Shelter time (s) -> fill colour: the shorter the time, the hotter the colour.
SHELTER_COLOURS = {
    0: "#67000d",
    15: "#cb181d",
    30: "#ef3b2c",
    45: "#fc8d59",
    60: "#fdbb84",
    90: "#fee8c8",
}


def _colour(shelter_s: int) -> str:
    keys = np.array(sorted(SHELTER_COLOURS))
    return SHELTER_COLOURS[int(keys[np.argmin(np.abs(keys - shelter_s))])]


def _patch(geom_km: shapely.Geometry, **style: object) -> PathPatch:
    """One matplotlib patch for a (Multi)Polygon, holes included."""
    verts, codes = [], []
    for poly in shapely.get_parts(geom_km):
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            verts.append(xy)
            codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY])
    return PathPatch(MplPath(np.concatenate(verts), np.concatenate(codes)), **style)


def draw_areas_map(
    index: AreaIndex, lat: float, lon: float, radius_m: float, path: Path, title: str = ""
) -> Path:
    """Draw the areas within ``radius_m`` of a point and write a PNG.

    Areas within the radius are filled by shelter time and labelled with their English name
    (when there are at most ``MAX_LABELS`` of them);
    other areas in view are outlined in grey. The point is a star, the radius a dashed circle.

    Parameters
    ----------
    index : AreaIndex
    lat, lon : float
        Centre, degrees.
    radius_m : float
        Radius of the areas drawn, metres (> 0).
    path : Path
        Output PNG.
    title : str, optional

    Returns
    -------
    Path
        ``path``.
    """
    frame = LocalFrame(lat, lon)
    radius_km = radius_m / 1000.0
    half_km = radius_km * 1.15
    chosen = {int(i) for i in index.within_m(lat, lon, radius_m)}
    in_view = [index.get(int(i)) for i in index.meeting(frame.to_wgs84(_km_box(half_km)))]

    fig = Figure(figsize=(9.0, 9.0), dpi=110)  # no pyplot: no global state, no GUI backend
    ax = fig.subplots()
    ax.set_facecolor("#eef3f7")
    labels: list[tuple[Area, float, float]] = []
    edge_lw = 0.7 if len(chosen) <= MAX_LABELS else 0.1  # thin outlines on country-wide maps
    for area in sorted(in_view, key=lambda a: a.id in chosen):
        local = shapely.transform(frame.to_local(area.polygon), lambda xy: xy / 1000.0)
        if area.id in chosen:
            style = {"facecolor": _colour(area.shelter_s), "edgecolor": "#333333", "lw": edge_lw}
            p = local.representative_point()
            if abs(p.x) < half_km * 0.97 and abs(p.y) < half_km * 0.97:
                labels.append((area, p.x, p.y))
        else:
            style = {"facecolor": "#f7f7f7", "edgecolor": "#aaaaaa", "lw": edge_lw * 0.7}
        ax.add_patch(_patch(local, **style, hatch="//" if area.approximate else None))
    ax.add_patch(Circle((0, 0), radius_km, fill=False, ls="--", lw=1.2, ec="#08519c"))
    ax.plot([0], [0], marker="*", ms=16, mfc="#08519c", mec="white", zorder=5)
    ax.set_xlim(-half_km, half_km)
    ax.set_ylim(-half_km, half_km)
    ax.set_aspect("equal")
    ax.set_xlabel("east of centre (km)")
    ax.set_ylabel("north of centre (km)")
    present = sorted({index.get(i).shelter_s for i in chosen})
    handles = [Patch(fc=_colour(s), ec="#333333", label=f"{s} s") for s in present]
    if any(index.get(i).approximate for i in chosen):
        handles.append(Patch(fc="white", ec="#333333", hatch="//", label="approximate polygon"))
    ax.legend(handles=handles, title="time to shelter", loc="lower right", fontsize=8)
    ax.set_title(
        title
        or f"{len(chosen)} alert area{'' if len(chosen) == 1 else 's'} within {radius_km:g} km"
        f" of {lat:.4f}, {lon:.4f}"
        f" ({index.edition} edition)",
        fontsize=11,
    )
    fig.tight_layout()
    if len(labels) <= MAX_LABELS:  # beyond that, names would hide the map
        texts = [(f"{a.name_en}\n{a.shelter_s} s", x, y, a.polygon.area) for a, x, y in labels]
        place_labels(fig, ax, texts, step=half_km * 0.05)
    path = Path(path)
    fig.savefig(path)
    return path


def place_labels(
    fig: Figure,
    ax: Axes,
    labels: list[tuple[str, float, float, float]],
    step: float,
    fontsize: float = 6.5,
) -> None:
    """Write ``(text, x, y, size)`` labels in data coordinates, the largest ``size`` first, each
    at its point or, where that would cover an earlier label, at the nearest free offset (in
    multiples of ``step``) with a leader line. Also used by the run reports."""
    renderer = FigureCanvasAgg(fig).get_renderer()  # type: ignore[no-untyped-call]
    ax.apply_aspect()
    outline = [pe.withStroke(linewidth=2.2, foreground="white")]
    placed: list[Bbox] = []
    # Candidate offsets in steps, nearest first.
    offsets = sorted(
        ((dx, dy) for dx in range(-4, 5) for dy in range(-4, 5)), key=lambda o: np.hypot(*o)
    )

    def put(text: str, x: float, y: float) -> Text:
        return ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            path_effects=outline,
            clip_on=True,
            zorder=6,
        )

    for text, x, y, _ in sorted(labels, key=lambda item: -item[3]):
        best: tuple[float, int, int] | None = None
        for dx, dy in offsets:
            label = put(text, x + dx * step, y + dy * step)
            box = label.get_window_extent(renderer).expanded(1.04, 1.08)
            clash = sum(_overlap(box, other) for other in placed)
            if clash == 0:
                break
            label.remove()
            if best is None or clash < best[0]:
                best = (clash, dx, dy)
        else:  # nowhere free: the offset covering the least of the other labels
            assert best is not None
            _, dx, dy = best
            box = put(text, x + dx * step, y + dy * step).get_window_extent(renderer)
        placed.append(box)
        if (dx, dy) != (0, 0):
            ax.plot(
                [x, x + dx * step * 0.6],
                [y, y + dy * step * 0.6],
                lw=0.5,
                color="#333333",
                zorder=6,
            )


def scale_bar(ax: Axes, width_km: float, km_per_unit: float) -> None:
    """A scale bar in the lower right of ``ax``: a round length near a fifth of ``width_km``
    (the view's ground width), drawn ``km_per_unit`` kilometres to one data unit."""
    target = width_km / 5.0
    length_km = max(
        (n * 10.0**e for e in range(-2, 4) for n in (1, 2, 5) if n * 10.0**e <= target),
        default=target,
    )
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = length_km / km_per_unit
    right = x1 - 0.04 * (x1 - x0)
    y = y0 + 0.05 * (y1 - y0)
    halo = [pe.withStroke(linewidth=4, foreground="white")]
    ax.plot(
        [right - length, right],
        [y, y],
        color="black",
        lw=2.5,
        zorder=7,
        path_effects=halo,
        solid_capstyle="butt",
    )
    ax.text(
        right - length / 2,
        y + 0.015 * (y1 - y0),
        f"{length_km:g} km",
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=7,
        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")],
    )


def _overlap(a: Bbox, b: Bbox) -> float:
    """Area shared by two display boxes (0 when apart)."""
    w = min(float(a.x1), float(b.x1)) - max(float(a.x0), float(b.x0))
    h = min(float(a.y1), float(b.y1)) - max(float(a.y0), float(b.y0))
    return max(w, 0.0) * max(h, 0.0)


def _km_box(half_km: float) -> shapely.Geometry:
    """A square of half-side ``half_km`` kilometres, in metres."""
    return shapely.box(-half_km * 1000, -half_km * 1000, half_km * 1000, half_km * 1000)
