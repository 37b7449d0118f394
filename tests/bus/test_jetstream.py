"""The JetStream bus against a real nats-server (the tests' own, with users): the core publishes
its log, an edge copies it seq for seq, both survive restarts without a gap or a duplicate."""

from __future__ import annotations

import asyncio

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import publish_log, replicate
from redcolor.bus.signing import Signer

from .busutil import event, spec, stop, until


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
