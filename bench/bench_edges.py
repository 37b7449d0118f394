"""Edges benchmark: the core's log over NATS JetStream to N edge processes x C WebSocket clients.

In this one run, on this machine:

* ``edges``: a core process publishing its SQLite store to JetStream (``publish_log``, signed),
  a nats-server with JetStream, and N ``redcolor serve --nats-follow`` processes, each with C
  clients on ``/v1/stream`` (C is as many as the open-file limit allows, aiming at 10,000:
  the soft limit is raised to the hard one);
* ``floor``: the same N x C clients on N bare uvloop servers (``bench_fanout``'s floor) that
  follow the core's store directly and write each event's frame to every socket with one
  ``transport.write`` and nothing else: the bare write cost, with no redcolor logic.

The driver appends one event to the core's store, notes the time, and waits until every client
holds it (``--events`` times). Reported per edge: deliveries per CPU-second of the edge process
(user + system from /proc over each fan-out window), and the ratio to the floor; p50/p99 from the
leader's append (store commit) to the client's receipt, over all deliveries (this includes the
core's publish, JetStream, the edge's verify + store + fan-out).

Run: ``.venv/bin/python bench/bench_edges.py [--edges 2] [--clients 10000] [--events 5]``.
Writes ``bench/results/edges-<N>x<C>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_fanout as fanout  # the same clients, floor and CPU reading

RESULTS = Path(__file__).resolve().parent / "results"
SRC = Path(__file__).resolve().parents[1] / "src"
CLIENT_PROCS_PER_EDGE = 2
FD_MARGIN = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clients_allowed(wanted: int) -> int:
    """Clients one edge can hold: its open-file limit (soft raised to hard) less a margin."""
    fanout._raise_nofile()
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(1, min(wanted, soft - FD_MARGIN))


def _core_proc(db: str, url: str, key: str) -> None:
    import uvloop

    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.bus.jetstream import publish_log
    from redcolor.bus.keys import load_signing_key
    from redcolor.bus.login import StreamSpec
    from redcolor.bus.signing import Signer

    store = SQLiteEventStore(db)
    signer = Signer(load_signing_key(Path(key)))
    uvloop.run(publish_log(store, StreamSpec(url=url), signer, poll_s=fanout.POLL_S))


def _nats(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    config = root / "nats.conf"
    config.write_text(
        json.dumps({"listen": f"127.0.0.1:{port}", "jetstream": {"store_dir": str(root / "js")}})
    )
    proc = subprocess.Popen(
        ["nats-server", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    fanout._wait_port(port)
    return proc, f"nats://127.0.0.1:{port}"


def _edge(root: Path, i: int, url: str, key: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [
        *(sys.executable, "-c", "from redcolor.cli.main import run; run()", "serve"),
        *("--db", str(root / f"edge{i}.db"), "--port", str(port)),
        *("--nats-follow", url, "--verify-key", f"{key}.pub"),
    ]
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    log = (root / f"edge{i}.log").open("ab")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


def _holds(port: int, seq: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()["last_seq"] >= seq
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def _measure(pids, pipes, store, n_events: int, first: int) -> dict:
    """Append ``n_events`` events; the CPU of ``pids`` over each fan-out, and every latency."""
    latencies: list[float] = []
    cpu = {pid: 0.0 for pid in pids}
    delivered = 0
    for i in range(n_events):
        before = {pid: sum(fanout._cpu_s([pid])) for pid in pids}
        (stored,) = store.append([fanout._event(first + i)])
        written = time.time()
        for pipe in pipes:
            pipe.send(("wait", stored.seq))
        for pipe in pipes:
            _, _, times = fanout._recv(pipe, 60)
            delivered += len(times)
            latencies += [t - written for t in times]
        for pid in pids:
            cpu[pid] += sum(fanout._cpu_s([pid])) - before[pid]
        time.sleep(0.3)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    total_cpu_s = sum(cpu.values())
    return {
        "deliveries": delivered,
        "cpu_s_per_process": [round(c, 3) for c in cpu.values()],
        "deliveries_per_cpu_s_per_process": round(delivered / total_cpu_s) if total_cpu_s else None,
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def _clients(ctx, ports: list[int], path: str, per_edge: int, first_index: int):
    procs, pipes = [], []
    index = first_index
    for port in ports:
        counts = [
            per_edge // CLIENT_PROCS_PER_EDGE + (j < per_edge % CLIENT_PROCS_PER_EDGE)
            for j in range(CLIENT_PROCS_PER_EDGE)
        ]
        for count in counts:
            a, b = ctx.Pipe()
            p = ctx.Process(
                target=fanout._client_proc, args=(port, path, count, index, b), daemon=True
            )
            p.start()
            procs.append(p)
            pipes.append(a)
            index += 1
    for pipe in pipes:
        msg = fanout._recv(pipe, 300)
        if msg[0] != "ready":
            raise RuntimeError(msg[1])
    return procs, pipes


def _stop_clients(procs, pipes) -> None:
    for pipe in pipes:
        pipe.send(("stop",))
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.terminate()


def run(n_edges: int, per_edge: int, n_events: int, log) -> dict:
    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.bus.keys import load_or_create_signing_key

    ctx = mp.get_context("spawn")
    root = Path(tempfile.mkdtemp(prefix="redcolor-edges-"))
    key = str(root / "core.key")
    load_or_create_signing_key(Path(key))
    db = str(root / "core.db")
    store = SQLiteEventStore(db)
    nats_proc, url = _nats(root)
    core = ctx.Process(target=_core_proc, args=(db, url, key), daemon=True)
    core.start()
    ports = [_free_port() for _ in range(n_edges)]
    edges = [_edge(root, i, url, key, port) for i, port in enumerate(ports)]
    result: dict = {"edges": n_edges, "clients_per_edge": per_edge, "events": n_events}
    try:
        for port in ports:
            fanout._wait_port(port)
        store.append([fanout._event(0)])  # the edges take the core's log id with it
        deadline = time.monotonic() + 60
        while not all(_holds(p, 1) for p in ports):
            assert time.monotonic() < deadline, "edges did not copy the first event"
            time.sleep(0.1)
        procs, pipes = _clients(ctx, ports, "/v1/stream", per_edge, 0)
        log(f"edges: {n_edges} x {per_edge:,} clients connected")
        time.sleep(1.0)
        result["redcolor"] = _measure([e.pid for e in edges], pipes, store, n_events, 1)
        _stop_clients(procs, pipes)
        for edge in edges:
            edge.terminate()
            edge.wait(10)
        edges = []
        floor_ports = [_free_port() for _ in range(n_edges)]
        floors = [
            ctx.Process(target=fanout._floor_server, args=(db, p), daemon=True) for p in floor_ports
        ]
        for f in floors:
            f.start()
        for p in floor_ports:
            fanout._wait_port(p)
        procs, pipes = _clients(ctx, floor_ports, "/", per_edge, 2 * n_edges * 2)
        log(f"floor: {n_edges} x {per_edge:,} clients connected")
        time.sleep(1.0)
        result["floor"] = _measure([f.pid for f in floors], pipes, store, n_events, 1000)
        _stop_clients(procs, pipes)
        for f in floors:
            f.terminate()
            f.join(10)
    finally:
        for edge in edges:
            edge.terminate()
        core.terminate()
        nats_proc.terminate()
        nats_proc.wait(10)
        store.close()
    ours, floor = (result[k]["deliveries_per_cpu_s_per_process"] for k in ("redcolor", "floor"))
    result["ratio_vs_floor"] = round(ours / floor, 3) if ours and floor else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10_000, help="per edge (fd-limited)")
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()
    per_edge = _clients_allowed(args.clients)
    result = run(args.edges, per_edge, args.events, lambda m: print(m, flush=True))
    r, f = result["redcolor"], result["floor"]
    print(
        f"{args.edges} edges x {per_edge:,} clients, {args.events} events:"
        f" redcolor edge {r['deliveries_per_cpu_s_per_process']:,} deliveries/CPU-s per edge,"
        f" floor {f['deliveries_per_cpu_s_per_process']:,} (ratio {result['ratio_vs_floor']});"
        f" append -> client p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms"
        f" (floor p99 {f['p99_ms']} ms); deliveries {r['deliveries']:,}"
        f" of {args.edges * per_edge * args.events:,}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"edges-{args.edges}x{per_edge}.json").write_text(
        json.dumps(result, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
