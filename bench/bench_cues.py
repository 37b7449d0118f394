"""Benchmark: the launch cues of a scan, the reach flown for the cues a policy can use
(``LaunchCues.select``, what the pipeline asks for) against every cue the guard passes (the
computation before issue 16's saving), in the same process on the same tracker states.

``barrage-3000`` (3,000 rockets and mortars in 10 minutes, five radars) is tracked up to
``--until-s``; after each scan, :func:`redcolor.prediction.launch.launch_cues` is called
twice on the tracker's state, once asking for every cue (``all``) and once for the cues of
the tentative tracks and of the tracks the predictor repredicted in the scan (``select``,
what ``redcolor.pipeline.runner`` passes a policy), in alternating order. It prints the
median per scan with a cue, the totals, the cues flown per scan, the ratio, and whether every
selected cue equals its full computation (every field, bit for bit).

Writes ``bench/results/cues.json``. Run: ``python bench/bench_cues.py [--until-s 300]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from redcolor.prediction.launch import launch_cues  # noqa: E402
from redcolor.prediction.runner import TrackPredict  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402

SCENARIO = "barrage-3000"
OUT = Path(__file__).resolve().parent / "results" / "cues.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--until-s", type=float, default=300.0, help="track this far into the run")
    args = ap.parse_args()
    sim = simulate(load_scenario(SCENARIO))
    ground = sim.scenario.ground_alt_m
    core = TrackPredict(sim.registrations, ground_alt_m=ground)
    end = sim.start_unix_s + args.until_s
    times: dict[str, list[float]] = {"all": [], "select": []}
    flown: dict[str, list[int]] = {"all": [], "select": []}
    identical = True
    latest: dict[str, object] = {}
    for n, scan in enumerate(itertools.takewhile(lambda s: s.t <= end, sim.scans)):
        out = core.step(scan)
        fresh = {p.track_id for p in out.predictions if latest.get(p.track_id) is not p}
        latest = {p.track_id: p for p in out.predictions}
        got = {}
        for name in ("all", "select") if n % 2 else ("select", "all"):
            t0 = time.perf_counter()
            cues = launch_cues(core.setup, ground, core.cue_settings)
            got[name] = cues.all() if name == "all" else cues.select(fresh)
            times[name].append(time.perf_counter() - t0)
        if not got["all"]:
            times["all"].pop()
            times["select"].pop()
            continue
        flown["all"].append(len(got["all"]))
        flown["select"].append(len(got["select"]))
        wanted = [c for c in got["all"] if not c.confirmed or c.track_id in fresh]
        identical &= [repr(c) for c in wanted] == [repr(c) for c in got["select"]]
    med = {k: statistics.median(v) for k, v in times.items()}
    res = {
        "scenario": SCENARIO,
        "until_s": args.until_s,
        "scans_with_cues": len(times["all"]),
        "cues_per_scan_median": {k: statistics.median(v) for k, v in flown.items()},
        "cues_total": {k: sum(v) for k, v in flown.items()},
        "ms_per_scan_median": {k: round(v * 1e3, 2) for k, v in med.items()},
        "s_total": {k: round(sum(v), 2) for k, v in times.items()},
        "ratio_all_over_select": round(med["all"] / med["select"], 2),
        "identical": bool(identical),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
