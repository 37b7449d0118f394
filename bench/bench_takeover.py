"""Benchmark of active/standby takeover: from a fault of the leader to the new leader's first
write (its store term taken, ``store.take_term``, before any event it writes).

Two live cores (``serve --sensors ... --ha-lease``, the same registry, no radar sending: the
cores tick) on one store (``--store postgresql://...``, default a SQLite file in a temp dir),
a nats-server of the benchmark's own for the lease; the harness is the chaos tests'
(``tests/ha/cluster.py``). Each run faults whoever leads, waits for the other to take a term,
then starts the faulted core again as the standby. Faults: ``kill -9`` (the lease must expire:
its floor is the TTL, 1.2 s) and a clean stop (SIGTERM: the lease is released at once). Prints
the median, min and max per fault and the ratio of the median to the goal (kill -9: 2 s, clean
stop: 0.5 s); ``--json`` prints JSON instead. Also writes ``bench/results/takeover.json``.
The machine is shared: quote medians.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.ha.cluster import Cluster  # the chaos tests' harness

from redcolor.alerts.store import open_store

OUT = Path(__file__).resolve().parent / "results" / "takeover.json"
FAULTS = {"kill -9": (signal.SIGKILL, 2.0), "clean stop": (signal.SIGTERM, 0.5)}
"""Each fault: the signal, and the goal (s) of the issue."""


def _term(store: str) -> int:
    reader = open_store(store, readonly=True)
    try:
        return reader.term()
    finally:
        reader.close()


def _wait_term(store: str, above: int, timeout_s: float = 15.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _term(store) > above:
            return time.time()
        time.sleep(0.005)
    raise RuntimeError(f"no new term above {above} within {timeout_s} s")


def measure(runs: int, store: str | None) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cluster = Cluster(root, store or str(root / "core.db"))
        try:
            cluster.start_nats()
            cluster.prepare(["core-a", "core-b"])
            for core in cluster.cores:
                cluster.start_core(core)
            cluster.wait_up()
            cluster.wait_leader(30)
            figures: dict[str, list[float]] = {name: [] for name in FAULTS}
            for _ in range(runs):
                for name, (sig, _goal) in FAULTS.items():
                    leader = cluster.wait_leader(30)
                    term = _term(cluster.store)
                    at = leader.signal(sig)
                    figures[name].append(_wait_term(cluster.store, term) - at)
                    assert leader.proc is not None
                    leader.proc.wait(10)
                    cluster.start_core(leader)  # back as the standby
                    cluster.wait_up()
            return figures
        finally:
            cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each fault.")
    parser.add_argument("--store", help="postgresql://... URL of an empty database to use.")
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    args = parser.parse_args()
    figures = measure(args.runs, args.store)
    result = {
        name: {
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
            "goal_s": FAULTS[name][1],
            "median_over_goal": round(statistics.median(times) / FAULTS[name][1], 2),
            "runs": [round(t, 3) for t in times],
        }
        for name, times in figures.items()
    }
    doc = {"store": "postgresql" if args.store else "sqlite", "faults": result}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    table = Table(title=f"takeover: fault -> new leader's first write ({doc['store']} store)")
    for column in ("fault", "runs", "median s", "min s", "max s", "goal s", "median/goal"):
        table.add_column(column, justify="right")
    for name, row in result.items():
        table.add_row(
            name,
            str(len(row["runs"])),
            f"{row['median_s']:.3f}",
            f"{row['min_s']:.3f}",
            f"{row['max_s']:.3f}",
            f"{row['goal_s']:.1f}",
            f"{row['median_over_goal']:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
