"""Benchmark of redcolor.sensors.asterix: decode and encode cost per plot, against libasterix.

The datagrams are those of a simulated scenario (default ``barrage-3000``: every scan of every
radar, encoded as the emitter sends them, up to 1,400 bytes each). Ours decodes all of them;
libasterix (the reference, pure Python) decodes and encodes a sample of them, since it is two
orders of magnitude slower. Per plot: the median over repeats of (time of the pass / plots in
it), and the p99 over datagrams of one datagram's time per plot; ratio = libasterix / ours.
Wall and process CPU times (the machine is shared: CPU time is the one-core cost). Prints a
table; ``--json`` prints the results as JSON instead. Also writes ``bench/results/asterix.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import asterix.generated as gen
import numpy as np
from asterix import base
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redcolor.sensors import asterix as ax
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

OUT = Path(__file__).resolve().parent / "results" / "asterix.json"
C48 = gen.Cat_048_1_32


def _scan_columns(scenario: str) -> list[tuple[float, dict[str, np.ndarray], float]]:
    """(time of day, plot columns, radar altitude) of every non-empty scan of a scenario."""
    sim = simulate(load_scenario(scenario))
    alt = {r.registration.id: r.registration.alt_m for r in sim.radars}
    out = []
    for scan in sim.scans:
        if not scan.plots:
            continue
        cols = {
            "range_m": np.array([p.r for p in scan.plots]),
            "azimuth_rad": np.array([p.az for p in scan.plots]),
            "elevation_rad": np.array([p.el for p in scan.plots]),
            "range_rate_m_s": np.array([math.nan if p.rr is None else p.rr for p in scan.plots]),
        }
        out.append((ax.tod_of_unix_s(scan.t), cols, alt[scan.sensor]))
    return out


def _encode_ours(scans) -> list[bytes]:
    grams: list[bytes] = []
    for tod, cols, alt in scans:
        grams += ax.encode_plots(1, 1, tod, **cols, radar_alt_m=alt, simulated=True)
    return grams


def _decode_lib(gram: bytes) -> int:
    n = 0
    for db in base.RawDatablock.parse(base.Bits.from_bytes(gram)):
        recs = C48.cv_uap.parse(db.get_raw_records())
        for rec in recs:  # read the fields ours reads
            i040 = rec.get_item("040").variation
            i040.get_item("RHO").variation.content.as_quantity("NM")
            i040.get_item("THETA").variation.content.as_quantity("°")
            rec.get_item("140").variation.content.as_quantity("s")
            n += 1
    return n


def _encode_lib(scans) -> None:
    for tod, cols, _ in scans:
        recs = []
        for r, az in zip(cols["range_m"], cols["azimuth_rad"], strict=True):
            recs.append(C48.cv_record.create({
                "010": (("SAC", 1), ("SIC", 1)), "140": (tod, "s"), "020": (0x18,),
                "040": (("RHO", (float(r) / 1852.0, "NM")), ("THETA", (math.degrees(az), "°"))),
                "110": (0, (1000.0, "ft")),
            }))  # fmt: skip
        C48.create(recs).unparse().to_bytes()


def _timed(fn: Callable[[], object], repeats: int, progress: Progress, name: str) -> dict:
    task = progress.add_task(name, total=repeats)
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        progress.advance(task)
    return {"median_wall_s": statistics.median(wall), "median_cpu_s": statistics.median(cpu)}


def _p99_per_plot(decode: Callable[[bytes], object], grams: list[bytes], plots: list[int]) -> float:
    per = []
    for g, n in zip(grams, plots, strict=True):
        t0 = time.perf_counter()
        decode(g)
        per.append((time.perf_counter() - t0) / n)
    return float(np.percentile(per, 99))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="barrage-3000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--lib-datagrams",
        type=int,
        default=60,
        help="datagrams libasterix decodes (a sample: it is slow)",
    )
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    console = Console(stderr=args.json)

    with console.status(f"simulating {args.scenario}"):
        scans = _scan_columns(args.scenario)
    grams = _encode_ours(scans)
    plots = [len(ax.decode(g).plots) for g in grams]
    n_plots = sum(plots)
    step = max(1, len(grams) // args.lib_datagrams)
    sample = grams[::step][: args.lib_datagrams]
    sample_plots = [plots[i] for i in range(0, len(grams), step)][: args.lib_datagrams]
    lib_scans = scans[:: max(1, len(scans) // 20)][:20]
    lib_scan_plots = sum(len(c["range_m"]) for _, c, _ in lib_scans)

    with Progress(console=console, transient=True) as progress:
        dec_ours = _timed(lambda: [ax.decode(g) for g in grams], args.repeats, progress,
                          "decode, ours")  # fmt: skip
        dec_ours_sample = _timed(lambda: [ax.decode(g) for g in sample], args.repeats, progress,
                                 "decode, ours (sample)")  # fmt: skip
        dec_lib = _timed(lambda: [_decode_lib(g) for g in sample], 3, progress,
                         "decode, libasterix (sample)")  # fmt: skip
        enc_ours = _timed(lambda: _encode_ours(scans), args.repeats, progress, "encode, ours")
        enc_lib = _timed(lambda: _encode_lib(lib_scans), 3, progress, "encode, libasterix")
        p99_ours = _p99_per_plot(ax.decode, grams, plots)
        p99_lib = _p99_per_plot(_decode_lib, sample, sample_plots)

    n_sample = sum(sample_plots)

    def us(d: dict, n: int) -> dict:
        return {"wall_us_per_plot": d["median_wall_s"] / n * 1e6,
                "cpu_us_per_plot": d["median_cpu_s"] / n * 1e6, "plots": n}  # fmt: skip

    rows = {
        "decode, ours (all datagrams)": us(dec_ours, n_plots) | {"p99_us_per_plot": p99_ours * 1e6},
        "decode, ours (sample)": us(dec_ours_sample, n_sample),
        "decode, libasterix (sample)": us(dec_lib, n_sample) | {"p99_us_per_plot": p99_lib * 1e6},
        "encode, ours (all scans)": us(enc_ours, n_plots),
        "encode, libasterix (sample scans)": us(enc_lib, lib_scan_plots),
    }
    results = {
        "scenario": args.scenario,
        "datagrams": len(grams),
        "plots": n_plots,
        "bytes_per_plot": sum(map(len, grams)) / n_plots,
        "decode_ratio_libasterix_over_ours": dec_lib["median_cpu_s"] / dec_ours_sample[
            "median_cpu_s"],
        "encode_ratio_libasterix_over_ours": rows["encode, libasterix (sample scans)"][
            "cpu_us_per_plot"] / rows["encode, ours (all scans)"]["cpu_us_per_plot"],
        "ours_decode_plots_per_s_cpu": n_plots / dec_ours["median_cpu_s"],
        "load_average_1min": os.getloadavg()[0],
        "measures": rows,
    }  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table(title=f"redcolor.sensors.asterix on {args.scenario} (medians)",
                  title_justify="left")  # fmt: skip
    for col in ("measure", "plots", "µs/plot (wall)", "µs/plot (CPU)", "p99 µs/plot"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for name, r in rows.items():
        p99 = r.get("p99_us_per_plot")
        table.add_row(
            name,
            f"{r['plots']:,}",
            f"{r['wall_us_per_plot']:.2f}",
            f"{r['cpu_us_per_plot']:.2f}",
            "" if p99 is None else f"{p99:.2f}",
        )
    console.print(table)
    console.print(
        f"{len(grams):,} datagrams, {n_plots:,} plots, {results['bytes_per_plot']:.1f} bytes per"
        f" plot; ours decodes {results['ours_decode_plots_per_s_cpu']:,.0f} plots/s (CPU);"
        f" libasterix / ours: decode {results['decode_ratio_libasterix_over_ours']:.0f}x,"
        f" encode {results['encode_ratio_libasterix_over_ours']:.0f}x;"
        f" load average {results['load_average_1min']:.1f} on {os.cpu_count()} cores."
    )
    console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
