"""Chaos on the edges: a three-node NATS cluster (R3 stream), a core publishing a store the test
appends to, edges following it (servers in this process, the same app and services, and for
the edge kill a real `redcolor edge` process, its copy of the log in memory), and WebSocket
and SSE clients that resume on the other edge by seq whenever their connection ends. Every
client gets every event exactly once, in seq order, with no reset:

- an edge killed (-9) while clients stream from it: they resume on the other edge;
- one NATS node killed, then a second: with one node gone the R3 stream carries on; with two
  gone it has no quorum, so the core cannot publish, and the edges say ``lagging`` in
  ``/health`` (the leader's heartbeat, on core NATS, still reaches them from the last node) and
  the core's ``nats_publish`` task says why; once a node is back the stream has its quorum, the
  core publishes what it held back and the edges catch up with no loss and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.run import channel_services
from redcolor.serve.state import ServeConfig, ServerState

from ..bus.natsd import NatsCluster
from .conftest import LiveServer, SalvoWriter
from .edgechaos import Client, Node, core_and_edges, memory_edge

pytestmark = pytest.mark.services


@pytest.fixture
def cluster(tmp_path):
    with NatsCluster(tmp_path / "nats") as c:
        yield c


@pytest.fixture
def edge_process(tmp_path, cluster):
    """A `redcolor edge` process, its copy in memory (the one the test kills)."""
    edge = memory_edge(tmp_path, cluster.url)
    edge.start()
    try:
        edge.wait_up()
        yield edge
    finally:
        edge.stop()


async def _until(cond, timeout_s: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(cond):
        assert time.monotonic() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.05)


def _holds(edge: Node, seq: int) -> bool:
    try:
        return edge.health()["last_seq"] >= seq
    except Exception:
        return False


class Feed:
    """Appends one event every ``every_s`` to the core's store, as the pipeline would."""

    def __init__(self, store: SQLiteEventStore, areas, ids: list[int]) -> None:
        self.writer = SalvoWriter(store, areas)
        self.ids = ids
        self.n = 0

    async def write(self, count: int, every_s: float = 0.02) -> None:
        for _ in range(count):
            self.n += 1
            self.writer.event(f"chaos-{self.n}", "alert", [self.ids[self.n % len(self.ids)]])
            await asyncio.sleep(every_s)


def _check(clients: list[Client], last: int) -> None:
    for c in clients:
        assert not c.resets, (c.kind, c.resets[:1])
        assert c.seqs == list(range(1, last + 1)), (c.kind, c.seqs[:5], len(c.seqs))


async def test_clients_of_a_killed_edge_resume_on_another_with_every_event_once(
    tmp_path, in_process, edge_process, areas, meron_ids
) -> None:
    core, (edge_b, _) = in_process
    edge_a = edge_process
    feed = Feed(SQLiteEventStore(tmp_path / "core.db"), areas, meron_ids)
    await feed.write(5, every_s=0)
    for edge in (edge_a, edge_b):
        await _until(lambda e=edge: _holds(e, 5), what=f"{edge.name} holds the first events")
    log_id = edge_a.health()["log_id"]
    assert edge_b.health()["log_id"] == log_id == core.health()["log_id"]  # one log everywhere
    clients = [Client([edge_a, edge_b], "ws") for _ in range(12)]
    clients += [Client([edge_a, edge_b], "sse") for _ in range(4)]
    end: list[int] = [0]
    running = [asyncio.ensure_future(c.run(end)) for c in clients]
    await _until(lambda: all(c.last >= 5 for c in clients), what="clients caught up")
    writing = asyncio.ensure_future(feed.write(80))
    await _until(lambda: all(c.last >= 30 for c in clients), what="clients streaming")
    edge_a.kill()
    await writing
    end[0] = feed.writer.store.last_seq()
    async with asyncio.timeout(20):
        await asyncio.gather(*running)
    _check(clients, end[0])
    assert all(c.moves >= 1 for c in clients)  # every one of them did move to edge b
    assert edge_b.health()["leader"]["state"] == "ok"


class InProcess:
    """A server of this process (:class:`LiveServer`) seen as a :class:`Node` by the clients."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.name = f"server:{server.port}"
        self.http, self.ws = server.http, server.ws

    def health(self) -> dict:
        return httpx.get(f"{self.http}/health", timeout=2).json()


@pytest.fixture
def in_process(tmp_path, cluster, areas):
    core_and_edges(tmp_path, cluster.url, edges=0)  # the passwords and the core's key
    login = {"nats_password_file": tmp_path / "core.pw", "nats_user": "core"}
    core = ServeConfig(
        db=tmp_path / "core.db",
        nats_publish_url=cluster.url,
        nats_replicas=3,
        signing_key=tmp_path / "core.key",
        **login,
    )
    configs = [core]
    for i in range(2):
        configs.append(
            ServeConfig(
                db=tmp_path / f"edge{i}.db",
                poll_s=0.005,
                nats_follow_url=cluster.url,
                verify_key=tmp_path / "core.key.pub",
                nats_user="edge",
                nats_password_file=tmp_path / "edge.pw",
            )
        )
    with contextlib.ExitStack() as stack:
        running = []
        for config in configs:
            state = ServerState(config=config, store=SQLiteEventStore(config.db), areas=areas)
            running.append(
                InProcess(stack.enter_context(LiveServer(state, channel_services(config))))
            )
        yield running[0], running[1:]


async def test_the_edges_ride_out_one_nats_node_and_say_lagging_without_quorum(
    tmp_path, cluster, in_process, areas, meron_ids
) -> None:
    core, edges = in_process
    feed = Feed(SQLiteEventStore(tmp_path / "core.db"), areas, meron_ids)
    await feed.write(3, every_s=0)
    for edge in edges:
        await _until(lambda e=edge: _holds(e, 3), what=f"{edge.name} holds the first events")
    clients = [Client(edges[i % 2 :] + edges[: i % 2], "ws") for i in range(8)]
    clients += [Client(edges, "sse") for _ in range(2)]
    end: list[int] = [0]
    running = [asyncio.ensure_future(c.run(end)) for c in clients]
    await feed.write(20)
    cluster.nodes[0].kill()  # one of three: the R3 stream keeps its quorum
    await feed.write(20)
    for edge in edges:
        await _until(lambda e=edge: _holds(e, feed.n), what="events flow with one node down")
    cluster.nodes[1].kill()  # two of three: no quorum, nothing can be published
    await feed.write(10)
    for edge in edges:
        await _until(
            lambda e=edge: "leader_watch: lagging" in (e.health()["reason"] or ""),
            timeout_s=6,
            what=f"{edge.name} says it lags",
        )
        health = edge.health()
        assert health["status"] == "degraded" and health["leader"]["state"] == "lagging", health
    await _until(
        lambda: "nats_publish" in (core.health()["reason"] or ""),
        timeout_s=8,
        what="the core says it cannot publish",
    )
    cluster.nodes[1].start()  # quorum again
    await feed.write(10)
    end[0] = feed.n
    for edge in edges:
        await _until(lambda e=edge: _holds(e, end[0]), timeout_s=25, what="edges catch up")
        await _until(lambda e=edge: e.health()["status"] == "ok", what=f"{edge.name} ok again")
    async with asyncio.timeout(20):
        await asyncio.gather(*running)
    _check(clients, end[0])
