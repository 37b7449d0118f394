"""Thin asyncio adapters around the hub: follow the store, replay a resume, queue for a writer.

Every consumer of the log (the raw WebSocket fan-out, the queued WebSocket, SSE, and the
server's own channels) subscribes one way: :func:`subscription` (subscribe, replay the store
from the resume point until live, unsubscribe) and, for those that pull events one by one,
:func:`follow` on top of it. Replay frames come from the hub's :class:`~redcolor.bus.hub.Hub`
frame cache, so clients resuming at the same point share each event's frames (built once).

The store is the source of truth. :class:`StoreFollower` polls ``read_since`` (a primary-key range
read, tens of microseconds) every ``poll_s`` and can be woken at once with :meth:`notify` (the
in-process pipeline calls it after each append, from any thread), so a server following a store
that another process writes sees an event within ``poll_s`` and an in-process one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

from redcolor.alerts.store import EventStore
from redcolor.bus.frames import ControlFrames, EventFrames
from redcolor.bus.hub import Hub, ResumeCursor, Sink, Subscriber

PublishHook = Callable[[EventFrames, int], None]


class Dropped(Exception):
    """The hub dropped this subscriber; ``str(exc)`` is the reason."""


class StoreFollower:
    """Reads new events from ``store`` in ``seq`` order and publishes them to ``hub``.

    Parameters
    ----------
    store : EventStore
        The alert event store to follow.
    hub : Hub
        Where events go. Its ``last_seq`` is where following starts.
    poll_s : float
        Polling period when nobody calls :meth:`notify`.
    heartbeat_s : float
        Period of ``{"type": "heartbeat"}`` control messages.
    on_publish : list of callables
        Each is called as ``hook(frames, deliveries)`` after an event was published.
    """

    def __init__(
        self,
        store: EventStore,
        hub: Hub,
        *,
        poll_s: float = 0.01,
        heartbeat_s: float = 10.0,
        on_publish: Iterable[PublishHook] = (),
    ) -> None:
        self.store = store
        self.hub = hub
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.on_publish = list(on_publish)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Wake the follower now; safe to call from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def poll_once(self, batch: int = 1000) -> int:
        """Publish what the store holds past the hub; return how many events were published."""
        count = 0
        while rows := self.store.read_since(self.hub.last_seq, batch):
            now = time.monotonic()
            for row in rows:
                frames = self.hub.frames_of(row, now)
                deliveries = self.hub.publish(frames)
                for hook in self.on_publish:
                    hook(frames, deliveries)
            count += len(rows)
            if len(rows) < batch:
                break
        return count

    async def run(self) -> None:
        """Follow forever (cancel to stop)."""
        self._loop = asyncio.get_running_loop()
        next_beat = time.monotonic() + self.heartbeat_s
        while True:
            self.poll_once()
            now = time.monotonic()
            if now >= next_beat:
                self.hub.control(ControlFrames.heartbeat(self.hub.last_seq, self.hub.log_id))
                next_beat = now + self.heartbeat_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()


class QueueSink:
    """A bounded per-client queue drained by the client's own writer task.

    ``offer`` refuses (and the hub drops the client) once ``max_items`` are waiting.
    """

    def __init__(self, max_items: int = 256, channel: str = "queue") -> None:
        self.max_items = max_items
        self.channel = channel
        self._items: deque[EventFrames | ControlFrames] = deque()
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self.reason: str | None = None

    def offer(self, frames: EventFrames) -> bool:
        if len(self._items) >= self.max_items:
            return False
        self._items.append(frames)
        self._ready.set()
        if len(self._items) >= self.max_items:
            self._space.clear()
        return True

    def control(self, frames: ControlFrames) -> None:
        if len(self._items) < self.max_items:
            self._items.append(frames)
            self._ready.set()

    def dropped(self, reason: str) -> None:
        self.reason = reason
        self._ready.set()

    def has_space(self) -> bool:
        return len(self._items) < self.max_items

    async def wait_space(self) -> None:
        await self._space.wait()

    async def get(self) -> EventFrames | ControlFrames:
        """The next item; raises :class:`Dropped` once the queue is empty after a drop."""
        while not self._items:
            if self.reason is not None:
                raise Dropped(self.reason)
            self._ready.clear()
            await self._ready.wait()
        item = self._items.popleft()
        self._space.set()
        return item


async def catch_up(
    hub: Hub,
    store: EventStore,
    sub: Subscriber,
    *,
    has_space: Callable[[], bool],
    wait_space: Callable[[], Awaitable[None]],
    batch: int = 200,
) -> None:
    """Replay ``store`` into ``sub`` from its cursor until it can go live on ``hub``.

    The replay never overfills the sink: it waits for room (``wait_space``) instead of dropping,
    since the client is reading at its own pace. Raises :class:`Dropped` if the subscriber was
    closed meanwhile.
    """
    while not hub.try_go_live(sub):
        if sub.closed:
            raise Dropped("subscriber closed during replay")
        rows = store.read_since(sub.cursor.last_seq, batch)
        if not rows:  # the hub publishes only stored events, so this means a foreign store
            raise Dropped(f"store holds nothing after seq {sub.cursor.last_seq}")
        if rows[0].seq != sub.cursor.last_seq + 1:  # an edge forgot them meanwhile
            raise Dropped(f"events after seq {sub.cursor.last_seq} are no longer kept here")
        for row in rows:
            while not has_space():
                await wait_space()
                if sub.closed:
                    raise Dropped("subscriber closed during replay")
            sub.deliver(hub.frames_of(row))
        await asyncio.sleep(0)


class SpaceAware(Sink, Protocol):
    """A sink the replay can wait on (``has_space`` / ``wait_space``)."""

    def has_space(self) -> bool: ...
    async def wait_space(self) -> None: ...


@contextlib.asynccontextmanager
async def subscription(
    hub: Hub,
    store: EventStore,
    sink: SpaceAware,
    area_ids: Iterable[int] | None,
    after_seq: int | None,
    *,
    internal: bool = False,
) -> AsyncIterator[Subscriber]:
    """``sink`` subscribed after ``after_seq`` (None: from now on) while the block runs: the
    store is replayed into it until it goes live on the hub, then the hub feeds it. A replay
    that cannot finish (the subscriber closed, a store that does not hold the hub's log)
    drops the subscriber, so the sink is told why like any drop."""
    sub = hub.subscribe(sink, area_ids, after_seq, internal=internal)

    async def replay() -> None:
        try:
            await catch_up(hub, store, sub, has_space=sink.has_space, wait_space=sink.wait_space)
        except Dropped as exc:
            hub.drop(sub, str(exc))

    task = asyncio.ensure_future(replay())
    try:
        yield sub
    finally:
        task.cancel()
        hub.unsubscribe(sub)


async def follow(
    hub: Hub,
    store: EventStore,
    after_seq: int | None,
    area_ids: Iterable[int] | None = None,
    *,
    max_items: int = 256,
    channel: str = "queue",
    internal: bool = False,
    first: ControlFrames | None = None,
) -> AsyncIterator[EventFrames | ControlFrames]:
    """Every event after ``after_seq`` (and control messages), each once, in ``seq`` order, from
    a bounded queue (``max_items``; ``first``, if given, comes before them). Raises
    :class:`Dropped` after the last item once the hub dropped the subscriber. Close it with
    ``contextlib.aclosing`` so the subscription ends with the consumer."""
    sink = QueueSink(max_items, channel=channel)
    if first is not None:
        sink.control(first)
    async with subscription(hub, store, sink, area_ids, after_seq, internal=internal):
        while True:
            yield await sink.get()


EventHandler = Callable[[EventFrames], Awaitable[None]]


async def consume(
    hub: Hub,
    store: EventStore,
    handler: EventHandler,
    position: ResumeCursor,
    *,
    max_items: int = 4096,
    channel: str = "channel",
) -> None:
    """Feed every event after ``position`` to ``handler``, in order, forever.

    For in-process channels (MQTT, Web Push, sirens): a drop (the handler fell more than
    ``max_items`` behind) is not fatal; it resubscribes from the last event handled and replays
    the gap from the store. ``position`` moves only after ``handler`` returns, so when the handler
    raises (say the broker went away) the caller can reconnect and call again without losing or
    repeating an event.
    """
    while True:
        items = follow(
            hub, store, position.last_seq, max_items=max_items, channel=channel, internal=True
        )
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    if isinstance(item, EventFrames) and item.seq > position.last_seq:
                        await handler(item)
                        position.accept(item.seq)
        except Dropped:
            continue
