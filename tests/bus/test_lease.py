"""The lease on the machine's real NATS JetStream (a bucket of the test's own): one leader among
three campaigners, takeover when the leader stops renewing, a paused leader superseded cannot
renew, a clean stop releases the lease. Each campaigner runs in a thread with its own event
loop, so a "pause" blocks that loop (a SIGSTOP of one core) and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator

import nats
import pytest

from redcolor.alerts.lease import RELEASED, Leadership, LeaseMachine
from redcolor.bus.lease import campaign, open_bucket, read
from redcolor.bus.login import StreamSpec

URL = "nats://127.0.0.1:4222"


class Node:
    """One campaigner in a thread of its own."""

    def __init__(self, name: str, bucket: str) -> None:
        self.leadership = Leadership(LeaseMachine(name, uuid.uuid4().hex), time.monotonic)
        self.elected: list[int] = []
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, args=(bucket,), daemon=True)
        self.thread.start()

    def _run(self, bucket: str) -> None:
        async def main() -> None:
            self.task = asyncio.current_task()
            await campaign(
                StreamSpec(URL), self.leadership, bucket=bucket, on_elected=self.elected.append
            )

        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(main())

    @property
    def leader(self) -> bool:
        return self.leadership.role().leader

    def pause(self, seconds: float) -> None:
        """Block this node's loop (it renews nothing, reads nothing) for ``seconds``."""
        self.loop.call_soon_threadsafe(time.sleep, seconds)

    def stop(self) -> None:
        """A clean stop: cancel the campaign (which releases the lease)."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(lambda: self.task and self.task.cancel())
            self.thread.join(5)


@pytest.fixture
def bucket() -> Iterator[str]:
    name = f"rctest_lease_{uuid.uuid4().hex[:10]}"
    yield name

    async def drop() -> None:
        nc = await nats.connect(URL)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_key_value(name)
        await nc.close()

    asyncio.run(drop())


@pytest.fixture
def nodes(bucket: str) -> Iterator[list[Node]]:
    made = [Node(f"core-{i}", bucket) for i in range(3)]
    yield made
    for node in made:
        node.stop()


def watch(nodes: list[Node], seconds: float) -> list[list[str]]:
    """Sample who leads every 10 ms for ``seconds``."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append([n.leadership.node_id for n in nodes if n.leader])
        time.sleep(0.01)
    return samples


def wait_leader(nodes: list[Node], timeout_s: float = 5.0) -> tuple[Node, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        lead = [n for n in nodes if n.leader]
        assert len(lead) <= 1
        if lead:
            return lead[0], time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError("no leader")


def stored(bucket: str):
    async def get():
        nc = await nats.connect(URL)
        try:
            return await read(await open_bucket(nc.jetstream(), bucket))
        finally:
            await nc.close()

    return asyncio.run(get())


def test_one_leader_among_three(nodes: list[Node], bucket: str) -> None:
    leader, _ = wait_leader(nodes)
    samples = watch(nodes, 1.0)
    assert all(len(s) <= 1 for s in samples)
    assert all(s == [leader.leadership.node_id] for s in samples)  # it keeps renewing
    held = stored(bucket)
    assert held.holder == leader.leadership.node_id and held.term == 1
    assert sum(len(n.elected) for n in nodes) == 1


def test_takeover_when_the_leader_stops_renewing_and_paused_leader_stays_fenced(
    nodes: list[Node], bucket: str
) -> None:
    first, _ = wait_leader(nodes)
    first.pause(2.0)
    paused_at = time.monotonic()
    samples = watch(nodes, 2.2)  # over the pause and past its wake-up
    assert all(len(s) <= 1 for s in samples)  # never two leaders, not even on waking
    second, _ = wait_leader(nodes)
    assert second is not first
    took_s = next(i for i, s in enumerate(samples) if s == [second.leadership.node_id]) * 0.01
    assert took_s < 2.0  # taken over during the pause, not after it
    print(f"takeover after the leader stopped renewing: {took_s:.2f} s")
    samples = watch(nodes, 0.6)  # the woken leader cannot renew: superseded
    assert all(s == [second.leadership.node_id] for s in samples)
    held = stored(bucket)
    assert held.holder == second.leadership.node_id and held.term == 2
    assert second.elected == [2] and first.elected == [1]
    assert time.monotonic() - paused_at > 2.0


def test_clean_stop_releases_the_lease(nodes: list[Node], bucket: str) -> None:
    first, _ = wait_leader(nodes)
    watch(nodes, 0.3)
    stopped = time.monotonic()
    first.stop()
    assert not first.leader
    second, _ = wait_leader(nodes)
    took_s = time.monotonic() - stopped
    print(f"takeover after a clean stop: {took_s:.2f} s")
    assert second is not first and stored(bucket).term == 2
    assert stored(bucket).holder != RELEASED
