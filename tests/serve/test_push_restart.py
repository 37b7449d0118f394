"""Web Push across a restart, on real servers and a real HTTPS push service: the durable position
passes an event only once its pushes are finished, so pushes still queued or in flight when the
server stopped (or was killed with SIGKILL: the real CLI), and events stored while no server
ran, are all pushed by the next server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve import push

from .conftest import LiveServer, SalvoWriter, make_state, until
from .push_service import PushEndpoint

ERRORS = 'redcolor_channel_errors_total{channel="push"}'
SRC = Path(__file__).resolve().parents[2] / "src"


def _server(tmp_path, areas, endpoint: PushEndpoint) -> LiveServer:
    """A server on the shared store file and push dir (a new store connection each time)."""
    config = endpoint.config() | {"poll_s": 0.005, "push_dir": tmp_path / "push"}
    return LiveServer(make_state(SQLiteEventStore(tmp_path / "push.db"), areas, **config))


async def _subscribe(base: str, endpoint: PushEndpoint, token: str, area: int) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        sub = endpoint.subscription([area], token=token)
        assert (await client.post("/v1/push/subscriptions", json=sub)).status_code == 201


def _seqs(endpoint: PushEndpoint, token: str) -> list[int]:
    return [m["seq"] for m in endpoint.by_token.get(token, [])]


def _naming(events, area_id: int) -> list[int]:
    return [e.seq for e in events if area_id in {a.id for a in e.areas}]


async def test_pushes_not_accepted_before_a_stop_are_pushed_after_the_restart(
    tmp_path, areas, meron_ids
) -> None:
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "push.db"), areas)
    endpoint = PushEndpoint(tmp_path / "tls")

    def durable() -> int:
        return writer.store.channel_position("push", 0)

    with endpoint:
        with _server(tmp_path, areas, endpoint) as server:
            await _subscribe(server.http, endpoint, "slow", meron_ids[0])
            await _subscribe(server.http, endpoint, "fast", meron_ids[0])
            endpoint.held.add("slow")  # its push service takes the pushes and never answers
            before = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
            # the held subscription delays nobody else's pushes
            await until(lambda: _seqs(endpoint, "fast") == before and endpoint.holding == 1)
            assert not _seqs(endpoint, "slow")
            await asyncio.sleep(0.3)  # past the position's write interval (flush_s)
            # what a kill -9 now would leave in the store: nothing past the unanswered push
            assert durable() < before[0]
        assert durable() < before[0]  # the stop wrote no further either
        while_down = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
        endpoint.held.clear()  # the held pushes are answered 503 now, to a server that is gone
        with _server(tmp_path, areas, endpoint) as server:
            everything = before + while_down
            await until(lambda: _seqs(endpoint, "slow") == everything)
            await until(lambda: set(_seqs(endpoint, "fast")) == set(everything))
            await until(lambda: durable() == writer.store.last_seq())
    # at least once: the fast one had its first pushes again, in order, deduplicated by seq
    fast = _seqs(endpoint, "fast")
    assert fast == before + everything
    assert endpoint.holding == 0


async def test_a_full_queue_drops_are_counted_and_do_not_hold_the_position(
    tmp_path, areas, meron_ids, monkeypatch
) -> None:
    monkeypatch.setattr(push, "PUSH_QUEUE", 1)
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "push.db"), areas)
    endpoint = PushEndpoint(tmp_path / "tls")
    with endpoint, _server(tmp_path, areas, endpoint) as server:
        await _subscribe(server.http, endpoint, "slow", meron_ids[0])
        endpoint.held.add("slow")
        mine = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
        assert len(mine) == 3  # one in flight (held) or queued, one queued, the rest dropped
        async with httpx.AsyncClient(base_url=server.http) as client:

            async def errors() -> float:
                text = (await client.get("/metrics")).text
                line = next(ln for ln in text.splitlines() if ln.startswith(ERRORS + " "))
                return float(line.rsplit(" ", 1)[1])

            for _ in range(500):
                if endpoint.holding == 1 and await errors() >= 1:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)
            dropped = await errors()
            assert dropped >= 1 and endpoint.holding == 1
            assert writer.store.channel_position("push", 0) < mine[0]
            endpoint.held.clear()  # answered 503, then accepted on the next try
            await until(lambda: len(_seqs(endpoint, "slow")) == len(mine) - dropped)
            await until(lambda: writer.store.channel_position("push", 0) == mine[-1])
            assert await errors() == dropped  # the held push was retried, not given up on
    assert set(_seqs(endpoint, "slow")) < set(mine)


async def test_a_subscription_gone_with_pushes_queued_does_not_hold_the_position(
    tmp_path, areas, meron_ids
) -> None:
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "push.db"), areas)
    endpoint = PushEndpoint(tmp_path / "tls", refusals=(410,))
    with endpoint, _server(tmp_path, areas, endpoint) as server:
        await _subscribe(server.http, endpoint, "gone", meron_ids[0])
        endpoint.held.add("gone")
        mine = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
        await until(lambda: endpoint.holding == 1)
        await asyncio.sleep(0.3)
        assert writer.store.channel_position("push", 0) < mine[0]
        endpoint.held.clear()  # 503, then 410 on the retry: the subscription is forgotten
        await until(lambda: writer.store.channel_position("push", 0) == mine[-1])
        async with httpx.AsyncClient(base_url=server.http) as client:
            text = (await client.get("/metrics")).text
    assert "redcolor_push_subscriptions 0.0" in text
    assert endpoint.attempts == 2 and not endpoint.received  # the queued two were never sent


def _serve(tmp_path: Path, endpoint: PushEndpoint, port: int) -> subprocess.Popen[bytes]:
    """The real ``redcolor serve`` with push on, in its own process."""
    cmd = [
        *(sys.executable, "-c", "from redcolor.cli.main import run; run()", "serve"),
        *("--db", str(tmp_path / "push.db"), "--port", str(port)),
        *("--push-dir", str(tmp_path / "push"), "--push-allow", "127.0.0.0/8"),
        *("--push-ca-file", str(endpoint.ca)),
    ]
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    log = (tmp_path / "serve.log").open("ab")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)


async def _ready(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base) as client:
        while True:
            assert proc.poll() is None, f"server exited ({proc.returncode})"
            try:
                if (await client.get("/v1/push/key")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_kill_9_with_pushes_in_flight_then_restart_pushes_every_event(
    tmp_path, areas, meron_ids
) -> None:
    writer = SalvoWriter(SQLiteEventStore(tmp_path / "push.db"), areas)
    endpoint = PushEndpoint(tmp_path / "tls")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    with endpoint:
        try:
            procs.append(first := _serve(tmp_path, endpoint, port))
            await _ready(first, base)
            await _subscribe(base, endpoint, "slow", meron_ids[0])
            await _subscribe(base, endpoint, "fast", meron_ids[0])
            endpoint.held.add("slow")
            before = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
            await until(lambda: _seqs(endpoint, "fast") == before and endpoint.holding == 1, 10)
            await asyncio.sleep(0.3)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            assert writer.store.channel_position("push", 0) < before[0]
            while_down = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
            endpoint.held.clear()
            procs.append(second := _serve(tmp_path, endpoint, port))
            await _ready(second, base)
            everything = before + while_down
            await until(lambda: _seqs(endpoint, "slow") == everything, 10)
            await until(lambda: set(_seqs(endpoint, "fast")) == set(everything), 10)
            last = writer.store.last_seq()
            await until(lambda: writer.store.channel_position("push", 0) == last, 10)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
    assert _seqs(endpoint, "fast") == before + everything  # at least once, in order
