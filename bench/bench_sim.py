"""Benchmark: the simulator on barrage-3000, and the batched propagation kernel.

1. ``barrage-3000`` end to end on one core: fly all 3,000 projectiles (range tables built
   cold each repeat), then generate and JSON-encode every scan of every radar (in memory).
   Goal: simulated time / wall time > 50. Reported as the median over repeats, by wall time
   and by process CPU time (the machine is shared, so CPU time is the steadier figure).
2. ``propagate_to_ground`` (used by prediction) for 1,000 Grads from mid-flight in one batch,
   against the same states propagated one call per object (baseline, same process, 20 objects
   timed and scaled to 1,000). Ratio = one-at-a-time / batched.

Prints the range table of every projectile too (the issue's closing note asks for it).
Results go to ``bench/results/sim.json``; the range tables are drawn in
``bench/results/sim_range_tables.png``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import msgspec  # noqa: E402
import numpy as np  # noqa: E402

from redcolor.physics.ballistics import EarthModel, FlatTerrain, propagate_to_ground  # noqa: E402
from redcolor.physics.catalogue import CATALOGUE  # noqa: E402
from redcolor.sim.aim import range_table  # noqa: E402
from redcolor.sim.plots import plot_range_tables  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402
from redcolor.sim.summary import range_table_rows  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REPEATS = 3


def barrage_once() -> dict[str, float]:
    range_table.cache_clear()
    scenario = load_scenario("barrage-3000")
    w0, c0 = time.perf_counter(), time.process_time()
    result = simulate(scenario)
    w1 = time.perf_counter()
    enc = msgspec.json.Encoder()
    scans = plots = nbytes = 0
    for scan in result.scans:
        nbytes += len(enc.encode(scan))
        scans += 1
        plots += len(scan.plots)
    w2, c2 = time.perf_counter(), time.process_time()
    simulated = result.end_unix_s - result.start_unix_s
    return {
        "simulated_s": simulated,
        "fly_wall_s": w1 - w0,
        "scan_wall_s": w2 - w1,
        "wall_s": w2 - w0,
        "cpu_s": c2 - c0,
        "ratio_wall": simulated / (w2 - w0),
        "ratio_cpu": simulated / (c2 - c0),
        "scans": scans,
        "plots": plots,
        "feed_mb": nbytes / 1e6,
    }


def propagation() -> dict[str, float]:
    rng = np.random.default_rng(0)
    n = 1_000
    earth = EarthModel(33.0, 35.4, 0.0)
    el = np.radians(rng.uniform(25.0, 45.0, n))
    pos = np.column_stack([np.zeros(n), rng.uniform(2e3, 4e3, n), rng.uniform(500.0, 1e3, n)])
    vel = 650.0 * np.column_stack([np.zeros(n), np.cos(el), np.sin(el)])
    beta = rng.uniform(11e3, 13e3, n)
    terrain = FlatTerrain(0.0)
    batch = []
    for _ in range(5):
        t0 = time.perf_counter()
        propagate_to_ground(pos, vel, beta, earth, terrain, dt_s=0.1)
        batch.append(time.perf_counter() - t0)
    single = []
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(20):
            propagate_to_ground(pos[i : i + 1], vel[i : i + 1], beta[i : i + 1], earth, terrain)
        single.append((time.perf_counter() - t0) * n / 20)
    b, s = statistics.median(batch), statistics.median(single)
    return {"objects": n, "batch_s": b, "one_at_a_time_s": s, "ratio": s / b}


def main() -> None:
    tables = {
        name: range_table_rows(name, 10.0) for name, p in CATALOGUE.items() if p.kind != "drone"
    }
    for name, rows in tables.items():
        print(f"-- {name} (published max {CATALOGUE[name].max_range_m / 1e3:g} km)")
        print("   elev deg  range km  flight s  apogee km  impact m/s")
        for r in rows:
            mark = "*" if r["max_range"] else " "
            print(
                f"   {r['elevation_deg']:7.2f}{mark} {r['range_km']:8.2f} {r['flight_time_s']:9.1f}"
                f" {r['apogee_km']:10.2f} {r['impact_speed_m_s']:11d}"
            )
    runs = [barrage_once() for _ in range(REPEATS)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"barrage-3000: {med['simulated_s']:.0f} s simulated, {med['scans']:.0f} scans, "
        f"{med['plots']:.0f} plots ({med['feed_mb']:.1f} MB of JSON)"
    )
    print(
        f"  median wall {med['wall_s']:.2f} s (fly {med['fly_wall_s']:.2f} s + scans "
        f"{med['scan_wall_s']:.2f} s), CPU {med['cpu_s']:.2f} s over {REPEATS} runs"
    )
    print(
        f"  real-time ratio: {med['ratio_wall']:.0f}x by wall time, {med['ratio_cpu']:.0f}x by "
        f"CPU time (goal > 50x): {'MET' if med['ratio_cpu'] > 50 else 'NOT MET'}"
    )
    prop = propagation()
    print(
        f"propagate_to_ground, {prop['objects']} Grads: batched {prop['batch_s'] * 1e3:.0f} ms,"
        f" one at a time {prop['one_at_a_time_s'] * 1e3:.0f} ms -> {prop['ratio']:.0f}x"
    )
    RESULTS.mkdir(exist_ok=True)
    plot_range_tables(list(tables), RESULTS / "sim_range_tables.png")
    doc = {
        "barrage_3000": {"median": med, "runs": runs, "goal_ratio": 50.0},
        "propagate_to_ground": prop,
        "range_tables": tables,
        "load_average": os.getloadavg(),
    }
    (RESULTS / "sim.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
