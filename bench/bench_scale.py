"""Benchmark: tracking and prediction per scan at 10,000 tracks (issue 12), and the rest of the
pipeline at that load.

The scenario is ``bench/scenarios/barrage-10000.toml``: 11,000 rockets launched within 30 s,
at least 10,000 of them in the air together from ~27 s to ~52 s after the start, seen by four
radars scanning once a second (four scans a second in all). Two passes over the same scans
(the simulator is deterministic, so both passes see the same tracks):

1. ``TrackPredict.step`` alone, scan by scan: wall and CPU time per scan, split into the
   impact predictor and the rest (the tracker), with the live tracks (tentative and
   confirmed), the confirmed ones and the projectiles in the air at each scan.
2. The whole pipeline (``redcolor.pipeline.run``, ``predicted`` policy, a SQLite file store):
   per scan, from the scan's arrival to its alert events being durable, and the warning +
   lifecycle + store part alone (the whole minus tracking and prediction). ``--no-pipeline``
   skips it.

3. ``--baseline SRC``: the tracker alone (``Tracker.process``, no prediction) of this tree and
   of the source tree ``SRC`` (e.g. ``/work/main/src``), in two worker processes fed the same
   scans in lockstep, scan by scan, the order alternating (interleaved, so both see the same
   machine load): wall ms per scan of each, their ratio, and whether their track tables
   agree after every scan (digest of ids, states, covariances, confirmation, histories).

Figures are over the scans at the peak: those with at least 90% of the largest number of live
tracks. Goals (issue 12): tracking under 100 ms a scan at 10,000 tracks; p99 under 250 ms from
a datagram to durable events (this bench has no datagrams: it measures the part after the
decoder). One core for BLAS (threads set to 1). Writes ``bench/results/scale.json``.

Run: ``python bench/bench_scale.py [--until-s 60] [--no-pipeline] [--baseline SRC] [--json]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table  # noqa: E402

from redcolor.alerts.store import SQLiteEventStore  # noqa: E402
from redcolor.model import Scan  # noqa: E402
from redcolor.pipeline import run  # noqa: E402
from redcolor.pipeline.runner import Feed  # noqa: E402
from redcolor.prediction.impact import ImpactPredictor  # noqa: E402
from redcolor.prediction.runner import TrackPredict  # noqa: E402
from redcolor.sim.run import SimulationResult, simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402
from redcolor.tracking.frame import build_tracker  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "barrage-10000.toml"
OUT = HERE / "results" / "scale.json"
GOAL_TRACK_MS = 100.0
GOAL_P99_MS = 250.0
PEAK_FRACTION = 0.9


@dataclass
class TimedPredictor:
    """The core's impact predictor with the time spent in it counted (wall and CPU s)."""

    inner: ImpactPredictor
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def predict(self, tracks, rows=None):  # the signature of ImpactPredictor.predict
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            return self.inner.predict(tracks, rows)
        finally:
            self.wall_s += time.perf_counter() - w0
            self.cpu_s += time.process_time() - c0


@dataclass
class Rows:
    """Per-scan figures of the tracking pass."""

    t_s: list[float] = field(default_factory=list)
    plots: list[int] = field(default_factory=list)
    in_air: list[int] = field(default_factory=list)
    tracks: list[int] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    step_cpu_ms: list[float] = field(default_factory=list)
    predict_ms: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in self.__dict__.items()}


def scans_until(sim: SimulationResult, until_s: float | None) -> Iterator[Scan]:
    """The simulation's scans up to ``until_s`` seconds after its start (all if None)."""
    scans = sim.scans
    if until_s is None:
        return scans
    end = sim.start_unix_s + until_s
    return itertools.takewhile(lambda s: s.t <= end, scans)


def n_scans(sim: SimulationResult, until_s: float | None) -> int:
    end = np.inf if until_s is None else sim.start_unix_s + until_s
    return sum(int((sim.scan_times(j) <= end).sum()) for j in range(len(sim.radars)))


def in_air(sim: SimulationResult) -> tuple[np.ndarray, np.ndarray]:
    launch = np.array([r.launch.t for r in sim.truth])
    impact = np.array([r.impact.t for r in sim.truth])
    return np.sort(launch), np.sort(impact)


def track_pass(sim: SimulationResult, until_s: float | None, bar: Progress) -> Rows:
    core = TrackPredict(sim.registrations, ground_alt_m=sim.scenario.ground_alt_m)
    timed = TimedPredictor(core.predictor)
    core.predictor = timed  # type: ignore[assignment]
    launch, impact = in_air(sim)
    rows = Rows()
    task = bar.add_task("tracking + prediction", total=n_scans(sim, until_s), tracks=0)
    for scan in scans_until(sim, until_s):
        p0 = timed.wall_s
        w0, c0 = time.perf_counter(), time.process_time()
        core.step(scan)
        rows.step_ms.append((time.perf_counter() - w0) * 1e3)
        rows.step_cpu_ms.append((time.process_time() - c0) * 1e3)
        rows.predict_ms.append((timed.wall_s - p0) * 1e3)
        tab = core.tracker.tracks
        rows.t_s.append(scan.t - sim.start_unix_s)
        rows.plots.append(len(scan.plots))
        flying = np.searchsorted(launch, scan.t, "right") - np.searchsorted(impact, scan.t, "right")
        rows.in_air.append(int(flying))
        rows.tracks.append(tab.size)
        rows.confirmed.append(int(tab.confirmed.sum()))
        bar.update(task, advance=1, tracks=tab.size)
    return rows


def pipeline_pass(
    sim: SimulationResult, until_s: float | None, bar: Progress
) -> tuple[np.ndarray, np.ndarray, int]:
    total = n_scans(sim, until_s)
    task = bar.add_task("whole pipeline", total=total, tracks=0)
    feed = Feed(
        sim.scenario.name,
        sim.registrations,
        scans_until(sim, until_s),
        sim.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
        total=total,
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteEventStore(Path(tmp) / "alerts.db")
        result = run(feed, store=store, progress=lambda n, _t: bar.update(task, completed=n))
        events = store.last_seq()
        store.close()
    return result.latency_ms, result.track_ms, events


def worker(until_s: float | None) -> int:
    """One side of ``--baseline``: the tracker of whichever ``redcolor`` is on the path, one
    scan per line read from stdin; writes the scan's wall ms, live tracks and table digest."""
    sim = simulate(load_scenario(SCENARIO))
    tracker = build_tracker(sim.registrations, ground_alt_m=sim.scenario.ground_alt_m).tracker
    print("ready", flush=True)
    for scan in scans_until(sim, until_s):
        if not sys.stdin.readline():
            break
        t0 = time.perf_counter()
        tracker.process(scan)
        wall_ms = (time.perf_counter() - t0) * 1e3
        tab = tracker.tracks
        digest = hashlib.sha256()
        for a in (tab.ids, tab.x, tab.P, tab.confirmed, tab.hist, tab.misses, tab.kind):
            digest.update(np.ascontiguousarray(a).tobytes())
        print(f"{wall_ms:.4f} {tab.size} {digest.hexdigest()[:16]}", flush=True)
    return 0


def baseline_pass(
    sim: SimulationResult, until_s: float | None, baseline_src: Path, bar: Progress
) -> dict:
    """Tracker alone, this tree against ``baseline_src``, interleaved scan by scan."""
    srcs = {"new": HERE.parent / "src", "baseline": baseline_src}
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker",
            "--until-s", str(until_s or 0)]  # fmt: skip
    procs = {}
    for k, src in srcs.items():
        env = {**os.environ, "PYTHONPATH": str(src)}
        procs[k] = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
    for p in procs.values():
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    total = n_scans(sim, until_s)
    task = bar.add_task("tracker: new vs baseline", total=total, tracks=0)
    ms: dict[str, list[float]] = {k: [] for k in procs}
    tracks: list[int] = []
    agree = 0
    for i in range(total):
        got = {}
        for k in ("new", "baseline") if i % 2 == 0 else ("baseline", "new"):
            p = procs[k]
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("step\n")
            p.stdin.flush()
            wall, size, digest = p.stdout.readline().split()
            ms[k].append(float(wall))
            got[k] = (int(size), digest)
        tracks.append(got["new"][0])
        agree += got["new"] == got["baseline"]
        bar.update(task, advance=1, tracks=got["new"][0])
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    size = np.asarray(tracks)
    at_peak = size >= PEAK_FRACTION * size.max()
    new, base = np.asarray(ms["new"])[at_peak], np.asarray(ms["baseline"])[at_peak]
    return {
        "baseline_src": str(baseline_src),
        "scans": total,
        "scans_at_peak": int(at_peak.sum()),
        "peak_tracks": int(size.max()),
        "tracker_ms_new": _stats(new),
        "tracker_ms_baseline": _stats(base),
        "ratio_p50": round(float(np.median(base) / np.median(new)), 2),
        "ratio_p99": round(float(np.percentile(base, 99) / np.percentile(new, 99)), 2),
        "scans_with_identical_tables": agree,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {q: round(float(np.percentile(values, p)), 2)
            for q, p in (("p50", 50), ("p99", 99), ("max", 100))}  # fmt: skip


def summarise(rows: Rows, pipeline: tuple[np.ndarray, np.ndarray, int] | None) -> dict:
    a = rows.arrays()
    peak_tracks = int(a["tracks"].max())
    at_peak = a["tracks"] >= PEAK_FRACTION * peak_tracks
    step, pred, t = a["step_ms"][at_peak], a["predict_ms"][at_peak], a["t_s"][at_peak]
    out: dict[str, object] = {
        "scenario": str(SCENARIO.relative_to(HERE.parent)),
        "scans": int(a["tracks"].size),
        "peak_in_air": int(a["in_air"].max()),
        "peak_tracks": peak_tracks,
        "peak_confirmed": int(a["confirmed"].max()),
        "scans_at_peak": int(at_peak.sum()),
        "peak_window_s": [round(float(t.min()), 1), round(float(t.max()), 1)],
        "median_plots_at_peak": float(np.median(a["plots"][at_peak])),
        "track_predict_ms": _stats(step),
        "track_predict_cpu_ms": _stats(a["step_cpu_ms"][at_peak]),
        "tracker_ms": _stats(step - pred),
        "predictor_ms": _stats(pred),
        "goal_track_ms": GOAL_TRACK_MS,
        "tracker_meets_goal": bool(np.median(step - pred) < GOAL_TRACK_MS),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if pipeline is not None:
        latency, track, events = pipeline
        if latency.size == at_peak.size:
            out["pipeline_ms"] = _stats(latency[at_peak])
            out["warn_lifecycle_store_ms"] = _stats((latency - track)[at_peak])
            out["pipeline_meets_goal"] = bool(np.percentile(latency[at_peak], 99) < GOAL_P99_MS)
        out["pipeline_ms_all_scans"] = _stats(latency)
        out["events"] = events
        out["goal_p99_ms"] = GOAL_P99_MS
    return out


def render(console: Console, res: dict) -> None:
    console.print(
        f"{res['scenario']}: {res['scans']} scans; at the peak ({res['scans_at_peak']} scans, "
        f"{res['peak_window_s'][0]}-{res['peak_window_s'][1]} s) {res['peak_in_air']} in the air, "
        f"{res['peak_tracks']} live tracks ({res['peak_confirmed']} confirmed), "
        f"{res['median_plots_at_peak']:.0f} plots a scan"
    )
    table = Table(title="per scan at the peak, ms", title_justify="left")
    for col in ("part", "p50", "p99", "max", "goal"):
        table.add_column(col, justify="left" if col == "part" else "right")
    parts = [
        ("tracking + prediction (wall)", "track_predict_ms", ""),
        ("tracking + prediction (CPU)", "track_predict_cpu_ms", ""),
        ("  tracker", "tracker_ms", f"p50 < {GOAL_TRACK_MS:g}"),
        ("  impact predictor", "predictor_ms", ""),
        ("warning + lifecycle + store", "warn_lifecycle_store_ms", ""),
        ("scan arrival -> events durable", "pipeline_ms", f"p99 < {GOAL_P99_MS:g}"),
    ]
    for label, key, goal in parts:
        if key in res:
            s = res[key]
            table.add_row(label, f"{s['p50']:.1f}", f"{s['p99']:.1f}", f"{s['max']:.1f}", goal)
    console.print(table)
    if "tracker_vs_baseline" in res:
        v = res["tracker_vs_baseline"]
        new, base = v["tracker_ms_new"], v["tracker_ms_baseline"]
        console.print(
            f"tracker alone, interleaved with {v['baseline_src']} ({v['scans_at_peak']} scans at "
            f"the peak of {v['peak_tracks']} tracks): p50 {new['p50']:.1f} ms against "
            f"{base['p50']:.1f} ms ({v['ratio_p50']:.2f}x), p99 {new['p99']:.1f} against "
            f"{base['p99']:.1f} ({v['ratio_p99']:.2f}x); identical tables after "
            f"{v['scans_with_identical_tables']} of {v['scans']} scans"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-s", type=float, default=60.0,
                    help="stop this many seconds after the start (the peak ends ~52 s; "
                         "0 runs the whole scenario)")  # fmt: skip
    ap.add_argument("--no-pipeline", action="store_true", help="skip the whole-pipeline pass")
    ap.add_argument("--baseline", type=Path, metavar="SRC",
                    help="also time the tracker alone against the one in this source tree, "
                         "interleaved (e.g. /work/main/src)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    until = None if args.until_s <= 0 else args.until_s
    if args.worker:
        return worker(until)
    console = Console(stderr=args.json)
    sim = simulate(load_scenario(SCENARIO))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("tracks {task.fields[tracks]}"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        rows = track_pass(sim, until, bar)
        pipeline = None if args.no_pipeline else pipeline_pass(sim, until, bar)
        versus = None if args.baseline is None else baseline_pass(sim, until, args.baseline, bar)
    res = summarise(rows, pipeline)
    if versus is not None:
        res["tracker_vs_baseline"] = versus
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        render(console, res)
        console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
