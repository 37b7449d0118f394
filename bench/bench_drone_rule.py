"""Benchmark: the warning's drone rule on a mass drone raid, batched against the per-track
reference (one area query per track and scan, ``tests/warning/drone_reference.py``), in the
same process.

1. ``shahed-raid`` (120 Shahed-136 drones) is run through the pipeline with the predicted
   policy up to ``--until-s``; every ``--every``-th scan with settled drone tracks, the
   predictions handed to ``decide()`` are kept.
2. ``PredictedPolicy.decide`` on each kept scan, with the batched drone rule and with the
   per-track reference, interleaved over ``--repeats`` rounds: the median per scan, the ratio,
   and whether the two decided the same (area ids, alert times, until, pre-alert, windows).

Writes ``bench/results/drone_rule.json``. Run: ``python bench/bench_drone_rule.py
[--until-s 1800] [--every 10] [--repeats 3]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from redcolor.geo import load_areas  # noqa: E402
from redcolor.pipeline.runner import feed_of, run  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402
from redcolor.warning.policies import PredictedPolicy  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "warning"))
from drone_reference import drone_decision  # noqa: E402

SCENARIO = "shahed-raid"
OUT = HERE / "results" / "drone_rule.json"


class PerTrackPolicy(PredictedPolicy):
    """The predicted policy with the drone rule queried track by track (the reference)."""

    def _drones(self, preds, now):
        return [d for p in preds if (d := drone_decision(self, p, now)) is not None]


class _Recording(PredictedPolicy):
    def __init__(self, index, every: int) -> None:
        super().__init__(index)
        self.every, self.seen, self.kept = every, 0, []

    def decide(self, predictions, now_unix_s, cues=()):
        if any(p.kind == "drone" and self._settled(p) for p in predictions):
            if self.seen % self.every == 0:
                self.kept.append((list(predictions), now_unix_s, list(cues)))
            self.seen += 1
        return super().decide(predictions, now_unix_s, cues)


def record(until_s: float, every: int) -> list[tuple]:
    """The decide() inputs of every ``every``-th scan with settled drones, up to ``until_s``."""
    sim = simulate(load_scenario(SCENARIO))
    feed = feed_of(sim)
    scans = itertools.takewhile(lambda s: s.t <= sim.start_unix_s + until_s, feed.scans)
    policy = _Recording(load_areas(), every)
    run(dataclasses.replace(feed, scans=scans), policy=policy)
    return policy.kept


def same(a, b) -> bool:
    """Whether two decide() outputs are identical, array by array."""
    if [d.threat_id for d in a] != [d.threat_id for d in b]:
        return False
    for x, y in zip(a, b, strict=True):
        if (x.category, x.t_unix_s, x.until_unix_s, x.pre_alert) != (
            y.category, y.t_unix_s, y.until_unix_s, y.pre_alert,
        ):  # fmt: skip
            return False
        for f in ("area_ids", "alert_at_unix_s", "impact_earliest_unix_s", "impact_latest_unix_s"):
            u, v = getattr(x, f), getattr(y, f)
            if (u is None) != (v is None) or (u is not None and not np.array_equal(u, v, True)):
                return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-s", type=float, default=1800.0, help="run this far into the raid")
    ap.add_argument("--every", type=int, default=10, help="keep every N-th scan with drones")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    args = ap.parse_args()
    kept = record(args.until_s, args.every)
    index = load_areas()
    policies = {"batched": PredictedPolicy(index), "per_track": PerTrackPolicy(index)}
    times: dict[str, list[list[float]]] = {k: [[] for _ in kept] for k in policies}
    identical = True
    for _ in range(args.repeats):
        for i, (preds, now, cues) in enumerate(kept):
            out = {}
            for name, policy in policies.items():
                t0 = time.perf_counter()
                out[name] = policy.decide(preds, now, cues)
                times[name][i].append(time.perf_counter() - t0)
            identical &= same(out["batched"], out["per_track"])
    # per scan, the best of the rounds (the least disturbed by other load); then the median
    per_scan = {k: [min(v) for v in runs] for k, runs in times.items()}
    med = {k: statistics.median(v) for k, v in per_scan.items()}
    drones = [sum(p.kind == "drone" for p in preds) for preds, _, _ in kept]
    res = {
        "scenario": SCENARIO,
        "until_s": args.until_s,
        "scans": len(kept),
        "drone_predictions_per_scan": {"median": statistics.median(drones), "max": max(drones)},
        "repeats": args.repeats,
        "decide_ms_median": {k: round(v * 1e3, 2) for k, v in med.items()},
        "decide_s_total": {k: round(sum(v), 2) for k, v in per_scan.items()},
        "ratio_per_track_over_batched": round(med["per_track"] / med["batched"], 2),
        "identical": bool(identical),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
