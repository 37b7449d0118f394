"""The JetStream bus against a real nats-server (the tests' own, with users): the core publishes
its log, an edge copies it seq for seq, both survive restarts without a gap or a duplicate."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import publish_log, replicate, watch_leader
from redcolor.bus.signing import Heartbeat, Signer

from .busutil import event, spec, stop, stream_last_seq, until


async def test_edge_copies_the_log_byte_for_byte_across_restarts(tmp_path, natsd) -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    core_spec, edge_spec = spec(natsd.url, "core"), spec(natsd.url, "edge")
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    core.append([event(i) for i in range(30)])
    publisher = asyncio.create_task(publish_log(core, core_spec, signer, poll_s=0.005))
    appended = []
    edge_task = asyncio.create_task(
        replicate(
            edge_spec, edge, signer.public_key, on_append=lambda: appended.append(edge.last_seq())
        )
    )
    await until(lambda: edge.last_seq() == 30)
    await stop(edge_task, publisher)
    core.append([event(i) for i in range(30, 45)])  # written while both are down
    publisher = asyncio.create_task(publish_log(core, core_spec, signer, poll_s=0.005))
    edge_task = asyncio.create_task(replicate(edge_spec, edge, signer.public_key))
    await until(lambda: edge.last_seq() == 45)
    core.append([event(45)])
    await until(lambda: edge.last_seq() == 46)
    await stop(edge_task, publisher)
    assert [r.body for r in edge.read_since(0, 100)] == [r.body for r in core.read_since(0, 100)]
    assert appended[-1] == 30 and appended == sorted(set(appended))  # a notify per batch


async def test_a_new_leader_on_the_same_store_and_key_continues_with_no_gap_or_duplicate(
    tmp_path, natsd
) -> None:
    key = Ed25519PrivateKey.generate()
    core_spec, edge_spec = spec(natsd.url, "core"), spec(natsd.url, "edge")
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    beats: list[Heartbeat] = []
    core.take_term("a")
    core.append([event(i) for i in range(10)])
    first = asyncio.create_task(publish_log(core, core_spec, Signer(key), node_id="a"))
    edge_task = asyncio.create_task(replicate(edge_spec, edge, key.public_key()))
    watch = asyncio.create_task(watch_leader(edge_spec, key.public_key(), beats.append))
    await until(lambda: edge.last_seq() == 10 and any(b.node_id == "a" for b in beats))
    await stop(first)  # the old leader is gone; the new one shares the store and the key
    core.take_term("b")  # the new leader's term: what it stores from now on is signed under it
    core.append([event(i) for i in range(10, 15)])
    second = asyncio.create_task(publish_log(core, core_spec, Signer(key), node_id="b"))
    await until(lambda: edge.last_seq() == 15 and beats[-1].node_id == "b")
    core.append([event(15)])
    await until(lambda: edge.last_seq() == 16 and beats[-1].last_seq == 16)
    await stop(second, edge_task, watch)
    assert [r.body for r in edge.read_since(0, 100)] == [r.body for r in core.read_since(0, 100)]
    assert edge.log_id() == core.log_id()  # the copy took the core's log id
    assert await stream_last_seq(natsd.url) == 16  # each event once in the stream
    assert (beats[-1].log_id, beats[-1].term, beats[-1].last_seq) == (core.log_id(), 2, 16)
