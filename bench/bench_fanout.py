"""Fan-out benchmark: one alert event to N WebSocket clients on loopback.

For each N (default 10,000 and 20,000) and each server, in this one run:

* ``redcolor``: ``redcolor serve``'s stack (uvicorn + uvloop + the fan-out WebSocket protocol,
  following the SQLite store);
* ``broadcast``: the baseline, a ``websockets`` asyncio server (uvloop) following the same store
  the same way and sending each event with ``websockets.broadcast``;
* ``floor``: a bare uvloop server that answers the handshake by hand and, per event, calls
  ``transport.write(frame)`` once per connection and nothing else: the cost of one ``send()``
  per client, which no Python server can beat on this machine.

The open-file hard limit here is 20,000 and cannot be raised (no CAP_SYS_RESOURCE), so a server
runs as ``ceil(N / 15,000)`` processes sharing the port with SO_REUSEPORT, each following the
store on its own; their CPU is summed. Clients run in four other processes (minimal hand-rolled
WebSocket clients, so client CPU stays small). The driver appends one event to the store, notes
the wall time, and waits until every client holds it; it repeats that ``--events`` times.
Keepalive pings are off in both real servers (a per-connection cost every 20 s, not a per-event
one, that would land inside the measured windows). Reported: deliveries per server CPU-second
(utime+stime from /proc over each fan-out window, with the kernel share) and p50/p99 latency
from event written (store commit) to frame received, over all deliveries.

Run: ``.venv/bin/python bench/bench_fanout.py [--clients 10000 20000] [--events 5]``.
Writes ``bench/results/fanout.json`` and ``bench/results/fanout.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import math
import multiprocessing as mp
import os
import resource
import socket
import statistics
import struct
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CLIENT_PROCS = 4
PER_SERVER_PROC = 15_000
POLL_S = 0.005
EVENT_AREA_ID = 175  # one real area id (Carmit) of the "current" edition
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


def _raise_nofile() -> None:
    """Soft open-file limit up to the hard one (raising the hard one needs privileges)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _listener(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    sock.setblocking(False)
    return sock


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
    app = create_app(state)
    server = uvicorn.Server(
        uvicorn_config(app, host="127.0.0.1", port=port, ws_ping_interval_s=None)
    )
    server.run(sockets=[_listener(port)])


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
        async with serve(
            handler, sock=_listener(port), compression=None, open_timeout=120, ping_interval=None
        ):
            while True:
                for row in store.read_since(last, 1000):
                    broadcast(clients, row.body.decode())
                    last = row.seq
                await asyncio.sleep(POLL_S)

    uvloop.run(main())


def _floor_server(db: str, port: int) -> None:
    _raise_nofile()
    import uvloop

    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.bus.frames import ws_text_frame

    store = SQLiteEventStore(db)
    open_transports: list[asyncio.Transport] = []

    class Bare(asyncio.Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            self.transport, self.buf = transport, b""

        def data_received(self, data: bytes) -> None:
            if self.buf is None:
                return
            self.buf += data
            if b"\r\n\r\n" in self.buf:
                key = next(
                    line.split(b":", 1)[1].strip()
                    for line in self.buf.split(b"\r\n")
                    if line.lower().startswith(b"sec-websocket-key:")
                )
                accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
                self.transport.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
                )
                self.buf = None
                open_transports.append(self.transport)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(Bare, sock=_listener(port))
        last = store.last_seq()
        while True:
            for row in store.read_since(last, 1000):
                frame = ws_text_frame(row.body)
                for transport in open_transports:
                    transport.write(frame)
                last = row.seq
            await asyncio.sleep(POLL_S)

    uvloop.run(main())


SERVERS = {"redcolor": _redcolor_server, "broadcast": _broadcast_server, "floor": _floor_server}
PATHS = {"redcolor": "/v1/stream", "broadcast": "/", "floor": "/"}


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

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before handshake: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(self.buf[:60].decode(errors="replace")))
                self.transport.abort()
                return
            self.buf = self.buf[end + 4 :]
            self.open = True
            self.ready.set_result(None)
        while len(self.buf) >= 2:
            b0, length = self.buf[0], self.buf[1] & 0x7F
            head = 2
            if length == 126:
                (length,), head = struct.unpack("!H", self.buf[2:4]), 4
            elif length == 127:
                (length,), head = struct.unpack("!Q", self.buf[2:10]), 10
            if len(self.buf) < head + length:
                return
            payload, self.buf = self.buf[head : head + length], self.buf[head + length :]
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
        source = f"127.0.{index + 1}.1"  # own source address: no ephemeral-port exhaustion
        try:
            for start in range(0, count, 250):
                readies, connects = [], []
                for _ in range(min(250, count - start)):
                    ready = loop.create_future()
                    readies.append(ready)
                    connects.append(
                        loop.create_connection(
                            lambda r=ready: _Client(path, port, received, r),
                            "127.0.0.1",
                            port,
                            local_addr=(source, 0),
                        )
                    )
                results = await asyncio.wait_for(asyncio.gather(*connects), 60)
                transports += [t for t, _ in results]
                await asyncio.wait_for(asyncio.gather(*readies), 60)
        except (OSError, TimeoutError) as exc:
            conn.send(("error", f"client {index}: {len(transports)} connected, then {exc!r}"))
            return
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
            t.abort()  # RST: no TIME_WAIT left behind

    uvloop.run(main())


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _cpu_s(pids: list[int]) -> tuple[float, float]:
    """(user, system) CPU seconds of these processes."""
    user = system = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        user += int(fields[11]) / tick
        system += int(fields[12]) / tick
    return user, system


def _event(n: int):
    from redcolor.model import AlertArea, AlertEvent

    now = time.time()
    return AlertEvent(
        f"bench-{n}",
        0,
        "missiles",
        "alert",
        (AlertArea(EVENT_AREA_ID, 60),),
        now,
        now + 600,
        ("bench",),
        {"en": "Enter a protected space and stay 10 minutes"},
    )


def _recv(pipe, timeout_s: float):
    if not pipe.poll(timeout_s):
        raise TimeoutError(f"no answer from a client process in {timeout_s} s")
    return pipe.recv()


def _wait_port(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def run_case(kind: str, n_clients: int, n_events: int, port: int, log) -> dict:
    from redcolor.alerts.store import SQLiteEventStore

    ctx = mp.get_context("spawn")
    db = str(Path(tempfile.mkdtemp(prefix="redcolor-fanout-")) / "alerts.db")
    store = SQLiteEventStore(db)
    n_servers = math.ceil(n_clients / PER_SERVER_PROC)
    servers = [
        ctx.Process(target=SERVERS[kind], args=(db, port), daemon=True) for _ in range(n_servers)
    ]
    procs = []
    try:
        for server in servers:
            server.start()
        _wait_port(port)
        time.sleep(1.0 if kind == "redcolor" else 0.3)  # every reuseport listener up
        pipes = []
        per = [n_clients // CLIENT_PROCS + (i < n_clients % CLIENT_PROCS) for i in range(4)]
        for i, count in enumerate(per):
            a, b = ctx.Pipe()
            p = ctx.Process(target=_client_proc, args=(port, PATHS[kind], count, i, b), daemon=True)
            p.start()
            pipes.append(a)
            procs.append(p)
        for pipe in pipes:
            msg = _recv(pipe, 300)
            if msg[0] != "ready":
                raise RuntimeError(msg[1])
        log(f"{kind}: {n_clients:,} clients connected ({n_servers} server process(es))")
        time.sleep(1.0)
        pids = [s.pid for s in servers]
        latencies: list[float] = []
        user_s = system_s = 0.0
        delivered = 0
        for i in range(n_events):
            u0, s0 = _cpu_s(pids)
            (stored,) = store.append([_event(i)])
            written = time.time()
            for pipe in pipes:
                pipe.send(("wait", stored.seq))
            for pipe in pipes:
                _, _, times = _recv(pipe, 60)
                delivered += len(times)
                latencies += [t - written for t in times]
            u1, s1 = _cpu_s(pids)
            user_s, system_s = user_s + u1 - u0, system_s + s1 - s0
            time.sleep(0.3)
        for pipe in pipes:
            pipe.send(("stop",))
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
        for server in servers:
            server.terminate()
            server.join(10)
        store.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    cpu_s = user_s + system_s
    return {
        "server": kind,
        "clients": n_clients,
        "server_processes": n_servers,
        "events": n_events,
        "deliveries": delivered,
        "expected_deliveries": n_clients * n_events,
        "server_cpu_s": round(cpu_s, 3),
        "server_system_cpu_share": round(system_s / cpu_s, 2) if cpu_s else None,
        "deliveries_per_cpu_s": round(delivered / cpu_s) if cpu_s else None,
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "latencies_ms": [round(x * 1000, 2) for x in latencies[:: max(1, len(latencies) // 2000)]],
    }


def _plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    styles = {"redcolor": "-", "broadcast": "--", "floor": ":"}
    for r in results:
        xs = r["latencies_ms"]
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        ax.plot(xs, ys, styles[r["server"]], label=f"{r['server']} N={r['clients']:,}")
    ax.axvline(250, color="grey", lw=0.8)
    ax.set_xlabel("event written -> frame received (ms)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title("WebSocket fan-out on loopback: one event to N clients")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10_000, 20_000])
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    args = parser.parse_args()
    _raise_nofile()
    from rich.console import Console
    from rich.table import Table

    console = Console(width=130)
    results = []
    port = 18700 + os.getpid() % 500
    with console.status("fan-out benchmark") as status:
        for n in args.clients:
            for kind in args.servers:
                status.update(f"{kind}: {n:,} clients x {args.events} events")
                port += 1
                try:
                    results.append(run_case(kind, n, args.events, port, console.log))
                except (RuntimeError, TimeoutError) as exc:
                    console.log(f"[red]{kind} with {n:,} clients failed: {exc}")
    table = Table(title="WebSocket fan-out, one event to N clients (loopback, 2 shared cores)")
    for col in (
        "server",
        "clients",
        "deliveries",
        "deliveries / server CPU-s",
        "kernel share",
        "p50 ms",
        "p99 ms",
        "vs broadcast",
    ):
        table.add_column(col, justify="right")
    base = {r["clients"]: r for r in results if r["server"] == "broadcast"}
    for r in results:
        b = base.get(r["clients"])
        ratio = r["deliveries_per_cpu_s"] / b["deliveries_per_cpu_s"] if b else float("nan")
        r["throughput_ratio_vs_broadcast"] = round(ratio, 2)
        table.add_row(
            r["server"],
            f"{r['clients']:,}",
            f"{r['deliveries']:,}",
            f"{r['deliveries_per_cpu_s']:,}",
            f"{r['server_system_cpu_share']:.0%}",
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
