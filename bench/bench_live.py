"""Issue 12 latency: a datagram's arrival at the core's socket to its alert events durable.

Real loopback UDP: the emitter (:func:`redcolor.sim.emit.emit`, at speed 1, in a process of its
own, as a radar is another machine) -> the core's socket (:func:`redcolor.sensors.udp.bind_udp`
/ ``receive`` in an asyncio loop) -> :class:`~redcolor.sensors.ingest.Ingest` ->
:class:`~redcolor.sensors.live.LiveFeed` -> the pipeline runner in its thread -> a SQLite file
store. The latency per scan is the runner's
(``Received.arrival_mono_s`` to the first lane's events durable), with the tracker's share
(``track_ms``), and the ingest's cost per accepted plot (decode, checks and scan assembly, in
the receiver's thread). Plots sent and accepted are compared: a receive buffer that overflows
shows as plots lost. Goal: p99 < 250 ms.

    PYTHONPATH=src python bench/bench_live.py [--scenario NAME ...] [--json]

Results go to ``bench/results/live.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from redcolor.alerts.store import SQLiteEventStore
from redcolor.pipeline.runner import Feed, run
from redcolor.sensors.ingest import Ingest
from redcolor.sensors.live import LiveFeed
from redcolor.sensors.udp import bind_udp, receive
from redcolor.sim.emit import emit, registry_of
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

RESULTS = Path(__file__).resolve().parent / "results" / "live.json"
GOAL_P99_MS = 250.0


class TimedIngest(Ingest):
    """The ingest with the time spent taking datagrams counted (s)."""

    spent_s = 0.0

    def datagram(self, data, source_ip, now_unix_s, arrival_mono_s):  # Ingest.datagram's
        t0 = time.perf_counter()
        try:
            return super().datagram(data, source_ip, now_unix_s, arrival_mono_s)
        finally:
            self.spent_s += time.perf_counter() - t0


def _emit_process(name: str, url: str, start_unix_s: float, out) -> None:
    """The emitter's process: it flies the scenario itself (deterministic: the same scans)."""
    sim = simulate(load_scenario(name))
    summary = emit(sim, registry_of(sim), url, start_unix_s=start_unix_s)
    out.put((summary.scans, summary.plots, summary.datagrams, summary.max_late_s))


def bench(name: str) -> dict[str, Any]:
    """One scenario over loopback UDP at speed 1 (module docstring)."""
    t0 = time.perf_counter()
    sim = simulate(load_scenario(name))
    simulated_s = time.perf_counter() - t0
    registry = registry_of(sim)
    sock = bind_udp("udp://127.0.0.1:0")
    port = sock.getsockname()[1]
    ingest = TimedIngest(registry)
    live = LiveFeed()
    loop = asyncio.new_event_loop()
    receiver = loop.create_task(receive(sock, ingest, live))

    def serve_loop() -> None:
        try:
            loop.run_until_complete(receiver)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    loop_thread = threading.Thread(target=serve_loop, daemon=True)
    loop_thread.start()
    # time for the child to start and fly the scenario before its first scan is due
    start_unix_s = time.time() + 5.0 + 2.0 * simulated_s
    emitted: dict[str, Any] = {}
    spawn = multiprocessing.get_context("spawn")  # no fork: numba's OpenMP is not fork-safe
    results = spawn.Queue()
    child = spawn.Process(
        target=_emit_process,
        args=(name, f"udp://127.0.0.1:{port}", start_unix_s, results),
    )

    def emitter() -> None:
        child.start()
        emitted["summary"] = results.get()
        child.join()
        time.sleep(2.0)  # the last scans' timeouts and ticks
        live.close()

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteEventStore(Path(tmp) / "live.db")
        feed = Feed(
            name,
            sim.registrations,
            live,
            start_unix_s,
            ground_alt_m=sim.scenario.ground_alt_m,
        )
        sender = threading.Thread(target=emitter)
        sender.start()
        result = run(feed, policy="predicted", store=store)
        sender.join()
        store.close()
    loop.call_soon_threadsafe(receiver.cancel)
    loop_thread.join()
    lat, trk = result.latency_ms, result.track_ms
    scans_sent, plots_sent, datagrams, max_late_s = emitted["summary"]
    counts = ingest.counts
    accepted = sum(n for (_, what), n in counts.plots.items() if what == "accepted")
    return {
        "scenario": name,
        "scans": int(lat.size),
        "scans_sent": scans_sent,
        "datagrams": datagrams,
        "plots_sent": plots_sent,
        "plots_accepted": accepted,
        "ingest_us_per_plot": round(ingest.spent_s / max(accepted, 1) * 1e6, 3),
        "p50_ms": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 3) if lat.size else None,
        "max_ms": round(float(lat.max()), 3) if lat.size else None,
        "track_p50_ms": round(float(np.percentile(trk, 50)), 3) if trk.size else None,
        "track_p99_ms": round(float(np.percentile(trk, 99)), 3) if trk.size else None,
        "emitter_max_late_ms": round(max_late_s * 1e3, 3),
        "goal_p99_ms": GOAL_P99_MS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="Scenario (repeatable).")
    parser.add_argument("--json", action="store_true", help="Print JSON for machines.")
    args = parser.parse_args(argv)
    rows = [bench(n) for n in args.scenario or ["meron-2024-01-06"]]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="arrival at the socket -> events durable (speed 1, loopback UDP)")
    cols = ("scenario", "scans", "p50 ms", "p99 ms", "max ms", "track p50", "track p99",
            "ingest µs/plot", "plots lost")  # fmt: skip
    for col in cols:
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for r in rows:
        table.add_row(
            r["scenario"],
            str(r["scans"]),
            *(str(r[k]) for k in ("p50_ms", "p99_ms", "max_ms", "track_p50_ms", "track_p99_ms",
                                  "ingest_us_per_plot")),
            str(r["plots_sent"] - r["plots_accepted"]),
        )  # fmt: skip
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
