"""Benchmark: one impact prediction of every confirmed track at the 10,000-track peak (issue 12),
the compiled coast kernel against the numpy reference, in the same process.

1. ``bench/scenarios/barrage-10000.toml`` is simulated and tracked (tracker only) up to
   ``--until-s``; the snapshot with the most confirmed tracks is kept.
2. ``ImpactPredictor.predict`` of that snapshot (15 sigma points a track flown to the ground),
   with ``propagate_to_ground`` the kernel (on all cores) or the numpy lockstep reference
   ``propagate_to_ground_numpy``, interleaved over ``--repeats`` rounds: medians, ratio, and the
   largest difference between the two sets of predictions (metres, seconds).
3. The kernel's first call in a fresh process, with an empty numba cache (compile) and again
   with the cache filled.

Writes ``bench/results/predict.json``. Run: ``python bench/bench_predict.py [--repeats 5]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

from redcolor.geo.frame import LocalFrame  # noqa: E402
from redcolor.physics import ballistics  # noqa: E402
from redcolor.prediction import impact  # noqa: E402
from redcolor.prediction.impact import ImpactPrediction, ImpactPredictor  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402
from redcolor.tracking.frame import build_tracker  # noqa: E402
from redcolor.tracking.state import TrackSnapshot  # noqa: E402

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "barrage-10000.toml"
OUT = HERE / "results" / "predict.json"
FLIGHTS = {"kernel": ballistics.propagate_to_ground,
           "numpy": ballistics.propagate_to_ground_numpy}  # fmt: skip
FIRST_CALL = """
import time
t0 = time.perf_counter()
import numpy as np
from redcolor.physics.ballistics import EarthModel, propagate_to_ground
t1 = time.perf_counter()
propagate_to_ground(np.array([[0.0, 0.0, 1e3]]), np.array([[50.0, 0.0, 0.0]]), 5e3,
                    EarthModel(31.5, 34.5))
print(t1 - t0, time.perf_counter() - t1)
"""


def peak_snapshot(until_s: float) -> tuple[TrackSnapshot, ImpactPredictor]:
    """The tracker's snapshot with the most confirmed tracks up to ``until_s``."""
    sim = simulate(load_scenario(SCENARIO))
    ground = sim.scenario.ground_alt_m
    setup = build_tracker(sim.registrations, ground_alt_m=ground)
    best: TrackSnapshot | None = None
    end = sim.start_unix_s + until_s
    for scan in sim.scans:
        if scan.t > end:
            break
        setup.tracker.process(scan)
        if best is None or int(setup.tracker.tracks.confirmed.sum()) > len(best):
            best = setup.tracker.snapshot()
    assert best is not None
    return best, ImpactPredictor(setup.frame, setup.earth, ground)


def predict_with(flight: str, predictor: ImpactPredictor, snap: TrackSnapshot) -> tuple:
    """Time one full prediction with ``propagate_to_ground`` swapped for ``FLIGHTS[flight]``."""
    impact.propagate_to_ground = FLIGHTS[flight]
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        preds = predictor.predict(snap)
        return time.perf_counter() - w0, time.process_time() - c0, preds
    finally:
        impact.propagate_to_ground = FLIGHTS["kernel"]


def largest_difference(a: list[ImpactPrediction], b: list[ImpactPrediction]) -> dict[str, float]:
    """Largest distance between the mean impact points (m) and impact times (s) of a and b."""
    assert [p.track_id for p in a] == [p.track_id for p in b]
    frame = LocalFrame(a[0].impact_lat, a[0].impact_lon)
    xa, ya = frame.project(np.array([p.impact_lat for p in a]), np.array([p.impact_lon for p in a]))
    xb, yb = frame.project(np.array([p.impact_lat for p in b]), np.array([p.impact_lon for p in b]))
    dt = np.array([p.impact_t_unix_s - q.impact_t_unix_s for p, q in zip(a, b, strict=True)])
    dc = max(float(np.abs(p.cov_en_m2 - q.cov_en_m2).max()) for p, q in zip(a, b, strict=True))
    return {"impact_m": float(np.hypot(xa - xb, ya - yb).max()),
            "impact_t_s": float(np.abs(dt).max()), "cov_m2": dc}  # fmt: skip


def first_calls() -> dict[str, float]:
    """Import and first-call seconds of the kernel in fresh processes: cold, then cached."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "cached"):
            res = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                                 capture_output=True, text=True)  # fmt: skip
            imp_s, call_s = map(float, res.stdout.split())
            out[f"{label}_import_s"], out[f"{label}_first_call_s"] = imp_s, call_s
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-s", type=float, default=45.0,
                    help="track this far into the scenario (the peak is ~27-52 s)")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    args = ap.parse_args()
    snap, predictor = peak_snapshot(args.until_s)
    predict_with("kernel", predictor, snap)  # compile or load the kernel outside the timing
    wall: dict[str, list[float]] = {k: [] for k in FLIGHTS}
    cpu: dict[str, list[float]] = {k: [] for k in FLIGHTS}
    preds: dict[str, list[ImpactPrediction]] = {}
    for _ in range(args.repeats):
        for flight in FLIGHTS:
            w, c, preds[flight] = predict_with(flight, predictor, snap)
            wall[flight].append(w)
            cpu[flight].append(c)
    med = {k: statistics.median(v) for k, v in wall.items()}
    res = {
        "scenario": str(SCENARIO.relative_to(HERE.parent)),
        "tracks": len(snap),
        "predictions": len(preds["kernel"]),
        "repeats": args.repeats,
        "kernel_threads": numba.get_num_threads(),
        "wall_ms_median": {k: round(v * 1e3, 1) for k, v in med.items()},
        "cpu_ms_median": {k: round(statistics.median(v) * 1e3, 1) for k, v in cpu.items()},
        "wall_ms_all": {k: [round(x * 1e3, 1) for x in v] for k, v in wall.items()},
        "ratio_numpy_over_kernel": round(med["numpy"] / med["kernel"], 2),
        "largest_difference": largest_difference(preds["kernel"], preds["numpy"]),
        "first_call": first_calls(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
