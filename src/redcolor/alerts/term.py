"""The pipeline thread's side of the leader lease: a core writes its lifecycle only while it
leads, each leadership under a store term of its own (the store fences the older ones)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lease import Leadership
from redcolor.alerts.store import Fenced
from redcolor.errors import StoreError

log = logging.getLogger("redcolor.lease")


class TermWriter:
    """The pipeline thread's side of the lease: whether its lifecycle may write now.

    While the core is a standby, :meth:`admit` says no (the caller still runs its policy, so it
    stays warm, and writes nothing). The first step after this core wins a lease term takes a
    new store term (``store.take_term(node_id)``: from then on the store refuses the deposed
    leader's writes), rebuilds the lifecycle from the log (``lifecycle.load()``: the old
    leader's active alerts and pending schedules) and tells the caller, once, to decide on every
    current prediction (:meth:`taking_over`). :meth:`failed` is for a write the store refused
    (fenced, or unreachable): the core steps down at once. ``on_change(store_term)`` (None:
    standby) is called from the pipeline thread whenever that changes; ``on_fault(reason)``
    when the store starts refusing writes (not fenced: full, unreachable; logged once per
    distinct reason, not at every retry) and ``on_fault(None)`` once a term is taken again.
    """

    def __init__(
        self,
        leadership: Leadership,
        on_change: Callable[[int | None], None] | None = None,
        on_fault: Callable[[str | None], None] | None = None,
    ) -> None:
        self.leadership = leadership
        self.on_change = on_change
        self.on_fault = on_fault
        self.fault: str | None = None
        """Why the store refuses this core's writes (not fenced), None while it takes them."""
        self.store_term: int | None = None
        self._lease_term: int | None = None
        self._fresh = False

    def admit(self, lifecycle: DurableLifecycle) -> bool:
        term = self.leadership.leading_term()
        if term is None:
            self._standby()
            return False
        if term != self._lease_term:
            self.store_term = lifecycle.store.take_term(self.leadership.node_id)
            lifecycle.load()
            self._lease_term, self._fresh = term, True
            if self.fault is not None:
                log.warning("%s: the store takes writes again", self.leadership.node_id)
                self._set_fault(None)
            if self.on_change is not None:
                self.on_change(self.store_term)
        return True

    def taking_over(self) -> bool:
        """True once after a takeover: decide on every current prediction, not only the
        changed ones (the standby's decisions were never applied)."""
        fresh, self._fresh = self._fresh, False
        return fresh

    def failed(self, exc: StoreError) -> None:
        """A write failed: fenced by a newer leader, or the store unreachable. Step down at
        once; a lease this core wins again starts a new store term (and rebuilds)."""
        fenced = isinstance(exc, Fenced)
        if fenced or str(exc) != self.fault:
            kind = "fenced" if fenced else "store error"
            log.warning("%s steps down (%s): %s", self.leadership.node_id, kind, exc)
        if not fenced:
            self._set_fault(str(exc))
        self.leadership.step_down()
        self._standby()

    def _set_fault(self, reason: str | None) -> None:
        self.fault = reason
        if self.on_fault is not None:
            self.on_fault(reason)

    def _standby(self) -> None:
        if self._lease_term is None:
            return
        self._lease_term = self.store_term = None
        if self.on_change is not None:
            self.on_change(None)
