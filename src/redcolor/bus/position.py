"""Durable channel positions: each channel delivers from where it durably left off.

A :class:`DurableCursor` is a :class:`~redcolor.bus.hub.ResumeCursor` whose ``last_seq`` is kept
in the store's ``channel_positions`` table, so after a restart (kill -9 included) MQTT, Web Push
and the sirens deliver every event stored since, including those stored while the server was
down. :func:`~redcolor.bus.follow.consume` moves it only after the channel's handler returned.

Delivery is **at least once**: the position is written at most every ``flush_s`` (100 ms by
default; one small SQLite write each, about 1 ms with ``synchronous=FULL``, so at most ~10 a
second per channel however many events flow), and a timer writes the last one after a burst;
a crash can therefore repeat up to ``flush_s`` worth of events. Downstream dedupes by
(``id``, ``seq``), as every client of the log already must.

Where a channel starts: at its stored position; a channel with no row yet (a fresh store, a
store from before positions were kept, or a channel just turned on) starts at ``start_seq``,
the end of the log when the server opened the store, so an upgraded store does not flood a
broker with its whole history, and a fresh one starts at 0.

A channel that hands events on to senders of its own (Web Push: a queue per subscription) wraps
its durable cursor in a :class:`LowWaterCursor`, so the stored position passes an event only
once every send owed for it is finished, not when it was queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from redcolor.alerts.store import EventStore
from redcolor.bus.hub import ResumeCursor
from redcolor.errors import StoreError

log = logging.getLogger("redcolor.bus")


class DurableCursor(ResumeCursor):
    """In-order admission of events past a position that survives restarts.

    Examples
    --------
    >>> from redcolor.alerts.store import SQLiteEventStore
    >>> store = SQLiteEventStore(":memory:")
    >>> c = DurableCursor(store, "mqtt", start_seq=3, flush_s=0.0)
    >>> [c.accept(s) for s in (2, 3, 4, 4, 5)]
    [False, False, True, False, True]
    >>> DurableCursor(store, "mqtt", start_seq=0).last_seq
    5
    """

    def __init__(
        self, store: EventStore, channel: str, start_seq: int, *, flush_s: float = 0.1
    ) -> None:
        if start_seq < 0:
            raise ValueError("start_seq must be >= 0")
        super().__init__(store.channel_position(channel, start_seq))
        self.store = store
        self.channel = channel
        self.flush_s = flush_s
        self._saved_seq = self.last_seq
        self._saved_mono_s = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    def accept(self, seq: int) -> bool:
        """True the first time a ``seq`` above the cursor is seen; moves the cursor to it and
        writes it to the store (now, or within ``flush_s``)."""
        if seq <= self.last_seq:
            return False
        self.last_seq = seq
        wait_s = self._saved_mono_s + self.flush_s - time.monotonic()
        if wait_s <= 0:
            self.flush()
        elif self._timer is None:
            try:
                self._timer = asyncio.get_running_loop().call_later(wait_s, self.flush)
            except RuntimeError:  # no event loop: write now
                self.flush()
        return True

    def flush(self) -> None:
        """Write the position now if it moved (call when the channel stops)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.last_seq == self._saved_seq:
            return
        try:
            self.store.save_channel_position(self.channel, self.last_seq)
        except StoreError as exc:  # delivery goes on; the position is written next time
            log.warning("channel %s: position %d not saved: %s", self.channel, self.last_seq, exc)
            return
        self._saved_seq = self.last_seq
        self._saved_mono_s = time.monotonic()


class LowWaterCursor(ResumeCursor):
    """A resume cursor for a channel whose sends finish out of order; moves ``durable`` only
    past events whose every send is finished. Sans-I/O: it does no waiting and no writing of
    its own (``durable`` does the writing).

    ``last_seq`` is the last event handed on (:func:`~redcolor.bus.follow.consume` resumes a
    dropped subscription from it, as with any cursor). While handling an event the channel
    calls :meth:`owe` once per send it queued for it (none if it queued nothing: a message it
    could not queue is counted by the channel, never owed, so it cannot hold the mark), and
    :meth:`finish` once per send when it is done with it however that went. :attr:`mark` is
    the low-water mark: the highest seq with nothing owed at or below it; ``durable`` is moved
    to it at every change. One send that takes long holds the mark (and so, after a crash, more
    is delivered again) but no other send.

    Examples
    --------
    >>> durable = ResumeCursor(0)
    >>> c = LowWaterCursor(durable)
    >>> c.owe(1); c.owe(1); c.accept(1)
    True
    >>> c.owe(2); c.accept(2); c.accept(3)  # 3 owes nothing
    True
    True
    >>> c.finish(2); durable.last_seq  # 1 is still owed twice
    0
    >>> c.finish(1); c.finish(1); durable.last_seq
    3
    """

    __slots__ = ("_order", "_owed", "durable")

    def __init__(self, durable: ResumeCursor) -> None:
        super().__init__(durable.last_seq)
        self.durable = durable
        self._owed: dict[int, int] = {}
        self._order: deque[int] = deque()  # seqs owed, ascending (finished ones popped lazily)

    def owe(self, seq: int) -> None:
        """One more send is owed for event ``seq`` (not yet accepted: the one being handled)."""
        if seq <= self.last_seq or (self._order and seq < self._order[-1]):
            raise ValueError(f"seq {seq} is owed out of order (handed on up to {self.last_seq})")
        if seq not in self._owed:
            self._owed[seq] = 0
            self._order.append(seq)
        self._owed[seq] += 1

    def accept(self, seq: int) -> bool:
        """Event ``seq`` is handed on (every send it needs is owed); True if it was new."""
        if not super().accept(seq):
            return False
        self.durable.accept(self.mark)
        return True

    def finish(self, seq: int) -> None:
        """One send owed for ``seq`` is done (accepted, given up on, or no longer wanted)."""
        left = self._owed.get(seq, 0) - 1
        if left < 0:
            raise ValueError(f"nothing is owed for seq {seq}")
        if left:
            self._owed[seq] = left
            return
        del self._owed[seq]
        self.durable.accept(self.mark)

    @property
    def mark(self) -> int:
        """The highest seq handed on with no send owed for it or any seq before it."""
        while self._order and self._order[0] not in self._owed:
            self._order.popleft()
        return min(self._order[0] - 1, self.last_seq) if self._order else self.last_seq
