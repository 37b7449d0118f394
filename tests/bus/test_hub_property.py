"""Property: whatever the interleaving of writes, connects, slow readers, drops and resumes, every
client ends up with exactly the events after its resume point that match its filter, in order.

Checked against the plain definition (a list comprehension over the whole log), with the real
store, hub, follower, QueueSink and catch_up.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import Dropped, QueueSink, StoreFollower, catch_up
from redcolor.bus.hub import Hub
from redcolor.model import AlertArea, AlertEvent

AREAS = st.frozensets(st.integers(1, 4), min_size=1, max_size=3)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("write"), AREAS, st.integers(1, 3)),
        # the store runs ahead of the follower: replays may read past the hub
        st.tuples(st.just("write_unpolled"), AREAS, st.integers(1, 3)),
        st.tuples(st.just("poll"), st.integers(0, 0), st.integers(0, 0)),
        st.tuples(st.just("connect"), st.one_of(st.none(), AREAS), st.integers(1, 6)),
        st.tuples(st.just("yield"), st.integers(0, 3), st.integers(0, 0)),
    ),
    min_size=1,
    max_size=40,
)


def _event(n: int, areas: frozenset[int]) -> AlertEvent:
    return AlertEvent(
        f"p{n}",
        0,
        "missiles",
        "alert",
        tuple(AlertArea(a, 15) for a in sorted(areas)),
        1.7e9 + n,
        None,
        (),
        {},
    )


class Client:
    """Resumes from the last seq it holds whenever it is dropped (as a real client does)."""

    def __init__(self, hub, store, since: int, areas, queue_items: int) -> None:
        self.hub, self.store, self.areas, self.queue_items = hub, store, areas, queue_items
        self.since = since
        self.got: list[int] = []
        self.drops = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sink = QueueSink(self.queue_items)
            sub = self.hub.subscribe(sink, self.areas, self.got[-1] if self.got else self.since)
            replay = asyncio.ensure_future(
                catch_up(
                    self.hub, self.store, sub, has_space=sink.has_space, wait_space=sink.wait_space
                )
            )
            try:
                while not stop.is_set():
                    getter = asyncio.ensure_future(sink.get())
                    stopper = asyncio.ensure_future(stop.wait())
                    done, pending = await asyncio.wait(
                        {getter, stopper}, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in pending:
                        task.cancel()
                    if getter in done:
                        self.got.append(getter.result().seq)  # raises Dropped after a drop
                        await asyncio.sleep(0)  # a slow reader: one event per turn
            except Dropped:
                self.drops += 1
            finally:
                replay.cancel()
                self.hub.unsubscribe(sub)


async def _scenario(ops) -> None:
    store = SQLiteEventStore(":memory:")
    hub = Hub(store.log_id())
    follower = StoreFollower(store, hub)
    clients: list[Client] = []
    tasks = []
    stop = asyncio.Event()
    n = 0
    for op, arg, k in ops:
        if op in ("write", "write_unpolled"):
            for _ in range(k):
                n += 1
                store.append([_event(n, arg)])
            if op == "write":
                follower.poll_once()
        elif op == "poll":
            follower.poll_once()
        elif op == "connect":
            since = hub.last_seq // 2
            client = Client(hub, store, since, arg, queue_items=k)
            clients.append(client)
            tasks.append(asyncio.ensure_future(client.run(stop)))
        for _ in range(arg if op == "yield" else 3):  # type: ignore[arg-type]
            await asyncio.sleep(0)
    follower.poll_once()
    log = [(row.seq, {a.id for a in row.decode().areas}) for row in store.read_since(0, 10_000)]
    for _ in range(2000):  # let every client drain
        if all(c.got[-1:] == [_last(c, log)] or _last(c, log) is None for c in clients):
            break
        await asyncio.sleep(0)
    for _ in range(100):  # and a while longer: anything still queued (a duplicate) shows up
        await asyncio.sleep(0)
    stop.set()
    await asyncio.gather(*tasks)
    for c in clients:
        want = [s for s, areas in log if s > c.since and (c.areas is None or areas & c.areas)]
        assert c.got == want, (c.since, c.areas, c.drops)
    STATS["clients"] += len(clients)
    STATS["drops"] += sum(c.drops for c in clients)
    STATS["deliveries"] += sum(len(c.got) for c in clients)


def _last(client: Client, log) -> int | None:
    wanted = [s for s, a in log if s > client.since and (client.areas is None or a & client.areas)]
    return wanted[-1] if wanted else None


STATS = {"clients": 0, "drops": 0, "deliveries": 0}


@given(OPS)
@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
def test_every_client_gets_its_events_exactly_once_in_order(ops) -> None:
    asyncio.run(_scenario(ops))


def test_the_property_run_exercised_drops_and_resumes() -> None:
    """Guard against a vacuous property: the generated runs must include slow clients."""
    STATS.update(clients=0, drops=0, deliveries=0)
    test_every_client_gets_its_events_exactly_once_in_order()
    assert STATS["clients"] > 30 and STATS["drops"] > 2 and STATS["deliveries"] > 100, STATS
