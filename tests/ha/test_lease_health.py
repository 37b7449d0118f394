"""The lease task is supervised like any other: when its NATS dies, ``/health``'s view
(the supervisor's) turns degraded naming the lease, the core stops counting itself the leader
once ``valid_s`` has passed since its last renewal, and when NATS is back the lease is held again
and the status is ok. A real nats-server (JetStream, its store on disk) killed and started again
on the same port."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.login import StreamSpec
from redcolor.serve.ha import HaCore
from redcolor.serve.metrics import Metrics
from redcolor.serve.supervise import Supervisor, Task

from .cluster import free_port


def _nats(port: int, store: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def _until(check: Callable[[], bool], timeout_s: float = 10.0) -> float:
    """Wait for ``check``; the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "timed out"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_lease_outage_degrades_health_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    nats = _nats(port, tmp_path / "js", tmp_path / "nats.log")
    metrics = Metrics()
    supervisor = Supervisor(metrics.task_up, metrics.task_restarts)
    store = SQLiteEventStore(tmp_path / "a.db")
    ha = HaCore("core-a", StreamSpec(f"nats://127.0.0.1:{port}"), "lease_h", metrics, store)
    task = Task("lease", functools.partial(ha.campaign, supervisor.reporter("lease")))
    try:
        await asyncio.sleep(0.3)  # the server listening
        async with supervisor.running([task]):
            await _until(ha.leading)
            assert supervisor.health()["status"] == "ok"
            nats.kill()
            nats.wait(5)
            degraded_s = await _until(lambda: supervisor.health()["status"] == "degraded")
            assert "lease" in supervisor.health()["reason"]
            await _until(lambda: not ha.leading(), timeout_s=2.0)
            nats = _nats(port, tmp_path / "js", tmp_path / "nats.log")
            ok_s = await _until(lambda: supervisor.health()["status"] == "ok" and ha.leading())
            print(f"lease outage: degraded after {degraded_s:.2f} s; ok {ok_s:.2f} s after restart")
    finally:
        nats.kill()
        nats.wait(5)
        store.close()
