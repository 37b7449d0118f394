"""The feed that carries received scans from the event loop to the pipeline thread.

The UDP receiver (event loop thread) calls :meth:`LiveFeed.put` with each completed scan and
:meth:`LiveFeed.tick` periodically; the pipeline thread iterates the feed, blocking until there
is something, and gets :class:`~redcolor.sensors.ingest.Received` scans and :class:`Tick` items
in the order they were given. A tick means "no more data up to ``t_unix_s``": the pipeline may
run its lifecycles to then (all-clears while the radars are quiet). Ticks never go backwards,
and a tick that finds the previous one still unread replaces it (a slow pipeline reads one tick,
not a backlog of them). Scans are never dropped or merged: the queue is unbounded, and
:attr:`LiveFeed.pending` says how far behind the pipeline is. After :meth:`LiveFeed.close` the
iteration yields what is queued, then stops; later puts and ticks are ignored.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from redcolor.sensors.ingest import Received


@dataclass(frozen=True, slots=True)
class Tick:
    """No more data up to ``t_unix_s``: let the lifecycles run to then."""

    t_unix_s: float


class LiveFeed:
    """A thread-safe, blocking, in-order queue of :class:`Received` and :class:`Tick`."""

    def __init__(self) -> None:
        self._items: deque[Received | Tick] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._closed = False
        self._last_tick_unix_s = float("-inf")

    @property
    def pending(self) -> int:
        """Items put and not yet taken."""
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, received: Received) -> None:
        """Queue one scan (ignored after :meth:`close`)."""
        with self._ready:
            if self._closed:
                return
            self._items.append(received)
            self._ready.notify()

    def tick(self, now_unix_s: float) -> None:
        """Queue a :class:`Tick` at ``now_unix_s`` unless it is not after the last one."""
        with self._ready:
            if self._closed or not now_unix_s > self._last_tick_unix_s:
                return
            self._last_tick_unix_s = now_unix_s
            if self._items and isinstance(self._items[-1], Tick):
                self._items[-1] = Tick(now_unix_s)
            else:
                self._items.append(Tick(now_unix_s))
            self._ready.notify()

    def close(self) -> None:
        """End the iteration once the queued items are taken; wakes a blocked reader."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __iter__(self) -> LiveFeed:
        return self

    def __next__(self) -> Received | Tick:
        with self._ready:
            while not self._items:
                if self._closed:
                    raise StopIteration
                self._ready.wait()
            return self._items.popleft()
