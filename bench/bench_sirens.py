"""Siren isolation benchmark: does a siren that never reads delay the healthy ones?

One ``redcolor serve`` stack (uvicorn + uvloop + the fan-out protocol, following its SQLite
store, default siren settings) in its own process; ``--sirens`` healthy controllers (one area
each, ``websockets`` clients that acknowledge every command) in a second process; and, in the
"stalled" run, one more controller bound to every one of those areas that completes the TCP
handshake, sends its upgrade request with a valid token, and then never reads a byte (receive
buffer as small as the kernel allows). When the server drops it, it connects again and stalls
again, for the whole run. The driver appends ``--alerts`` alerts to the store over
``--duration-s`` seconds, each over ``--areas-per-alert`` of the healthy sirens' areas and ended
3 s later.

Measured: for each activation a healthy siren receives, the delay from the moment the alert was
committed to the store (wall clock, the driver) to the moment the siren read it (wall clock, the
client process); median, p99 and max over all of them, and how many never arrived. The same run
without the stalled siren is the baseline; the ratio of p99s is what the stalled siren costs.
A third run replaces the stalled siren by a reading one on the same areas ("busy"): the work of
serving that many areas without the stall, to tell the cost of the stall from the cost of work.

Run: ``.venv/bin/python bench/bench_sirens.py [--duration-s 60] [--alerts 200] [--sirens 200]``.
Writes ``bench/results/sirens.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import socket
import statistics
import struct
import tempfile
import time
from pathlib import Path

import msgspec

RESULTS = Path(__file__).resolve().parent / "results"
END_AFTER_S = 3.0
TCP_ESTABLISHED = 1
ctx = mp.get_context("spawn")


def _server(db: str, port_out: mp.Queue) -> None:
    import uvicorn

    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.geo import load_areas
    from redcolor.serve.app import create_app
    from redcolor.serve.run import listen, uvicorn_config
    from redcolor.serve.state import ServeConfig, ServerState

    config = ServeConfig(db=Path(db))
    state = ServerState(config=config, store=SQLiteEventStore(db), areas=load_areas("current"))
    sock = listen("127.0.0.1", 0)
    port_out.put(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(create_app(state), host="127.0.0.1", port=0))
    server.run(sockets=[sock])


def _stalled_request(port: int, token: str) -> bytes:
    return (
        f"GET /v1/sirens/connect HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()


def _established(sock: socket.socket) -> bool:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return struct.unpack("B", info[:1])[0] == TCP_ESTABLISHED


async def _stalled(port: int, token: str, until_s: float, opened: list[int]) -> None:
    """Hold never-reading connections until ``until_s``, counting them in ``opened[0]``."""
    while time.time() < until_s:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.connect(("127.0.0.1", port))
        sock.sendall(_stalled_request(port, token))
        opened[0] += 1
        try:
            while time.time() < until_s and _established(sock):
                await asyncio.sleep(0.1)
        finally:
            sock.close()


def _clients(port: int, tokens: dict[str, str], stalled: str | None, deadline_s: float, pipe):
    """The controllers, until the driver says stop (or ``deadline_s``, so it always ends)."""
    import uvloop
    import websockets

    received: list[tuple[str, str, str, float]] = []

    async def healthy(name: str, token: str, ready: asyncio.Event) -> None:
        url = f"ws://127.0.0.1:{port}/v1/sirens/connect"
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url, additional_headers=headers, max_size=2**16) as ws:
            ready.set()
            async for raw in ws:
                now = time.time()
                command = json.loads(raw)
                received.append((name, command["alert_id"], command["action"], now))
                await ws.send(json.dumps({"type": "ack", "cmd": command["cmd"]}))

    async def main() -> int:
        loop = asyncio.get_running_loop()
        events = {name: asyncio.Event() for name in tokens}
        tasks = [asyncio.create_task(healthy(n, t, events[n])) for n, t in tokens.items()]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events.values())), 60)
        stall = None
        if stalled:
            stall = asyncio.create_task(_stalled(port, stalled, deadline_s, opened))
        pipe.send(("ready", None))
        stop = loop.run_in_executor(None, pipe.poll, max(0.0, deadline_s - time.time()))
        await stop
        for task in tasks:
            task.cancel()
        if stall is None:
            return 0
        stall.cancel()
        await asyncio.gather(stall, return_exceptions=True)
        return opened[0]

    opened = [0]
    try:
        uvloop.run(main())
        pipe.send(("done", (received, opened[0])))
    except Exception as exc:
        pipe.send(("error", repr(exc)))


CASES = {
    "baseline": "no extra siren",
    "stalled": "plus one never-reading siren on every area",
    "busy": "plus one reading siren on every area (the stalled one's work, without the stall)",
}


def run(args: argparse.Namespace, case: str, log) -> dict:
    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.auth import TokenStore
    from redcolor.geo import load_areas
    from redcolor.model import AlertArea, AlertEvent

    db = str(Path(tempfile.mkdtemp(prefix="redcolor-sirens-")) / "alerts.db")
    store = SQLiteEventStore(db)
    index = load_areas("current")
    area_ids = [a.id for a in index.areas][: args.sirens]
    tokens_db = TokenStore(db)
    tokens = {
        f"h-{i}": tokens_db.add(f"h-{i}", "siren", frozenset({a}))[1]
        for i, a in enumerate(area_ids)
    }
    stalled = None
    if case == "stalled":
        stalled = tokens_db.add("a-stalled", "siren", frozenset(area_ids))[1]
    elif case == "busy":
        tokens["a-busy"] = tokens_db.add("a-busy", "siren", frozenset(area_ids))[1]
    tokens_db.close()
    siren_of_area = {a: f"h-{i}" for i, a in enumerate(area_ids)}
    port_q: mp.Queue = ctx.Queue()
    server = ctx.Process(target=_server, args=(db, port_q), daemon=True)
    server.start()
    clients = None
    try:
        port = port_q.get(timeout=60)
        deadline_s = time.time() + args.duration_s + 120  # a stuck run still ends
        mine, theirs = ctx.Pipe()
        clients = ctx.Process(
            target=_clients, args=(port, tokens, stalled, deadline_s, theirs), daemon=True
        )
        clients.start()
        if not mine.poll(120) or (msg := mine.recv())[0] != "ready":
            raise RuntimeError(f"clients did not connect: {msg if mine.poll(0) else 'timeout'}")
        log(f"{case}: {args.sirens} sirens connected, {CASES[case]}")
        committed: dict[str, float] = {}
        expected: dict[str, list[str]] = {}
        pending_end: list[tuple[float, AlertEvent]] = []
        step_s = args.duration_s / args.alerts
        t0 = time.time()
        n = 0
        while n < args.alerts or pending_end:
            now = time.time()
            while pending_end and pending_end[0][0] <= now:
                _, first = pending_end.pop(0)
                ended = msgspec.structs.replace(
                    first, seq=0, stage="ended", issued_at_unix_s=now, references=(first.seq,)
                )
                store.append([ended])
            if n < args.alerts and now >= t0 + n * step_s:
                chosen = [area_ids[(n * 37 + j) % len(area_ids)] for j in range(args.per_alert)]
                areas = tuple(AlertArea(a, index.get(a).shelter_s) for a in chosen)
                alert_id = f"b-{n}"
                event = AlertEvent(alert_id, 0, "missiles", "alert", areas, now, now + 600, (), {})
                (stored,) = store.append([event])
                committed[alert_id] = time.time()
                expected[alert_id] = [siren_of_area[a] for a in chosen]
                pending_end.append((committed[alert_id] + END_AFTER_S, stored))
                n += 1
            time.sleep(0.002)
        log(f"{args.alerts} alerts written in {time.time() - t0:.1f} s; collecting")
        time.sleep(2.0)
        import httpx

        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        mine.send("stop")
        if not mine.poll(30):
            raise RuntimeError("clients sent no results")
        kind, payload = mine.recv()
        if kind != "done":
            raise RuntimeError(payload)
        received, opened = payload
    finally:
        for proc in (clients, server):
            if proc is not None and proc.is_alive():
                proc.terminate()
                proc.join(10)
        store.close()
    first_seen: dict[tuple[str, str], float] = {}
    for name, alert_id, action, at in received:
        if action == "activate" and alert_id in committed:
            first_seen.setdefault((name, alert_id), at)
    delays_ms, missing = [], 0
    for alert_id, names in expected.items():
        for name in names:
            at = first_seen.get((name, alert_id))
            if at is None:
                missing += 1
            else:
                delays_ms.append((at - committed[alert_id]) * 1000)
    delays_ms.sort()
    drops = dict(re.findall(r'redcolor_siren_dropped_total\{reason="(\w+)"\} (\S+)', metrics))
    return {
        "case": case,
        "activations": len(delays_ms),
        "missing": missing,
        "median_ms": statistics.median(delays_ms),
        "p99_ms": delays_ms[int(0.99 * (len(delays_ms) - 1))],
        "max_ms": delays_ms[-1],
        "stalled_connections": opened,
        "dropped": {k: float(v) for k, v in drops.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--sirens", type=int, default=200)
    parser.add_argument("--per-alert", type=int, default=100, help="areas per alert")
    args = parser.parse_args()
    log = lambda text: print(time.strftime("%H:%M:%S"), text, flush=True)  # noqa: E731
    results = [run(args, case, log) for case in CASES]
    base, stalled, busy = results
    for r in results:
        print(
            f"{r['case']}: {r['activations']} activations, {r['missing']} missing; delay median "
            f"{r['median_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms; "
            f"stalled connections {r['stalled_connections']}, drops {r['dropped']}"
        )
    for name, ref in (("baseline", base), ("busy", busy)):
        print(
            f"stalled / {name}: median x{stalled['median_ms'] / ref['median_ms']:.2f}, "
            f"p99 x{stalled['p99_ms'] / ref['p99_ms']:.2f} "
            f"({stalled['p99_ms'] - ref['p99_ms']:+.1f} ms at p99)"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sirens.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
