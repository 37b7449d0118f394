"""Fan-out benchmark: one alert event to N WebSocket clients on loopback.

For each N (10,000 and 20,000) and each server, in this one run:

* ``redcolor``: ``redcolor serve``'s stack (uvicorn + uvloop + the fan-out WebSocket protocol,
  following the SQLite store);
* ``broadcast``: the baseline, a ``websockets`` asyncio server following the same store the same
  way and sending each event with ``websockets.broadcast``.

The server runs in its own process, the clients in four others (minimal hand-rolled WebSocket
clients, so client CPU stays small). The driver appends one event to the store, notes the wall
time, and waits until every client holds it; it repeats that ``EVENTS`` times. Reported: server
deliveries per server CPU-second (utime+stime from /proc over the fan-out window) and p50/p99
latency from event written (store commit) to frame received, over all deliveries.

Run: ``.venv/bin/python bench/bench_fanout.py [--clients 10000 20000] [--events 5]``.
Writes ``bench/results/fanout.json`` and ``bench/results/fanout.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import resource
import statistics
import struct
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CLIENT_PROCS = 4
POLL_S = 0.005
EVENT_AREA_ID = 175  # one real area id (Carmit) of the "current" edition


def _raise_nofile(n: int = 65536) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------------------------------
# Servers (each in its own process)
# --------------------------------------------------------------------------------------------


def _redcolor_server(db: str, port: int) -> None:
    _raise_nofile()
    import uvicorn

    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.geo import load_areas
    from redcolor.serve.app import create_app
    from redcolor.serve.run import uvicorn_config
    from redcolor.serve.state import ServeConfig, ServerState

    config = ServeConfig(db=Path(db), poll_s=POLL_S, heartbeat_s=3600)
    state = ServerState(config=config, store=SQLiteEventStore(db), areas=load_areas("current"))
    uvicorn.Server(uvicorn_config(create_app(state), host="127.0.0.1", port=port)).run()


def _broadcast_server(db: str, port: int) -> None:
    _raise_nofile()
    import uvloop
    from websockets.asyncio.server import broadcast, serve

    from redcolor.alerts.store import SQLiteEventStore

    store = SQLiteEventStore(db)
    clients: set = set()

    async def handler(ws) -> None:
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def main() -> None:
        last = store.last_seq()
        async with serve(handler, "127.0.0.1", port, backlog=4096, compression=None):
            while True:
                for row in store.read_since(last, 1000):
                    broadcast(clients, row.body.decode())
                    last = row.seq
                await asyncio.sleep(POLL_S)

    uvloop.run(main())


# --------------------------------------------------------------------------------------------
# Clients: minimal WebSocket clients (RFC 6455 handshake, unmasked server frames, pong on ping)
# --------------------------------------------------------------------------------------------


class _Client(asyncio.Protocol):
    def __init__(self, path: str, port: int, received: dict[int, list[float]], ready) -> None:
        self.path, self.port, self.received, self.ready = path, port, received, ready
        self.buf = b""
        self.open = False

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(self.buf[:80])
            self.buf = self.buf[end + 4 :]
            self.open = True
            if not self.ready.done():
                self.ready.set_result(None)
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1] & 0x7F
            head = 2
            if b1 == 126:
                (b1,), head = struct.unpack("!H", self.buf[2:4]), 4
            elif b1 == 127:
                (b1,), head = struct.unpack("!Q", self.buf[2:10]), 10
            if len(self.buf) < head + b1:
                return
            payload, self.buf = self.buf[head : head + b1], self.buf[head + b1 :]
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping -> masked pong (zero mask)
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
            elif opcode == 0x1 and b'"seq"' in payload:
                seq = json.loads(payload)["seq"]
                self.received.setdefault(seq, []).append(now)


def _client_proc(port: int, path: str, count: int, index: int, conn) -> None:
    _raise_nofile()
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        received: dict[int, list[float]] = {}
        transports = []
        source = f"127.0.{index + 1}.1"
        for start in range(0, count, 250):
            batch = []
            for _ in range(min(250, count - start)):
                ready = loop.create_future()
                batch.append(
                    (
                        ready,
                        loop.create_connection(
                            lambda r=ready: _Client(path, port, received, r),
                            "127.0.0.1",
                            port,
                            local_addr=(source, 0),
                        ),
                    )
                )
            results = await asyncio.gather(*(c for _, c in batch))
            transports += [t for t, _ in results]
            await asyncio.gather(*(r for r, _ in batch))
        conn.send(("ready", count))
        while True:
            msg = await loop.run_in_executor(None, conn.recv)
            if msg[0] == "stop":
                break
            seq = msg[1]
            deadline = time.monotonic() + 30
            while len(received.get(seq, ())) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            conn.send(("got", seq, received.get(seq, [])))
        for t in transports:
            t.abort()  # RST: no TIME_WAIT left on the loopback port range

    uvloop.run(main())


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _event(n: int):
    from redcolor.model import AlertArea, AlertEvent

    return AlertEvent(
        f"bench-{n}",
        0,
        "missiles",
        "alert",
        (AlertArea(EVENT_AREA_ID, 60),),
        time.time(),
        time.time() + 600,
        ("bench",),
        {"en": "Enter a protected space and stay 10 minutes"},
    )


def run_case(kind: str, n_clients: int, n_events: int, port: int) -> dict:
    from redcolor.alerts.store import SQLiteEventStore

    ctx = mp.get_context("spawn")
    tmp = tempfile.mkdtemp(prefix="redcolor-fanout-")
    db = str(Path(tmp) / "alerts.db")
    store = SQLiteEventStore(db)
    target = _redcolor_server if kind == "redcolor" else _broadcast_server
    server = ctx.Process(target=target, args=(db, port), daemon=True)
    server.start()
    path = "/v1/stream" if kind == "redcolor" else "/"
    _wait_port(port)
    pipes, procs = [], []
    per = [n_clients // CLIENT_PROCS + (i < n_clients % CLIENT_PROCS) for i in range(CLIENT_PROCS)]
    for i, count in enumerate(per):
        a, b = ctx.Pipe()
        p = ctx.Process(target=_client_proc, args=(port, path, count, i, b), daemon=True)
        p.start()
        pipes.append(a)
        procs.append(p)
    for pipe in pipes:
        assert pipe.recv()[0] == "ready"
    time.sleep(1.0)
    latencies: list[float] = []
    cpu_total = 0.0
    delivered = 0
    for i in range(n_events):
        cpu0 = _cpu_s(server.pid)
        (stored,) = store.append([_event(i)])
        written = time.time()
        for pipe in pipes:
            pipe.send(("wait", stored.seq))
        last = written
        for pipe in pipes:
            _, _, times = pipe.recv()
            delivered += len(times)
            latencies += [t - written for t in times]
            last = max([last, *times])
        cpu_total += _cpu_s(server.pid) - cpu0
        time.sleep(0.3)
    for pipe in pipes:
        pipe.send(("stop",))
    for p in procs:
        p.join(30)
    server.terminate()
    server.join(10)
    store.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "server": kind,
        "clients": n_clients,
        "events": n_events,
        "deliveries": delivered,
        "expected_deliveries": n_clients * n_events,
        "server_cpu_s": round(cpu_total, 3),
        "deliveries_per_cpu_s": round(delivered / cpu_total) if cpu_total else None,
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "latencies_ms": [round(x * 1000, 2) for x in latencies[:: max(1, len(latencies) // 2000)]],
    }


def _wait_port(port: int, timeout_s: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        xs = r["latencies_ms"]
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.plot(xs, ys, label=f"{r['server']} N={r['clients']:,}")
    ax.set_xlabel("event written -> frame received (ms)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title("WebSocket fan-out on loopback (one event, N clients)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10_000, 20_000])
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()
    _raise_nofile()
    from rich.console import Console
    from rich.table import Table

    console = Console()
    results = []
    port = 18700
    with console.status("fan-out benchmark") as status:
        for n in args.clients:
            for kind in ("redcolor", "broadcast"):
                status.update(f"{kind}: {n:,} clients x {args.events} events")
                port += 1
                results.append(run_case(kind, n, args.events, port))
    table = Table(title="WebSocket fan-out, one event to N clients (loopback, 2 cores shared)")
    for col in (
        "server",
        "clients",
        "deliveries",
        "deliveries / server CPU-s",
        "p50 ms",
        "p99 ms",
        "ratio vs broadcast",
    ):
        table.add_column(col, justify="right")
    base = {r["clients"]: r for r in results if r["server"] == "broadcast"}
    for r in results:
        b = base.get(r["clients"])
        ratio = (r["deliveries_per_cpu_s"] or 0) / (b["deliveries_per_cpu_s"] or 1) if b else 0
        r["throughput_ratio_vs_broadcast"] = round(ratio, 2)
        table.add_row(
            r["server"],
            f"{r['clients']:,}",
            f"{r['deliveries']:,}",
            f"{r['deliveries_per_cpu_s']:,}",
            str(r["p50_ms"]),
            str(r["p99_ms"]),
            f"{ratio:.2f}x",
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fanout.json").write_text(json.dumps(results, indent=1))
    _plot(results, RESULTS / "fanout.png")
    console.print(f"wrote {RESULTS / 'fanout.json'} and {RESULTS / 'fanout.png'}")


if __name__ == "__main__":
    main()
