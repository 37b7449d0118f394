"""Benchmark of redcolor.sensors.ingest: the cost of turning datagrams into scans, per plot.

The datagrams are those of a simulated scenario (default ``barrage-3000``) as an emitter sends
them: per scan a CAT034 north marker, the CAT048 plots (up to 1,400 bytes a datagram) and a
CAT034 sector crossing, each datagram given to :meth:`Ingest.datagram` at its scan's time. The
baseline, in the same run, is the decoder alone on the same datagrams; the ingest's own share is
the difference. Medians over repeats of process CPU time (the machine is shared: CPU time is the
one-core cost) and wall time, and the p99 over datagrams of one call's wall time. Prints a
table; ``--json`` prints the results as JSON instead. Also writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import msgspec
import numpy as np
from bench_asterix import _timed  # bench/ is on sys.path when run as a script
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redcolor.sensors import asterix as ax
from redcolor.sensors.ingest import Ingest
from redcolor.sensors.registry import Registry, SensorConfig
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

OUT = Path(__file__).resolve().parent / "results" / "ingest.json"
SOURCE = "127.0.0.1"


def _stream(scenario: str) -> tuple[Registry, list[tuple[bytes, float]], int]:
    """The registry of the scenario's radars, (datagram, scan time) in sending order, and the
    number of plots."""
    sim = simulate(load_scenario(scenario))
    regs = [r.registration for r in sim.radars]
    registry = Registry(tuple(
        SensorConfig(**msgspec.structs.asdict(reg), sac=1, sic=i, sources=[SOURCE], simulated=True)
        for i, reg in enumerate(regs)
    ))  # fmt: skip
    sic = {reg.id: i for i, reg in enumerate(regs)}
    alt = {reg.id: reg.alt_m for reg in regs}
    out: list[tuple[bytes, float]] = []
    plots = 0
    for scan in sim.scans:
        s, tod = sic[scan.sensor], ax.tod_of_unix_s(scan.t)
        out.append((ax.encode_service(1, s, "north_marker", tod), scan.t))
        if scan.plots:
            cols = np.array([(p.r, p.az, p.el, np.nan if p.rr is None else p.rr)
                             for p in scan.plots])  # fmt: skip
            for gram in ax.encode_plots(
                1,
                s,
                tod,
                cols[:, 0],
                cols[:, 1],
                cols[:, 2],
                cols[:, 3],
                radar_alt_m=alt[scan.sensor],
                simulated=True,
            ):
                out.append((gram, scan.t))
            plots += len(scan.plots)
        out.append((ax.encode_service(1, s, "sector_crossing", tod), scan.t))
    return registry, out, plots


def _ingest_all(registry: Registry, stream: list[tuple[bytes, float]]) -> int:
    ingest = Ingest(registry)
    scans = 0
    for gram, t in stream:
        scans += len(ingest.datagram(gram, SOURCE, t, t))
    return scans


def _p99_call_s(registry: Registry, stream: list[tuple[bytes, float]]) -> float:
    ingest = Ingest(registry)
    per = []
    for gram, t in stream:
        t0 = time.perf_counter()
        ingest.datagram(gram, SOURCE, t, t)
        per.append(time.perf_counter() - t0)
    return float(np.percentile(per, 99))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="barrage-3000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    console = Console(stderr=args.json)

    with console.status(f"simulating {args.scenario}"):
        registry, stream, n_plots = _stream(args.scenario)
    grams = [g for g, _ in stream]
    n_scans = _ingest_all(registry, stream)
    with Progress(console=console, transient=True) as progress:
        dec = _timed(lambda: [ax.decode(g) for g in grams], args.repeats, progress,
                     "decode alone (baseline)")  # fmt: skip
        ing = _timed(lambda: _ingest_all(registry, stream), args.repeats, progress, "ingest")
    p99_s = _p99_call_s(registry, stream)

    def us(d: dict) -> dict:
        return {"cpu_us_per_plot": d["median_cpu_s"] / n_plots * 1e6,
                "wall_us_per_plot": d["median_wall_s"] / n_plots * 1e6}  # fmt: skip

    results = {
        "scenario": args.scenario,
        "datagrams": len(grams),
        "plots": n_plots,
        "scans": n_scans,
        "decode": us(dec),
        "ingest": us(ing),
        "ingest_own_cpu_us_per_plot": (ing["median_cpu_s"] - dec["median_cpu_s"]) / n_plots * 1e6,
        "ratio_ingest_over_decode": ing["median_cpu_s"] / dec["median_cpu_s"],
        "ingest_plots_per_s_cpu": n_plots / ing["median_cpu_s"],
        "p99_ms_per_datagram": p99_s * 1e3,
        "load_average_1min": os.getloadavg()[0],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(title=f"redcolor.sensors.ingest on {args.scenario}: {len(grams):,} datagrams,"
                        f" {n_plots:,} plots, {n_scans:,} scans (medians)",
                  title_justify="left")  # fmt: skip
    for col in ("measure", "µs/plot (CPU)", "µs/plot (wall)"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for name, d in (("decode alone (baseline)", dec), ("ingest (decode included)", ing)):
        row = us(d)
        table.add_row(name, f"{row['cpu_us_per_plot']:.2f}", f"{row['wall_us_per_plot']:.2f}")
    console.print(table)
    console.print(
        f"ingest / decode {results['ratio_ingest_over_decode']:.2f}x;"
        f" the ingest's own share {results['ingest_own_cpu_us_per_plot']:.2f} µs/plot;"
        f" p99 {results['p99_ms_per_datagram']:.3f} ms a datagram;"
        f" {results['ingest_plots_per_s_cpu']:,.0f} plots/s on one core"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
