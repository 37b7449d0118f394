"""Signed bus benchmark: the cost of signing and verifying one event, and events/s from the core's
store to an edge's store through a real nats-server on loopback.

* ``sign``: ``Signer.headers`` (Ed25519 over the stored body, the seq and the stream), per event;
* ``verify``: ``EdgeVerifier.check`` (parse headers, verify, decode, check seq and expiry);
* ``decode``: the baseline, ``EVENT_DECODER.decode`` of the same body alone (what any edge
  paid per event before signatures);
* through a real nats-server (JetStream, file storage, a user with a password), ``--events``
  events written up front: ``publish_log`` until the stream holds them all (read, check, sign,
  publish, ack awaited), against the baseline of the same bodies published unsigned by a bare
  ``js.publish`` loop; then ``replicate`` from nothing until the edge's SQLite store (WAL,
  synchronous=FULL, what arrived together in one transaction) holds them all.

Bodies are real alert events over 1, 20 and 200 areas. Reports medians and p99 (microseconds)
and ratios against the baseline measured in the same run.

Run: ``.venv/bin/python bench/bench_bus.py [--events 3000]``. Writes ``bench/results/bus.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import publish_log, replicate
from redcolor.bus.login import StreamSpec
from redcolor.bus.signing import EdgeVerifier, Signer
from redcolor.model import EVENT_DECODER, AlertArea, AlertEvent

RESULTS = Path(__file__).resolve().parent / "results"
STREAM = "REDCOLOR"


def _event(n: int, areas: int) -> AlertEvent:
    t = 1.7e9 + n
    return AlertEvent(
        f"bench-{n}",
        0,
        "missiles",
        "alert",
        tuple(AlertArea(1 + (n + i) % 1400, 15 + i % 60) for i in range(areas)),
        t,
        t + 600.0,
        ("track:1",),
        {"he": "היכנסו למרחב המוגן", "en": "Enter a protected space and stay 10 minutes"},
    )


def _quantiles_us(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    return {
        "median_us": statistics.median(ordered) * 1e6,
        "p99_us": ordered[int(0.99 * (len(ordered) - 1))] * 1e6,
    }


def per_event_costs(n: int) -> dict[str, dict[str, dict[str, float]]]:
    signer = Signer(Ed25519PrivateKey.generate())
    out: dict[str, dict[str, dict[str, float]]] = {}
    for areas in (1, 20, 200):
        store = SQLiteEventStore(":memory:")
        store.append([_event(i, areas) for i in range(n)])
        rows = store.read_since(0, n)
        signs, verifies, decodes = [], [], []
        signed = []
        for row in rows:
            t0 = time.perf_counter()
            headers = signer.headers(STREAM, row.seq, row.body)
            signs.append(time.perf_counter() - t0)
            signed.append(headers)
        verifier = EdgeVerifier(signer.public_key, STREAM)
        for row, headers in zip(rows, signed, strict=True):
            t0 = time.perf_counter()
            verdict = verifier.check(headers, row.body)
            verifies.append(time.perf_counter() - t0)
            verifier.stored(verdict)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            EVENT_DECODER.decode(row.body)
            decodes.append(time.perf_counter() - t0)
        costs = {
            "sign": _quantiles_us(signs),
            "verify": _quantiles_us(verifies),
            "decode": _quantiles_us(decodes),
        }
        costs["body_bytes"] = {"median": statistics.median(len(r.body) for r in rows)}
        out[f"{areas}_areas"] = costs
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _stream_holds(js, stream: str, n: int) -> None:
    while True:
        try:
            if (await js.stream_info(stream)).state.last_seq >= n:
                return
        except nats.js.errors.NotFoundError:
            pass
        await asyncio.sleep(0.005)


async def _through(root: Path, url: str, n: int) -> dict[str, float]:
    spec = StreamSpec(url=url, stream=STREAM, user="bench", password="bench-pw")
    signer = Signer(Ed25519PrivateKey.generate())
    core = SQLiteEventStore(root / "core.db")
    edge = SQLiteEventStore(root / "edge.db")
    core.append([_event(i, 20) for i in range(n)])
    nc = await nats.connect(url, user="bench", password="bench-pw")
    js = nc.jetstream()

    t0 = time.perf_counter()
    publisher = asyncio.create_task(publish_log(core, spec, signer))
    await _stream_holds(js, STREAM, n)
    publish_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    follower = asyncio.create_task(replicate(spec, edge, signer.public_key))
    while edge.last_seq() < n:
        await asyncio.sleep(0.005)
    follow_s = time.perf_counter() - t0
    for task in (publisher, follower):
        task.cancel()
    await asyncio.gather(publisher, follower, return_exceptions=True)
    assert [r.body for r in edge.read_since(0, n)] == [r.body for r in core.read_since(0, n)]

    await js.add_stream(name="RAW", subjects=["raw.events"])
    bodies = [r.body for r in core.read_since(0, n)]
    t0 = time.perf_counter()
    for body in bodies:
        await js.publish("raw.events", body, stream="RAW")
    raw_s = time.perf_counter() - t0
    await nc.close()
    return {
        "events": n,
        "signed_publish_events_per_s": n / publish_s,
        "raw_publish_events_per_s": n / raw_s,
        "ratio_signed_over_raw_publish": raw_s / publish_s,
        "edge_catch_up_events_per_s": n / follow_s,
    }


def throughput(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        port = _free_port()
        config = {
            "listen": f"127.0.0.1:{port}",
            "jetstream": {"store_dir": str(root / "js")},
            "authorization": {"users": [{"user": "bench", "password": "bench-pw"}]},
        }
        (root / "nats.conf").write_text(json.dumps(config))
        proc = subprocess.Popen(
            ["nats-server", "-c", str(root / "nats.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            return asyncio.run(_through(root, f"nats://127.0.0.1:{port}", n))
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    args = parser.parse_args()
    costs = per_event_costs(args.events)
    for name, c in costs.items():
        print(
            f"{name:>10} ({c['body_bytes']['median']:.0f} B): "
            f"sign {c['sign']['median_us']:.1f} us (p99 {c['sign']['p99_us']:.1f}), "
            f"verify {c['verify']['median_us']:.1f} us (p99 {c['verify']['p99_us']:.1f}), "
            f"decode alone {c['decode']['median_us']:.1f} us; verify/decode "
            f"{c['verify']['median_us'] / c['decode']['median_us']:.1f}x"
        )
    flow = throughput(args.events)
    print(
        f"core store -> nats-server, signed: {flow['signed_publish_events_per_s']:.0f} events/s;"
        f" the same bodies unsigned (js.publish alone): {flow['raw_publish_events_per_s']:.0f}/s"
        f" (ratio {flow['ratio_signed_over_raw_publish']:.2f}); edge catch-up (verify + store):"
        f" {flow['edge_catch_up_events_per_s']:.0f} events/s, over {flow['events']} events"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bus.json").write_text(json.dumps({"costs": costs, "throughput": flow}, indent=2))


if __name__ == "__main__":
    main()
