"""Fan-out of the alert event log to subscribers: a plain object, no event loop, no clock.

A subscriber is a sink plus an area filter plus a :class:`ResumeCursor`. It starts *catching up*
(its adapter replays the store from the client's ``since``) and turns *live* only when its cursor
has reached the hub's last published ``seq``; the check and the switch happen in one call, so no
event can fall between the replay and the live feed, and the cursor drops anything already
delivered. Together that gives every subscriber each event exactly once, in ``seq`` order.

A sink that cannot take an event (its bounded buffer is full) is dropped with a reason; the other
subscribers never wait for it. The client resumes from the last ``seq`` it holds.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from redcolor.alerts.store import StoredEvent
from redcolor.bus.frames import ControlFrames, EventFrames

FRAME_CACHE_EVENTS = 4096
"""Events whose frames the hub keeps (the live tail and what resuming clients replay)."""


class Sink(Protocol):
    """Where a subscriber's bytes go. ``offer`` never blocks."""

    def offer(self, frames: EventFrames) -> bool:
        """Take one event; return False when the client is too far behind to take it."""
        ...

    def control(self, frames: ControlFrames) -> None:
        """Take a control message if there is room (heartbeats may be skipped)."""
        ...

    def dropped(self, reason: str) -> None:
        """Called once when the hub gives up on this subscriber."""
        ...


class ResumeCursor:
    """Exactly-once, in-order admission of events past a resume point.

    Examples
    --------
    >>> c = ResumeCursor(after_seq=3)
    >>> [c.accept(s) for s in (2, 3, 4, 4, 5)]
    [False, False, True, False, True]
    >>> c.last_seq
    5
    """

    __slots__ = ("last_seq",)

    def __init__(self, after_seq: int) -> None:
        if after_seq < 0:
            raise ValueError("after_seq must be >= 0")
        self.last_seq = after_seq

    def accept(self, seq: int) -> bool:
        """True the first time a ``seq`` above the cursor is seen; moves the cursor to it."""
        if seq <= self.last_seq:
            return False
        self.last_seq = seq
        return True


@dataclass(eq=False, slots=True)
class Subscriber:
    """One client of the hub. ``area_ids`` None means every area. ``internal`` subscribers are
    the server's own channels (MQTT, push, sirens): not counted as client deliveries and sent
    no heartbeats."""

    sink: Sink
    area_ids: frozenset[int] | None
    cursor: ResumeCursor
    internal: bool = False
    live: bool = False
    closed: bool = False

    def wants(self, frames: EventFrames) -> bool:
        return self.area_ids is None or not self.area_ids.isdisjoint(frames.area_ids)

    def deliver(self, frames: EventFrames) -> bool:
        """Pass ``frames`` to the sink if new and wanted; False when the sink refused it."""
        if not self.cursor.accept(frames.seq) or not self.wants(frames):
            return True
        return self.sink.offer(frames)


DropHook = Callable[[Subscriber, str], None]


class Hub:
    """Publishes events in ``seq`` order to live subscribers.

    Parameters
    ----------
    log_id : str
        The id of the log whose events it publishes (every frame names it).
    last_seq : int
        The ``seq`` already published before this hub started (new subscribers without a
        ``since`` start after it).
    on_drop : callable, optional
        Called as ``on_drop(subscriber, reason)`` whenever a subscriber is dropped.
    """

    def __init__(self, log_id: str, last_seq: int = 0, on_drop: DropHook | None = None) -> None:
        self.log_id = log_id
        self.last_seq = last_seq
        self._on_drop = on_drop
        self._all: dict[Subscriber, None] = {}
        self._by_area: dict[int, dict[Subscriber, None]] = {}
        self._internal: dict[Subscriber, None] = {}
        self._frames: OrderedDict[tuple[str, int], EventFrames] = OrderedDict()

    def frames_of(self, stored: StoredEvent, published_mono_s: float = 0.0) -> EventFrames:
        """The frames of a stored event of this log, built (and decoded) once and shared by
        every client that is sent it, live or in a replay (the last FRAME_CACHE_EVENTS kept).
        ``published_mono_s`` is set when the follower publishes it."""
        key = (self.log_id, stored.seq)
        frames = self._frames.get(key)
        if frames is None:
            frames = EventFrames.build(stored, self.log_id, published_mono_s)
            self._frames[key] = frames
            if len(self._frames) > FRAME_CACHE_EVENTS:
                self._frames.popitem(last=False)
        elif published_mono_s and not frames.published_mono_s:  # replayed before published
            frames = dataclasses.replace(frames, published_mono_s=published_mono_s)
            self._frames[key] = frames
        return frames

    def subscribe(
        self,
        sink: Sink,
        area_ids: Iterable[int] | None = None,
        after_seq: int | None = None,
        *,
        internal: bool = False,
    ) -> Subscriber:
        """A new catching-up subscriber; ``after_seq`` None means "from now on"."""
        start = self.last_seq if after_seq is None else after_seq
        areas = None if area_ids is None else frozenset(area_ids)
        return Subscriber(sink, areas, ResumeCursor(start), internal=internal)

    def try_go_live(self, sub: Subscriber) -> bool:
        """Make ``sub`` live if its cursor has caught up with the hub; else False (replay more)."""
        if sub.closed:
            return False
        if sub.cursor.last_seq < self.last_seq:
            return False
        sub.live = True
        if sub.internal:
            self._internal[sub] = None
        elif sub.area_ids is None:
            self._all[sub] = None
        else:
            for area in sub.area_ids:
                self._by_area.setdefault(area, {})[sub] = None
        return True

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget ``sub`` (idempotent)."""
        sub.closed = True
        if not sub.live:
            return
        sub.live = False
        if sub.internal:
            self._internal.pop(sub, None)
            return
        if sub.area_ids is None:
            self._all.pop(sub, None)
            return
        for area in sub.area_ids:
            subs = self._by_area.get(area)
            if subs is not None:
                subs.pop(sub, None)
                if not subs:
                    del self._by_area[area]

    def drop(self, sub: Subscriber, reason: str) -> None:
        """Stop feeding ``sub`` and tell its sink why."""
        if sub.closed:
            return
        self.unsubscribe(sub)
        sub.sink.dropped(reason)
        if self._on_drop is not None:
            self._on_drop(sub, reason)

    def _targets(self, frames: EventFrames) -> list[Subscriber]:
        targets = list(self._all)
        if self._by_area:
            seen: set[Subscriber] = set()
            for area in frames.area_ids:
                for sub in self._by_area.get(area, ()):
                    if sub not in seen:
                        seen.add(sub)
                        targets.append(sub)
        return targets

    def publish(self, frames: EventFrames) -> int:
        """Deliver one event to every live subscriber that wants it; return the deliveries to
        client (not internal) subscribers.

        Events must come in increasing ``seq`` order (the store's order).
        """
        if frames.seq <= self.last_seq:
            raise ValueError(f"seq {frames.seq} published after {self.last_seq}")
        self.last_seq = seq = frames.seq
        delivered = 0
        too_slow: list[Subscriber] = []
        for sub in self._targets(frames):  # Subscriber.deliver, inlined: this loop is the hot path
            cursor = sub.cursor
            if seq <= cursor.last_seq:
                continue
            cursor.last_seq = seq
            if sub.area_ids is not None and sub.area_ids.isdisjoint(frames.area_ids):
                continue
            if sub.sink.offer(frames):
                delivered += 1
            else:
                too_slow.append(sub)
        too_slow += [sub for sub in list(self._internal) if not sub.deliver(frames)]
        for sub in too_slow:
            self.drop(sub, f"client too slow: buffer full at seq {frames.seq}")
        return delivered

    def control(self, frames: ControlFrames) -> None:
        """Send a control message (e.g. a heartbeat) to every live subscriber."""
        for sub in list(self._all):
            sub.sink.control(frames)
        seen: set[Subscriber] = set()
        for subs in list(self._by_area.values()):
            for sub in list(subs):
                if sub not in seen:
                    seen.add(sub)
                    sub.sink.control(frames)
