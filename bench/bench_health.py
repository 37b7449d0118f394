"""Fault -> ``/health`` benchmark: how soon a background task's death is visible to a client.

A real ``redcolor serve`` stack (uvicorn + uvloop, the app and its supervisor) on loopback runs
one extra service that dies after a random 0.2-0.5 s of running, ``--faults`` times (restarted
each time by the supervisor after its backoff, here 0.3 s flat so that each degraded spell can be
seen). A client polls ``/health`` every ``--poll-ms`` and notes when each fault's reason first
appears; the service notes the monotonic time just before it raises. Reported: median, p99 and
max of fault -> seen, and of seen -> ok again (the 0.3 s restart backoff included). The
baseline in the same run is the floor any detection has: one ``/health`` round trip (request
sent -> answer parsed), and half the polling period.

Run: ``.venv/bin/python bench/bench_health.py [--faults 100] [--poll-ms 10]``.
Writes ``bench/results/health.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from redcolor.alerts.store import SQLiteEventStore
from redcolor.geo import load_areas
from redcolor.serve.app import create_app
from redcolor.serve.run import uvicorn_config
from redcolor.serve.state import ServeConfig, ServerState
from redcolor.serve.supervise import Backoff

RESULTS = Path(__file__).resolve().parent / "results"


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def _measure(base: str, faults: list[float], total: int, poll_s: float) -> dict:
    detect: list[float] = []
    recover: list[float] = []
    round_trip: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        seen_n = 0
        seen_at = 0.0
        while seen_n < total or len(recover) < total:
            sent = time.monotonic()
            body = (await client.get("/health")).json()
            now = time.monotonic()
            round_trip.append(now - sent)
            task = body["tasks"].get("flaky")
            if task is not None:
                if task["restarts"] > seen_n and task["state"] == "restarting":
                    seen_n = task["restarts"]
                    detect.append(now - faults[seen_n - 1])
                    seen_at = now
                elif task["state"] == "running" and len(recover) < seen_n:
                    recover.append(now - seen_at)
            await asyncio.sleep(poll_s)
    return {
        "fault_to_degraded": _quantiles(detect),
        "degraded_to_ok": _quantiles(recover),
        "health_round_trip": _quantiles(round_trip),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=100)
    parser.add_argument("--poll-ms", type=float, default=10.0)
    args = parser.parse_args()
    faults: list[float] = []
    rng = random.Random(11)

    async def flaky(state: ServerState) -> None:
        await asyncio.sleep(rng.uniform(0.2, 0.5))
        if len(faults) < args.faults:
            faults.append(time.monotonic())
            raise ConnectionError(f"fault {len(faults)}")
        await asyncio.sleep(3600)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        state = ServerState(
            config=ServeConfig(db=db), store=SQLiteEventStore(db), areas=load_areas("current")
        )
        state.tasks.backoff = Backoff(first_s=0.3, factor=1.0, cap_s=0.3)
        server = uvicorn.Server(
            uvicorn_config(create_app(state, [flaky]), host="127.0.0.1", port=0)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            result = asyncio.run(
                _measure(f"http://127.0.0.1:{port}", faults, args.faults, args.poll_ms / 1000)
            )
        finally:
            server.should_exit = True
            thread.join(10)
            state.store.close()
    result |= {"faults": args.faults, "poll_ms": args.poll_ms}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "health.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
