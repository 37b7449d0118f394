"""Benchmark of redcolor.geo: vectorised point lookups and region queries, one core.

Goals (issue 2): >= 1,000,000 point lookups/s over 1M random points in Israel's bounding box,
and >= 20,000 region queries/s with 5 km ellipses. Prints medians of several runs, ratios
against a plain-STRtree baseline run in the same process, and writes bench/results/geo.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from redcolor.geo import LocalFrame, load_areas  # noqa: E402

# Israel's bounding box (including the areas of Judea and Samaria and the Golan), degrees.
BBOX_LAT = (29.45, 33.34)
BBOX_LON = (34.25, 35.90)
N_POINTS = 1_000_000
N_REGIONS = 5_000
RUNS = 7
OUT = Path(__file__).resolve().parent / "results" / "geo.json"


def _median_s(fn: Callable[[], object], runs: int, progress: Progress, label: str) -> float:
    task = progress.add_task(label, total=runs)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        progress.advance(task)
    return statistics.median(times)


def _ellipses(n: int, rng: np.random.Generator, areas) -> tuple[list, list]:
    """5 km ellipses (semi-minor 1-5 km, any heading) centred near random areas: WGS84 and
    (frame, local metres) forms."""
    cents = np.array([(a.lat, a.lon) for a in areas.areas])
    pick = cents[rng.integers(0, len(cents), n)] + rng.normal(0, 0.03, (n, 2))
    unit = shapely.Point(0, 0).buffer(1.0, quad_segs=16)
    wgs, local = [], []
    for (lat, lon), minor, heading in zip(
        pick, rng.uniform(1000, 5000, n), rng.uniform(0, 180, n), strict=True
    ):
        frame = LocalFrame(lat, lon)
        ell = shapely.affinity.rotate(shapely.affinity.scale(unit, 5000.0, minor), heading)
        local.append((frame, ell))
        wgs.append(frame.to_wgs84(ell))
    return wgs, local


def main() -> int:
    console = Console()
    areas = load_areas("current")
    rng = np.random.default_rng(20240106)
    lat = rng.uniform(*BBOX_LAT, N_POINTS)
    lon = rng.uniform(*BBOX_LON, N_POINTS)

    t0 = time.perf_counter()
    ids = areas.locate_many(lat[:1], lon[:1])  # builds the cell grid once
    grid_build_s = time.perf_counter() - t0
    tree = shapely.STRtree(np.array([a.polygon for a in areas.areas]))

    def baseline_points() -> None:
        tree.query(shapely.points(lon, lat), predicate="intersects")

    wgs, local = _ellipses(N_REGIONS, rng, areas)
    wgs_arr = np.array(wgs, dtype=object)

    with Progress(console=console, transient=True) as progress:
        grid_s = _median_s(lambda: areas.locate_many(lat, lon), RUNS, progress, "locate_many")
        base_s = _median_s(baseline_points, 3, progress, "baseline STRtree")
        one_s = _median_s(
            lambda: [areas.meeting(g) for g in wgs], 5, progress, "meeting, one at a time"
        )
        many_s = _median_s(lambda: areas.meeting_many(wgs_arr), 5, progress, "meeting_many")
        loc_s = _median_s(
            lambda: [areas.meeting_local(e, f) for f, e in local], 3, progress, "meeting_local"
        )
    ids = areas.locate_many(lat, lon)
    results = {
        "points": N_POINTS,
        "points_inside_an_area": int((ids >= 0).sum()),
        "grid_build_s": grid_build_s,
        "locate_many_median_s": grid_s,
        "point_lookups_per_s": N_POINTS / grid_s,
        "baseline_strtree_points_per_s": N_POINTS / base_s,
        "speedup_vs_strtree": base_s / grid_s,
        "regions": N_REGIONS,
        "region_queries_per_s": N_REGIONS / one_s,
        "region_queries_batch_per_s": N_REGIONS / many_s,
        "region_queries_local_metres_per_s": N_REGIONS / loc_s,
        "goals": {"point_lookups_per_s": 1_000_000, "region_queries_per_s": 20_000},
    }
    table = Table(title="redcolor.geo, one core (medians)", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_row(
        "point lookups/s (locate_many, 1M points)", f"{N_POINTS / grid_s:,.0f}", "1,000,000"
    )
    table.add_row("  baseline: STRtree.query on points", f"{N_POINTS / base_s:,.0f}", "")
    table.add_row("  speed-up over baseline", f"{base_s / grid_s:.1f}x", "")
    table.add_row("  points inside an area", f"{(ids >= 0).mean():.1%}", "")
    table.add_row("  one-off cell-grid build", f"{grid_build_s * 1000:.0f} ms", "")
    table.add_row(
        "region queries/s (meeting, 5 km ellipses)", f"{N_REGIONS / one_s:,.0f}", "20,000"
    )
    table.add_row("  batched (meeting_many)", f"{N_REGIONS / many_s:,.0f}", "")
    table.add_row(
        "  local metres (meeting_local, incl. projection)", f"{N_REGIONS / loc_s:,.0f}", ""
    )
    console.print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {OUT}")
    ok = results["point_lookups_per_s"] >= 1e6 and results["region_queries_per_s"] >= 2e4
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
