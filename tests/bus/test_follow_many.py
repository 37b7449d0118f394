"""Property of the one subscribe path (:func:`redcolor.bus.follow.follow`): 120 clients join at
random seqs (some with area filters, some with tiny queues so they are dropped and resume from
the last seq they hold) while events are written and the follower publishes them; each client
ends with exactly the events after its start that match its filter, each once, in seq order.
Replays share the hub's frames: each event is built once, however many clients replay it."""

from __future__ import annotations

import asyncio
import contextlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus import frames as frames_module
from redcolor.bus.follow import Dropped, StoreFollower, follow
from redcolor.bus.hub import Hub
from redcolor.model import AlertArea, AlertEvent

CLIENTS = 120


def _event(n: int, area: int) -> AlertEvent:
    return AlertEvent(
        f"m{n}", 0, "missiles", "alert", (AlertArea(area, 15),), 1.7e9 + n, None, (), {}
    )


async def _client(hub, store, since: int, areas, queue: int, got: list[int]) -> None:
    """Forever (the test cancels it): on a drop it resumes after the last seq it holds."""
    last = since
    while True:
        items = follow(hub, store, last, areas, max_items=queue)
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    seq = getattr(item, "seq", None)
                    if seq is not None:
                        got.append(seq)
                        last = seq
        except Dropped:
            await asyncio.sleep(0)


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_many_clients_joining_at_random_seqs_get_each_event_once_in_order(tmp_path, seed) -> None:
    asyncio.run(_run(tmp_path, seed))


async def _run(tmp_path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / f"many-{seed}.db"
    path.unlink(missing_ok=True)
    store = SQLiteEventStore(path)
    store.append([_event(n, n % 4 + 1) for n in range(30)])
    hub = Hub(store.log_id(), last_seq=store.last_seq())
    follower = StoreFollower(store, hub, poll_s=0.002)
    built = 0
    real_build = frames_module.EventFrames.build

    def counting_build(*args, **kwargs):
        nonlocal built
        built += 1
        return real_build(*args, **kwargs)

    frames_module.EventFrames.build = counting_build  # type: ignore[method-assign]
    clients = []
    try:
        following = asyncio.ensure_future(follower.run())
        for _ in range(CLIENTS):
            since = rng.randint(0, store.last_seq())
            areas = None if rng.random() < 0.6 else frozenset(rng.sample(range(1, 5), 2))
            queue = rng.choice((2, 8, 256))
            got: list[int] = []
            task = asyncio.ensure_future(_client(hub, store, since, areas, queue, got))
            clients.append((since, areas, got, task))
            if rng.random() < 0.3:
                store.append([_event(100 + len(clients), rng.randint(1, 4))])
            if rng.random() < 0.5:
                await asyncio.sleep(0)
        for n in range(40):
            store.append([_event(200 + n, rng.randint(1, 4))])
            await asyncio.sleep(rng.choice((0, 0, 0.001)))
        rows = store.read_since(0, 10_000)
        area_of = {r.seq: r.decode().areas[0].id for r in rows}
        wants = [
            [s for s in area_of if s > since and (areas is None or area_of[s] in areas)]
            for since, areas, _, _ in clients
        ]
        async with asyncio.timeout(20):
            while any(len(c[2]) < len(w) for c, w in zip(clients, wants, strict=True)):
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # and nothing more comes
        for _, _, _, task in clients:
            task.cancel()
        following.cancel()
        await asyncio.gather(following, *(c[3] for c in clients), return_exceptions=True)
    finally:
        frames_module.EventFrames.build = real_build  # type: ignore[method-assign]
    for (since, areas, got, _), want in zip(clients, wants, strict=True):
        assert got == want, (since, areas, got[:10], want[:10])
    assert built <= len(rows)  # each event's frames built at most once, for every client
    store.close()
