"""The JetStream bus against the real NATS server on 127.0.0.1:4222: the core publishes its log,
an edge copies it seq for seq, both survive restarts without a gap or a duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import nats
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import StreamSpec, publish_log, replicate
from redcolor.errors import StoreError
from redcolor.model import AlertArea, AlertEvent

pytestmark = pytest.mark.services


def _event(n: int) -> AlertEvent:
    return AlertEvent(
        f"j{n}",
        0,
        "missiles",
        "alert",
        (AlertArea(n % 5 + 1, 15),),
        1.7e9 + n,
        None,
        ("track:9",),
        {"en": "Shelter"},
    )


@pytest.fixture
async def spec():
    tag = uuid.uuid4().hex[:10]
    spec = StreamSpec(stream=f"RCTEST_{tag}", subject=f"rctest.{tag}")
    yield spec
    nc = await nats.connect(spec.url)
    await nc.jetstream().delete_stream(spec.stream)
    await nc.close()


async def _stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results


async def _until(cond, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.01)


async def test_edge_copies_the_log_byte_for_byte_across_restarts(tmp_path, spec) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    core.append([_event(i) for i in range(30)])
    publisher = asyncio.create_task(publish_log(core, spec, poll_s=0.005))
    appended = []
    edge_task = asyncio.create_task(replicate(spec, edge, on_append=lambda: appended.append(1)))
    await _until(lambda: edge.last_seq() == 30)
    await _stop(edge_task, publisher)
    core.append([_event(i) for i in range(30, 45)])  # written while both are down
    publisher = asyncio.create_task(publish_log(core, spec, poll_s=0.005))
    edge_task = asyncio.create_task(replicate(spec, edge))
    await _until(lambda: edge.last_seq() == 45)
    core.append([_event(45)])
    await _until(lambda: edge.last_seq() == 46)
    await _stop(edge_task, publisher)
    assert [r.body for r in edge.read_since(0, 100)] == [r.body for r in core.read_since(0, 100)]
    assert len(appended) == 30


async def test_a_stream_longer_than_the_store_is_refused(tmp_path, spec) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    core.append([_event(i) for i in range(3)])
    task = asyncio.create_task(publish_log(core, spec, poll_s=0.005))
    nc = await nats.connect(spec.url)
    js = nc.jetstream()
    async with asyncio.timeout(10):
        while True:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                if (await js.stream_info(spec.stream)).state.last_seq == 3:
                    break
            await asyncio.sleep(0.01)
    await nc.close()
    await _stop(task)
    other = SQLiteEventStore(tmp_path / "other.db")  # a different, shorter log
    with pytest.raises(StoreError, match="holds 3 events"):
        await publish_log(other, spec)
