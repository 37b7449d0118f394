"""The lifecycle of one store, kept across restarts: one writer at a time, checkpointed.

:class:`DurableLifecycle` wraps the pure :func:`~redcolor.alerts.lifecycle.apply`: it starts
from the store's checkpoint (see :mod:`redcolor.alerts.checkpoint` for why a checkpoint), and
each step writes its events and the checkpoint after them in one transaction. The pipeline and
the server's lifecycle keeper both drive a store's lifecycle through it.

One writer at a time: :class:`LifecycleLock` is an exclusive ``flock`` on ``<db>-lifecycle.lock``
that whoever drives the lifecycle holds (the kernel frees it when the process dies, kill -9
included, so a dead writer never blocks the next one). As a second guard, each write checks
that neither the checkpoint nor the log moved since the writer last looked; if either did, it
folds what is new and tries again, so even a writer that ignored the lock cannot make the
lifecycle issue an event twice.

The log's times never run backwards: an event is stored with its ``issued_at`` no earlier than
the last stored event's (and its ``expires_at`` no earlier than that), whoever wrote that one.
Each writer stamps events from its own clock, and after a takeover the new leader's clock may
be behind the old one's (seconds of skew between machines): without the floor an all-clear could
read as issued before the alert it ends, and a client ordering by time would disagree with the
log's order. The lifecycle itself keeps the writer's clock; only what is stored is held up.

Operators write beside the pipeline without the lock (:mod:`redcolor.alerts.operate`, from the
server): the optimistic check is what keeps the two apart. Whichever writes second gets a
:class:`~redcolor.alerts.store.CheckpointConflict`, reloads (the other's events and state
included) and applies its own decisions or commands again; a command that no longer checks
against the reloaded state raises its error instead.
"""

from __future__ import annotations

import fcntl
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import msgspec

from redcolor.alerts.checkpoint import Clock, encode, rebuild, shift
from redcolor.alerts.commands import Command
from redcolor.alerts.lifecycle import (
    LifecycleConfig,
    LifecycleState,
    apply,
    record_stored,
)
from redcolor.alerts.store import CheckpointConflict, EventStore
from redcolor.errors import StoreError
from redcolor.model import AlertEvent
from redcolor.warning.base import ThreatDecision

_RETRIES = 3


class LifecycleLock:
    """Exclusive right to write a store's lifecycle (a no-op for an in-memory store)."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = None if str(db_path) == ":memory:" else Path(f"{db_path}-lifecycle.lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self.path is None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this object holds it."""
        if self.held:
            return True
        assert self.path is not None
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def acquire(self) -> None:
        """Take the lock or raise StoreError (one line) naming who holds it."""
        if not self.try_acquire():
            raise StoreError(
                f"the alert lifecycle of {self.path} is being written by {self.holder()};"
                " wait for it to finish or use another --db"
            )

    def holder(self) -> str:
        """Who holds the lock, for a message (the pid written in the lock file)."""
        try:
            pid = self.path.read_text().strip() if self.path is not None else ""
        except OSError:
            pid = ""
        return f"process {pid}" if pid else "another process"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class DurableLifecycle:
    """A store's lifecycle in the caller's clock (store time minus ``offset_s``).

    Parameters
    ----------
    store : the store to read the checkpoint from and write events to.
    shelter_s : shelter time per area (area data, not kept in the checkpoint).
    config : the writer's own settings (a pipeline's run id and hold); None keeps the
        checkpoint's (a keeper).
    clock : the writer's clock, recorded in each checkpoint; None keeps the checkpoint's.
    offset_s : store time minus the caller's time (a simulation shifted to start now).
    """

    def __init__(
        self,
        store: EventStore,
        shelter_s: Mapping[int, int],
        *,
        config: LifecycleConfig | None = None,
        clock: Clock | None = None,
        offset_s: float = 0.0,
    ) -> None:
        self.store = store
        self.shelter_s = shelter_s
        self.offset_s = offset_s
        self._config = config
        self._clock = clock
        self.state: LifecycleState
        self.clock: Clock
        self.version = 0
        self.seq = 0
        self.issued_floor_unix_s = -math.inf
        """The last stored event's ``issued_at`` (store clock): no event is stored earlier."""
        self.load()

    def load(self) -> None:
        """(Re)read the checkpoint and fold every event stored after it."""
        saved = self.store.checkpoint()
        after = 0 if saved is None else saved.seq
        events: list[AlertEvent] = []
        while rows := self.store.read_since(after, 1000):
            events.extend(row.decode() for row in rows)
            after = rows[-1].seq
        config = self._config or LifecycleConfig(self.shelter_s)
        state, clock = rebuild(
            self.shelter_s,
            None if saved is None else saved.body,
            events,
            hold_s=config.hold_s,
            run_id=config.run_id,
        )
        if self._config is not None:
            state = replace(state, config=self._config)
        self.state = shift(state, -self.offset_s)
        self.clock = clock if self._clock is None else self._clock
        self.version = 0 if saved is None else saved.version
        self.seq = after
        last = events[-1:] or [r.decode() for r in self.store.read_since(after - 1, 1)]
        self.issued_floor_unix_s = last[0].issued_at_unix_s if last else -math.inf

    def refresh(self) -> None:
        """Reload if anyone wrote to the store since this lifecycle last looked; write the
        checkpoint if events without one had to be folded (so the next look is quick)."""
        saved = self.store.checkpoint()
        if (0 if saved is None else saved.version, self.store.last_seq()) != (
            self.version,
            self.seq,
        ):
            self.load()
            saved = self.store.checkpoint()
        if self.seq != (0 if saved is None else saved.seq):
            try:
                self._write(self.state, [])
            except CheckpointConflict:
                self.load()

    def step(
        self,
        decisions: Sequence[ThreatDecision],
        now_unix_s: float,
        commands: Sequence[Command] = (),
    ) -> tuple[list[AlertEvent], list[AlertEvent]]:
        """Apply one step (decisions, then operator ``commands``); return its events in the
        caller's clock and as stored (both with their ``seq``). The checkpoint is written
        whenever the state changed. A command that does not check raises its error
        (:func:`~redcolor.alerts.lifecycle.check_command`) and nothing is written."""
        for _ in range(_RETRIES):
            new, events = apply(self.state, decisions, now_unix_s, commands)
            if not events and _same(new, self.state):
                return [], []
            try:
                stored = self._write(new, events)
            except CheckpointConflict:
                self.load()
                continue
            in_caller_clock = [
                msgspec.structs.replace(e, seq=s.seq) for e, s in zip(events, stored, strict=True)
            ]
            return in_caller_clock, stored
        raise StoreError(f"the alert lifecycle of {self.store.path} keeps changing under it")

    def _write(self, new: LifecycleState, events: list[AlertEvent]) -> list[AlertEvent]:
        after: list[LifecycleState] = []

        def checkpoint(stored: list[AlertEvent]) -> bytes:
            after.append(record_stored(new, stored))
            return encode(shift(after[0], self.offset_s), self.clock)

        shifted, floor = _held_up(
            [_shift_event(e, self.offset_s) for e in events], self.issued_floor_unix_s
        )
        stored, saved = self.store.append_checkpointed(shifted, checkpoint, self.version, self.seq)
        self.state, self.version, self.seq = after[0], saved.version, saved.seq
        self.issued_floor_unix_s = floor
        return stored


def _same(a: LifecycleState, b: LifecycleState) -> bool:
    """Whether two states remember the same (the config aside, which a step never changes)."""
    return replace(a, config=b.config) == b


def _held_up(events: list[AlertEvent], floor_unix_s: float) -> tuple[list[AlertEvent], float]:
    """``events`` with each ``issued_at`` (and ``expires_at``) no earlier than the one before
    it, the first no earlier than ``floor_unix_s``; and the last ``issued_at`` (module
    docstring)."""
    out = []
    for event in events:
        if event.issued_at_unix_s < floor_unix_s:
            expires = event.expires_at_unix_s
            event = msgspec.structs.replace(
                event,
                issued_at_unix_s=floor_unix_s,
                expires_at_unix_s=None if expires is None else max(expires, floor_unix_s),
            )
        floor_unix_s = event.issued_at_unix_s
        out.append(event)
    return out, floor_unix_s


def _shift_event(event: AlertEvent, offset_s: float) -> AlertEvent:
    if offset_s == 0.0:
        return event
    expires = event.expires_at_unix_s
    return msgspec.structs.replace(
        event,
        issued_at_unix_s=event.issued_at_unix_s + offset_s,
        expires_at_unix_s=None if expires is None else expires + offset_s,
    )
