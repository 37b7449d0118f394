"""An edge server on another machine: the core publishes to NATS JetStream, the edge copies the
log into its own store and streams it with the same seqs (real NATS on 127.0.0.1:4222)."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import StreamSpec, publish_log, replicate

from .conftest import LiveServer, SalvoWriter, make_state

pytestmark = pytest.mark.services


async def test_edge_streams_the_core_log_with_the_same_seqs(tmp_path, areas, meron_ids) -> None:
    tag = uuid.uuid4().hex[:10]
    spec = StreamSpec(stream=f"RCEDGE_{tag}", subject=f"rcedge.{tag}")
    core = SQLiteEventStore(tmp_path / "core.db")
    writer = SalvoWriter(core, areas)
    before = writer.lifecycle(meron_ids[:3])
    publisher = asyncio.create_task(publish_log(core, spec, poll_s=0.005))
    state = make_state(SQLiteEventStore(tmp_path / "edge.db"), areas, poll_s=0.01)

    async def follow(s) -> None:
        await replicate(spec, s.store, on_append=s.follower.notify)

    try:
        with LiveServer(state, services=[follow]) as edge:
            async with websockets.connect(f"{edge.ws}/v1/stream?since=0") as ws:
                after = writer.lifecycle(meron_ids[3:6])
                got = []
                while len(got) < len(before) + len(after):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if "seq" in msg:
                        got.append(msg)
        stored = {e.seq: e for e in before + after}
        assert [m["seq"] for m in got] == sorted(stored)
        assert all(m["id"] == stored[m["seq"]].id for m in got)
        assert [r.body for r in state.store.read_since(0, 100)] == [
            r.body for r in core.read_since(0, 100)
        ]
    finally:
        publisher.cancel()
        await asyncio.gather(publisher, return_exceptions=True)
        nc = await nats.connect(spec.url)
        await nc.jetstream().delete_stream(spec.stream)
        await nc.close()
