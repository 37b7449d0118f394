"""Benchmark of the event store: fenced appends per second, SQLite against PostgreSQL.

Each round opens a fresh store of each backend (a SQLite file in a temporary directory,
``synchronous=FULL``; a fresh database on the PostgreSQL at ``--pg``, default the machine's
127.0.0.1:5432), takes term 1 (so every append is checked against the store's term inside its
transaction, as a leader's are), and appends ``--appends`` events one transaction each: the
pipeline's shape, one event per step. Per backend: appends per second and the p50/p99 latency of
one append, the median over ``--rounds`` rounds. ``ratio`` is PostgreSQL's rate over SQLite's
in the same run. Prints a table; ``--json`` prints the results as JSON instead. Also writes
``bench/results/store.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np
import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redcolor.alerts.store import EventStore, open_store
from redcolor.model import AlertArea, AlertEvent

OUT = Path(__file__).resolve().parent / "results" / "store.json"


def _event(n: int) -> AlertEvent:
    return AlertEvent(
        f"bench-{n}",
        0,
        "missiles",
        "alert",
        tuple(AlertArea(a, 15) for a in range(100 + n % 5, 106 + n % 5)),
        1.7e9 + n,
        1.7e9 + n + 600,
        ("track:7",),
        {"en": "Enter a protected space and stay 10 minutes"},
    )


@contextmanager
def sqlite_target() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="redcolor-bench-") as where:
        yield str(Path(where) / "alerts.db")


def pg_target(server: str) -> Callable[[], AbstractContextManager[str]]:
    @contextmanager
    def target() -> Iterator[str]:
        name = f"redcolor_bench_{secrets.token_hex(4)}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{server}/{name}"
        finally:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")

    return target


def one_round(store: EventStore, appends: int) -> dict[str, float]:
    store.take_term("bench")
    latencies: list[float] = []
    t0 = time.perf_counter()
    for n in range(appends):
        t = time.perf_counter()
        store.append([_event(n)])
        latencies.append(time.perf_counter() - t)
    wall_s = time.perf_counter() - t0
    ms = np.asarray(latencies) * 1e3
    return {
        "appends_per_s": appends / wall_s,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def bench(pg: str, appends: int, rounds: int, progress: Progress) -> dict[str, object]:
    backends = {"sqlite": sqlite_target, "postgresql": pg_target(pg)}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in backends}
    task = progress.add_task("rounds", total=rounds * len(backends))
    for _ in range(rounds):
        for name, target in backends.items():
            with target() as where:
                store = open_store(where)
                try:
                    results[name].append(one_round(store, appends))
                finally:
                    store.close()
            progress.advance(task)
    doc: dict[str, object] = {"appends": appends, "rounds": rounds}
    for name, runs in results.items():
        doc[name] = {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}
    rate = {name: doc[name]["appends_per_s"] for name in backends}  # type: ignore[index]
    doc["ratio_pg_over_sqlite"] = round(rate["postgresql"] / rate["sqlite"], 2)
    doc["load_1_5_15"] = [round(x, 2) for x in os.getloadavg()]  # fsync times follow the load
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console()
    with Progress(console=console, transient=True) as progress:
        doc = bench(args.pg, args.appends, args.rounds, progress)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    table = Table(
        title=f"fenced appends, one event a transaction: {doc['appends']} a round,"
        f" median of {doc['rounds']} rounds",
        title_justify="left",
    )
    for col in ("store", "appends/s", "p50 ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "store" else "right")
    for name in ("sqlite", "postgresql"):
        s = doc[name]
        table.add_row(name, str(s["appends_per_s"]), str(s["p50_ms"]), str(s["p99_ms"]))  # type: ignore[index]
    console.print(table)
    console.print(
        f"ratio PostgreSQL / SQLite appends per second: {doc['ratio_pg_over_sqlite']};"
        f" load average at the end {doc['load_1_5_15']}"
    )


if __name__ == "__main__":
    main()
