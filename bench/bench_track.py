"""Benchmark: tracker wall time per scan on barrage-3000, and a Stone Soup baseline.

1. ``barrage-3000`` as the scenario defines it, every scan of every radar through the tracker
   (no prediction): per-scan wall time against the number of live tracks; the median over the
   scans at the peak (>= 90% of the maximum number of tracks).
2. The same salvos with every launch moved into the first few seconds, so that all 3,000
   projectiles fly at once (the goal: < 100 ms per scan at 3,000 tracks, one core).
3. Baseline: the plots of one radar inside an azimuth sector (a few hundred tracks) through
   our tracker and through a Stone Soup ``MultiTargetTracker`` (EKF, constant velocity,
   k-d tree GNN with 2-D assignment, multi-measurement initiation) in the same process. Stone
   Soup gets the plots as range/bearing/elevation from the radar position in the common frame.
   Ratio = Stone Soup median / ours median per scan.

Times are per scan, wall clock and process CPU time (the machine is shared: CPU time is the
one-core cost); the Stone Soup ratio uses CPU time. Results go to
``bench/results/track.json``. One core: BLAS threads are set to 1.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import dataclasses  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from redcolor.model import Scan  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402
from redcolor.tracking.frame import build_tracker  # noqa: E402
from redcolor.tracking.measurement import RadarPose, enu_from_polar  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run_ours(registrations, scans, ground_alt_m):
    """Per-scan (live tracks, confirmed, plots, wall s, CPU s) through our tracker."""
    tracker = build_tracker(registrations, ground_alt_m=ground_alt_m).tracker
    rows = []
    for scan in scans:
        t0, c0 = time.perf_counter(), time.process_time()
        tracker.process(scan)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rows.append(
            (tracker.tracks.size, int(tracker.tracks.confirmed.sum()), len(scan.plots), dt, dc)
        )
    return rows, tracker


def peak_median(rows):
    """Peak live tracks; median wall ms, p95 wall ms and median CPU ms over the scans with
    at least 90% of the peak."""
    peak = max(r[0] for r in rows)
    wall = [r[3] for r in rows if r[0] >= 0.9 * peak]
    cpu = [r[4] for r in rows if r[0] >= 0.9 * peak]
    return (peak, float(np.median(wall)) * 1e3, float(np.percentile(wall, 95)) * 1e3,
            float(np.median(cpu)) * 1e3)  # fmt: skip


def sector_scans(scans, pose: RadarPose, az_lo: float, az_hi: float):
    out = []
    for s in scans:
        if s.sensor != pose.id:
            continue
        plots = [p for p in s.plots if az_lo <= p.az < az_hi]
        out.append(Scan(sensor=s.sensor, t=s.t, plots=plots))
    return out


def run_stonesoup(scans, pose: RadarPose):
    """Per-scan (tracks, CPU seconds) through a Stone Soup tracker on the same plots."""
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    sig_a = pose.angle_sigma_rad
    model = CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=np.diag([sig_a**2, sig_a**2, pose.range_sigma_m**2]),
        translation_offset=pose.pos_enu_m.reshape(3, 1),
    )
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(30.0)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(model)
    hyp = DistanceHypothesiser(predictor, updater, Mahalanobis(), missed_distance=4.5)
    assoc = DetectionKDTreeGNN2D(hyp, predictor, updater, max_distance=2000.0)
    deleter = UpdateTimeStepsDeleter(3)
    prior = GaussianState(np.zeros((6, 1)), np.diag([0, 400.0, 0, 400.0, 0, 400.0]) ** 2)
    init_assoc = DetectionKDTreeGNN2D(hyp, predictor, updater, max_distance=2000.0)
    initiator = MultiMeasurementInitiator(prior, UpdateTimeStepsDeleter(2), init_assoc,
                                          updater, model, min_points=3)  # fmt: skip
    t_epoch = datetime.datetime(2024, 1, 6, 6, 0, 0)

    def detector():
        for s in scans:
            ts = t_epoch + datetime.timedelta(seconds=s.t - scans[0].t)
            z = np.array([[p.r, p.az, p.el] for p in s.plots]).reshape(-1, 3)
            pos, _ = enu_from_polar(z, pose)
            d = pos - pose.pos_enu_m
            rng = np.linalg.norm(d, axis=1)
            bearing = np.arctan2(d[:, 1], d[:, 0])
            elev = np.arcsin(d[:, 2] / rng)
            dets = {
                Detection(np.array([[e], [b], [r]]), timestamp=ts, measurement_model=model)
                for e, b, r in zip(elev, bearing, rng, strict=True)
            }
            yield ts, dets

    tracker = MultiTargetTracker(initiator, deleter, detector(), assoc, updater)
    rows = []
    it = iter(tracker)
    while True:
        c0 = time.process_time()
        try:
            _, tracks = next(it)
        except StopIteration:
            break
        rows.append((len(tracks), time.process_time() - c0))
    return rows


def compressed(scenario):
    """The scenario with every salvo launched within its first 5 s."""
    salvos = tuple(dataclasses.replace(s, at_s=0.0, over_s=min(s.over_s, 5.0))
                   for s in scenario.salvos)  # fmt: skip
    return dataclasses.replace(scenario, salvos=salvos)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    out: dict[str, object] = {}
    scenario = load_scenario("barrage-3000")
    for label, scen in (
        ("barrage-3000", scenario),
        ("barrage-3000-simultaneous", compressed(scenario)),
    ):
        t0 = time.perf_counter()
        sim = simulate(scen)
        sim_s = time.perf_counter() - t0
        rows, tracker = run_ours(sim.registrations, sim.scans, scen.ground_alt_m)
        peak, med_ms, p95_ms, cpu_ms = peak_median(rows)
        at_3000 = [r[4] for r in rows if r[1] >= 3000]
        out[label] = {
            "scans": len(rows),
            "peak_tracks": peak,
            "peak_confirmed": max(r[1] for r in rows),
            "median_ms_at_peak": med_ms,
            "p95_ms_at_peak": p95_ms,
            "median_cpu_ms_at_peak": cpu_ms,
            "scans_with_3000_confirmed": len(at_3000),
            "median_cpu_ms_at_3000_confirmed": float(np.median(at_3000)) * 1e3 if at_3000 else None,
            "load_average_1min": os.getloadavg()[0],
            "median_ms_all": float(np.median([r[3] for r in rows])) * 1e3,
            "rejected": dict(tracker.rejected),
            "simulate_s": sim_s,
        }
        print(f"{label}: {len(rows)} scans, peak {peak} tracks: median {med_ms:.1f} ms/scan wall"
              f" (p95 {p95_ms:.1f}), {cpu_ms:.1f} ms CPU, at the peak;"
              f" load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        if label == "barrage-3000":
            pose = next(iter(tracker.poses.values()))
            subset = sector_scans(sim.scans, pose, 0.0, 2 * np.pi)
            n_plots = np.array([len(s.plots) for s in subset])
            # narrow the sector until a few hundred plots per scan at most
            width = 2 * np.pi * min(1.0, 250.0 / max(1.0, float(n_plots.max())))
            subset = sector_scans(sim.scans, pose, 0.0, width)[:150]
            ours, _ = run_ours([r for r in sim.registrations if r.id == pose.id], subset,
                               scen.ground_alt_m)  # fmt: skip
            ss = run_stonesoup(subset, pose)
            ours_ms = float(np.median([r[4] for r in ours])) * 1e3
            ss_ms = float(np.median([r[1] for r in ss])) * 1e3
            out["stonesoup_subset"] = {
                "scans": len(subset),
                "sector_rad": width,
                "max_tracks_ours": max(r[0] for r in ours),
                "max_tracks_stonesoup": max(r[0] for r in ss),
                "ours_median_ms": ours_ms,
                "stonesoup_median_ms": ss_ms,
                "ratio_stonesoup_over_ours": ss_ms / ours_ms,
            }
            print(f"subset ({len(subset)} scans of {pose.id}, sector {np.degrees(width):.0f} deg):"
                  f" ours {ours_ms:.2f} ms CPU/scan, Stone Soup {ss_ms:.1f} ms CPU/scan,"
                  f" ratio {ss_ms / ours_ms:.0f}x")  # fmt: skip
    (RESULTS / "track.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
