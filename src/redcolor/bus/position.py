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
"""

from __future__ import annotations

import asyncio
import logging
import time

from redcolor.alerts.store import SQLiteEventStore
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
        self, store: SQLiteEventStore, channel: str, start_seq: int, *, flush_s: float = 0.1
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
