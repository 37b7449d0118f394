"""Benchmark of redcolor.sim.emit: can the simulator, as an outside radar, keep up in real time?

The emitter sends a scenario (default ``barrage-3000``: five radars, ~250,000 plots over
~11 minutes) as fast as it can (a speed so large that every scan is due at once) to a UDP
socket on loopback drained by a thread. Per scan: the time to make it (fly the radar, encode
the CAT034/CAT048 datagrams) and to send it; median, p99 and max over scans. Baseline, in the
same run: the simulator making the same scans without encoding or sending (``scans_of``), so
``ratio`` is what the wire adds. ``realtime_factor`` is the scenario's duration over the
emitter's wall time: above 1 it keeps up at ``--speed 1`` with that margin. Prints a table;
``--json`` prints the results as JSON instead. Also writes ``bench/results/emit.json``.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from redcolor.sim.emit import ScanSent, emit, registry_of
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

OUT = Path(__file__).resolve().parent / "results" / "emit.json"
FAST = 1e9
"""An emitter speed at which every scan is due at once: it sends as fast as it can."""


def _drain(sock: socket.socket, done: threading.Event, counts: list[int]) -> None:
    sock.settimeout(0.2)
    while True:
        try:
            sock.recv(65_536)
            counts[0] += 1
        except TimeoutError:
            if done.is_set():
                return


def _stats_ms(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values) * 1e3
    return {
        "median": round(float(np.median(arr)), 4),
        "p99": round(float(np.percentile(arr, 99)), 4),
        "max": round(float(arr.max()), 4),
    }


def bench(scenario: str) -> dict[str, object]:
    sim = simulate(load_scenario(scenario))
    registry = registry_of(sim)
    radars = range(len(sim.radars))

    baseline: list[float] = []
    scans = sim.scans_of(radars)
    while True:
        t0 = time.perf_counter()
        if next(scans, None) is None:
            break
        baseline.append(time.perf_counter() - t0)

    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    rx.bind(("127.0.0.1", 0))
    done, received = threading.Event(), [0]
    drain = threading.Thread(target=_drain, args=(rx, done, received))
    drain.start()
    make: list[float] = []
    send: list[float] = []
    plots: list[int] = []

    def on_scan(s: ScanSent) -> None:
        make.append(s.encode_s)
        send.append(s.send_s)
        plots.append(s.plots)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        summary = emit(sim, registry, f"udp://127.0.0.1:{rx.getsockname()[1]}", speed=FAST,
                       on_scan=on_scan)  # fmt: skip
    finally:
        wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
        done.set()
        drain.join()
        rx.close()
    whole = [m + s for m, s in zip(make, send, strict=True)]
    duration_s = sim.end_unix_s - sim.start_unix_s
    return {
        "scenario": scenario,
        "scans": summary.scans,
        "plots": summary.plots,
        "datagrams": summary.datagrams,
        "received": received[0],
        "max_plots_per_scan": max(plots),
        "make_ms": _stats_ms(make),
        "send_ms": _stats_ms(send),
        "scan_ms": _stats_ms(whole),
        "baseline_scan_ms": _stats_ms(baseline),
        "ratio_median": round(statistics.median(whole) / statistics.median(baseline), 2),
        "wall_s": round(wall_s, 2),
        "cpu_s": round(cpu_s, 2),
        "scenario_s": round(duration_s, 1),
        "realtime_factor": round(duration_s / wall_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="barrage-3000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    doc = bench(args.scenario)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    table = Table(title=f"emit {doc['scenario']}: {doc['scans']} scans, {doc['plots']} plots, "
                  f"{doc['datagrams']} datagrams ({doc['received']} received)",
                  title_justify="left")  # fmt: skip
    for col in ("per scan", "median ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "per scan" else "right")
    rows = (
        ("make (fly + encode)", "make_ms"),
        ("send", "send_ms"),
        ("make + send", "scan_ms"),
        ("baseline: fly only", "baseline_scan_ms"),
    )
    for label, key in rows:
        s = doc[key]
        table.add_row(label, str(s["median"]), str(s["p99"]), str(s["max"]))  # type: ignore[index]
    console = Console()
    console.print(table)
    console.print(
        f"ratio (make + send) / fly, median: {doc['ratio_median']}; whole run {doc['wall_s']} s "
        f"wall ({doc['cpu_s']} s CPU) for {doc['scenario_s']} s of scenario: "
        f"{doc['realtime_factor']} x real time; at most {doc['max_plots_per_scan']} plots a scan"
    )


if __name__ == "__main__":
    main()
