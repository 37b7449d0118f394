"""The store's disk filling during a live salvo (issue 15's last fault): one active core on a
SQLite store (WAL) on an 8 MB tmpfs (``small_disk``), an edge, WebSocket and SSE clients on
the edge, ``sim emit`` sending the short salvo (short_salvo.toml) through the relay.

At the fault a filler file takes the disk to its last byte, so the core's next append is
refused (StoreFull): the core says so in one line (no traceback), stays up, /health is degraded
naming the store, and nothing it could not store is published. The filler is deleted: the
core writes again and the salvo's alerting goes on. Then, as for the other faults: every
client got every event exactly once in seq order, the store's seqs are gap-free, every area of
every alert got its all-clear. Fault -> refusal and clear -> next event are printed and
written to ``figures.json`` under the test's tmp dir."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import SHORT_SALVO, Cluster, dump
from .test_core_faults import Client, _check_log, _every_area_ended, _next_event_s, _read_log


@pytest.fixture
def cluster(tmp_path: Path, small_disk: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path, str(small_disk / "core.db"), SHORT_SALVO)
    try:
        made.start_nats()
        made.prepare(["core-a"])
        yield made
    finally:
        made.close()


def _fill(disk: Path) -> Path:
    """A file taking ``disk`` to its last byte (written until ENOSPC)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\xa5" * chunk)
            except OSError:
                pass
    return filler


def test_the_store_disk_filling_during_a_salvo(
    cluster: Cluster, tmp_path: Path, small_disk: Path
) -> None:
    (core,) = cluster.cores
    cluster.start_core(core)
    cluster.start_edge()
    cluster.wait_up()
    cluster.wait_leader(20)
    clients = [Client(cluster.edge_url, "ws"), Client(cluster.edge_url, "sse")]
    for client in clients:
        client.start()
    time.sleep(0.5)
    emitter = cluster.emit()
    t0 = time.time()
    store_seq = lambda: (_read_log(cluster.store) or [None])[-1]  # noqa: E731

    while (held := store_seq()) is None:  # the fault once the first alert is stored
        assert time.time() < t0 + 15, f"no alert in 15 s:\n{cluster.logs()}"
        time.sleep(0.02)
    filled_at = time.time()
    filler = _fill(small_disk)
    deadline = time.monotonic() + 15
    while True:  # the next append is refused: /health says so, naming the store
        body = core.health()
        if body is not None and body["status"] == "degraded" and "store" in body["reason"]:
            refused_at = time.time()
            break
        assert time.monotonic() < deadline, f"no write refused in 15 s:\n{cluster.logs()}"
        time.sleep(0.02)
    assert cluster.store in body["reason"] and "disk is full" in body["reason"], body
    assert body["ha"]["role"] == "standby"  # it writes nothing while the disk is full
    assert core.alive
    time.sleep(1.0)
    assert store_seq().seq == held.seq  # nothing stored while the disk is full
    published = [len(c.got) for c in clients]
    cleared_at = time.time()
    filler.unlink()  # the fault clears
    deadline = time.monotonic() + 10
    while (body := core.health()) is None or body["status"] != "ok":
        assert time.monotonic() < deadline, f"health not ok after the clear:\n{cluster.logs()}"
        time.sleep(0.02)
    ok_at = time.time()
    assert body["ha"]["role"] == "leader"

    assert emitter.wait(60) == 0
    rows = _every_area_ended(cluster, tmp_path / "events.txt", within_s=40)
    seqs, alerts = _check_log(rows)
    assert seqs[-1] > held.seq, "nothing written after the clear"
    deadline = time.monotonic() + 10
    while any(len(cl.got) < len(seqs) for cl in clients) and time.monotonic() < deadline:
        time.sleep(0.1)
    for client in clients:
        client.stop.set()
    log = core.log.read_text(errors="replace") if core.log else ""
    assert "Traceback" not in log, log[-3000:]
    full_lines = [line for line in log.splitlines() if "disk is full" in line]
    assert full_lines, log[-3000:]
    figures: dict[str, float | int | None] = {
        "fault_to_refusal_s": round(refused_at - filled_at, 3),
        "clear_to_health_ok_s": round(ok_at - cleared_at, 3),
        "events": len(seqs),
        "alerts": alerts,
        "events_before_fault": held.seq,
        "refusal_log_lines": len(full_lines),
    }
    for client, before in zip(clients, published, strict=True):
        assert client.error is None, f"{client.kind}: {client.error!r}"
        assert [s for s, _ in client.got] == seqs, f"{client.kind} client: not every event once"
        assert before <= held.seq  # nothing published that is not stored
        figures[f"clear_to_next_event_{client.kind}_s"] = _next_event_s(client, cleared_at)
    dump(tmp_path / "figures.json", figures)
    print(json.dumps(figures, indent=1))
