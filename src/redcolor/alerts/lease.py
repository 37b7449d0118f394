"""The leader lease of a group of cores: which one writes the store's lifecycle (pure, no I/O).

Two or more cores run on the same sensors and store; exactly one leads. The lease is one record
in a compare-and-swap register (a NATS JetStream key-value bucket, :mod:`redcolor.bus.lease`):
``(holder, instance, term)`` at a ``revision`` that every write must name (``last``) and that
every successful write moves on. :class:`LeaseMachine` decides, for one core, what to write and
when, and whether it may act as the leader now; its adapter does the reads and writes.

Time is the core's MONOTONIC clock only (``time.monotonic``), never the wall clock, so a skewed
or stepped wall clock cannot move a takeover, and nobody compares clocks of two machines:

* the leader renews every ``renew_s``; it counts itself valid only until the moment it *sent*
  its last successful write plus ``valid_s`` (< ``ttl_s``), so it steps down before anyone can
  take over even when the reply was slow;
* a candidate judges the lease expired when the revision it reads has not moved for ``ttl_s``
  since it FIRST read that revision (after the leader wrote it), then writes itself with
  ``last`` = that revision: if the leader renewed meanwhile the write is refused, so two
  candidates, or a late renewal and a takeover, can never both succeed;
* a clean stop writes the record released (holder ``""``): candidates take it at once;
* every takeover raises the term by one. The term here says which leadership this is; the events
  carry the store's own term (``take_term``), which the store checks on every write (fencing).

Safety assumes the monotonic clocks of the cores run at the same rate to well within
``(ttl_s - valid_s) / ttl_s`` (20 % with the defaults), which any working clock does.
Defaults (assumption, measured to work on a loaded 2-core machine): TTL 1.2 s, renew 0.25 s,
valid 0.95 s, candidates read every 0.1 s, so a dead leader is replaced within about 1.3 s and a
released one within about 0.1 s.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from redcolor.errors import InputError

RELEASED = ""
"""The holder of a released lease (a clean stop)."""


@dataclass(frozen=True)
class LeaseTiming:
    """The lease's periods (s, monotonic clock); see the module docstring."""

    ttl_s: float = 1.2
    renew_s: float = 0.25
    valid_s: float = 0.95
    poll_s: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.renew_s < self.valid_s < self.ttl_s:
            raise InputError(
                f"lease timing needs 0 < renew ({self.renew_s:g} s) < valid ({self.valid_s:g} s)"
                f" < ttl ({self.ttl_s:g} s)"
            )
        if not 0 < self.poll_s <= self.renew_s:
            raise InputError(f"lease poll {self.poll_s:g} s must be in (0, renew]")


@dataclass(frozen=True)
class Holding:
    """What the register holds: ``holder`` (a node id, :data:`RELEASED` when free), the
    ``instance`` (one process of that node), the ``term``, at ``revision`` (0: never written)."""

    holder: str
    instance: str
    term: int
    revision: int


NOBODY = Holding(RELEASED, "", 0, 0)
"""An empty register (the key does not exist yet)."""


@dataclass(frozen=True)
class Write:
    """Write ``holding``'s holder, instance and term if the register is still at ``last``."""

    holding: Holding
    last: int


class LeaseMachine:
    """One core's view of the lease (module docstring). Every method takes ``now_s``, the
    core's monotonic time; the caller serialises the calls (:class:`Leadership` does)."""

    def __init__(self, node_id: str, instance: str, timing: LeaseTiming | None = None) -> None:
        if not node_id or node_id == RELEASED:
            raise InputError("a node id must not be empty")
        self.node_id = node_id
        self.instance = instance
        self.timing = timing or LeaseTiming()
        self.seen: Holding | None = None
        self._seen_since_s = -math.inf
        self._valid_until_s = -math.inf
        self._sent_s = -math.inf

    @property
    def term(self) -> int:
        """The term of the last record read or written."""
        return 0 if self.seen is None else self.seen.term

    def _mine(self, held: Holding) -> bool:
        return held.holder == self.node_id and held.instance == self.instance

    def is_leader(self, now_s: float) -> bool:
        """Whether this core may act as the leader now (it holds the lease and is within
        ``valid_s`` of sending its last successful write)."""
        return self.seen is not None and self._mine(self.seen) and now_s < self._valid_until_s

    def observe(self, held: Holding, now_s: float) -> None:
        """The register was read (at ``now_s``, after the read returned) and holds ``held``."""
        if self.seen is None or held.revision != self.seen.revision:
            self.seen = held
            self._seen_since_s = now_s
        if not self._mine(held):  # superseded (or never ours)
            self._valid_until_s = -math.inf

    def due(self, now_s: float) -> Write | None:
        """The write to attempt now, or None (read again, :meth:`wait_s` later)."""
        seen = self.seen
        if seen is None:
            return None
        mine = Holding(self.node_id, self.instance, seen.term, 0)
        if self._mine(seen):
            if self.is_leader(now_s):
                if now_s - self._sent_s >= self.timing.renew_s:
                    return Write(mine, seen.revision)  # renew
                return None
            # our own lapsed lease (a stall): the compare-and-swap proves nobody took it since,
            # but it is a new leadership, so a new term (the writer takes the store term again)
            return Write(Holding(self.node_id, self.instance, seen.term + 1, 0), seen.revision)
        expired = now_s - self._seen_since_s >= self.timing.ttl_s
        if seen.holder == RELEASED or expired:
            return Write(Holding(self.node_id, self.instance, seen.term + 1, 0), seen.revision)
        return None

    def written(self, write: Write, revision: int, sent_s: float) -> None:
        """``write`` (sent at ``sent_s``, before the request went out) succeeded at
        ``revision``: this core leads until ``sent_s + valid_s``."""
        held = write.holding
        self.seen = Holding(held.holder, held.instance, held.term, revision)
        self._seen_since_s = sent_s
        self._sent_s = sent_s
        self._valid_until_s = sent_s + self.timing.valid_s

    def refused(self) -> None:
        """A write was refused (the register moved on): not the leader; read again."""
        self.seen = None
        self._valid_until_s = -math.inf

    def resign(self) -> Write | None:
        """Stop leading at once (a clean stop, or fenced by the store); the write that
        releases the lease when this core held it (None otherwise)."""
        held = self.seen
        was_mine = held is not None and self._mine(held)
        self._valid_until_s = -math.inf
        if not was_mine or held is None:
            return None
        return Write(Holding(RELEASED, "", held.term, 0), held.revision)

    def wait_s(self, now_s: float) -> float:
        """How long to sleep before the next :meth:`due` or read."""
        if self.is_leader(now_s):
            return max(0.0, self._sent_s + self.timing.renew_s - now_s)
        return self.timing.poll_s


@dataclass(frozen=True)
class Role:
    """What a core is now, for ``/health``: ``leader`` or ``standby``, the lease term."""

    leader: bool
    lease_term: int


class Leadership:
    """A :class:`LeaseMachine` shared by the lease task (event loop) and the pipeline thread,
    behind a lock; ``clock`` is the monotonic clock (a fake one in tests)."""

    def __init__(self, machine: LeaseMachine, clock: Callable[[], float]) -> None:
        self.machine = machine
        self.clock = clock
        self.lock = threading.Lock()

    @property
    def node_id(self) -> str:
        return self.machine.node_id

    def leading_term(self) -> int | None:
        """The lease term this core leads under now, None while it is a standby."""
        with self.lock:
            machine = self.machine
            return machine.term if machine.is_leader(self.clock()) else None

    def role(self) -> Role:
        with self.lock:
            machine = self.machine
            return Role(machine.is_leader(self.clock()), machine.term)

    def step_down(self) -> None:
        """Stop leading now (the store fenced this core): a newer leader writes."""
        with self.lock:
            self.machine.refused()
