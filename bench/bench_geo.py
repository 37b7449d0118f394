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
N_NEAR = 1_000
RUNS = 7
OUT = Path(__file__).resolve().parent / "results" / "geo.json"


class Timings:
    """Median wall and CPU (process) seconds of each measure, over several runs.

    On a shared machine wall time includes waiting for a core; process time does not, so both
    are reported.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.wall_s: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], object], runs: int) -> None:
        task = self.progress.add_task(name, total=runs)
        wall, cpu = [], []
        for _ in range(runs):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            self.progress.advance(task)
        self.wall_s[name] = statistics.median(wall)
        self.cpu_s[name] = statistics.median(cpu)


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

    near = [(g.centroid.y, g.centroid.x) for g in wgs[:N_NEAR]]
    # name -> (operations per run, function, runs, goal per second or None)
    measures: dict[str, tuple[int, Callable[[], object], int, float | None]] = {
        "locate_many (1M points)": (N_POINTS, lambda: areas.locate_many(lat, lon), RUNS, 1e6),
        "  baseline: STRtree.query on points": (N_POINTS, baseline_points, 3, None),
        "meeting (5 km ellipses, one at a time)": (
            N_REGIONS, lambda: [areas.meeting(g) for g in wgs], 5, 2e4,
        ),
        "  meeting_many (batched)": (N_REGIONS, lambda: areas.meeting_many(wgs_arr), 5, None),
        "  meeting_local (incl. projection)": (
            N_REGIONS, lambda: [areas.meeting_local(e, f) for f, e in local], 3, None,
        ),
        "within_m (5 km, exact ground distance)": (
            N_NEAR, lambda: [areas.within_m(a, b, 5000.0) for a, b in near], 3, None,
        ),
        "nearest": (N_NEAR, lambda: [areas.nearest(a, b) for a, b in near], 3, None),
    }  # fmt: skip
    with Progress(console=console, transient=True) as progress:
        timings = Timings(progress)
        for name, (_, fn, runs, _) in measures.items():
            timings.run(name, fn, runs)

    ids = areas.locate_many(lat, lon)
    rates = {
        name: {
            "per_s_wall": n / timings.wall_s[name],
            "per_s_cpu": n / timings.cpu_s[name],
            "median_wall_s": timings.wall_s[name],
            "median_cpu_s": timings.cpu_s[name],
            "goal_per_s": goal,
        }
        for name, (n, _, _, goal) in measures.items()
    }
    base = "  baseline: STRtree.query on points"
    speedup = timings.wall_s[base] / timings.wall_s["locate_many (1M points)"]
    results = {
        "points": N_POINTS,
        "points_inside_an_area": int((ids >= 0).sum()),
        "regions": N_REGIONS,
        "grid_build_s": grid_build_s,
        "locate_many_speedup_vs_strtree": speedup,
        "load_average_1min": os.getloadavg()[0],
        "measures": {name.strip(): r for name, r in rates.items()},
    }

    table = Table(title="redcolor.geo, one core (medians)", title_justify="left")
    for col in ("measure", "per s (wall)", "per s (CPU)", "goal"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for name, r in rates.items():
        goal = r["goal_per_s"]
        met = "" if goal is None else (" met" if r["per_s_wall"] >= goal else " NOT met")
        table.add_row(
            name,
            f"{r['per_s_wall']:,.0f}",
            f"{r['per_s_cpu']:,.0f}",
            "" if goal is None else f"{goal:,.0f}{met}",
        )
    console.print(table)
    console.print(
        f"locate_many is {speedup:.1f}x the plain STRtree; {(ids >= 0).mean():.1%} of the points"
        f" fall in an area; one-off cell-grid build {grid_build_s * 1000:.0f} ms;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores."
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
