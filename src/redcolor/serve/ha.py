"""Active/standby cores: ``serve --ha-lease nats://... --node-id NAME`` on a shared store.

Two or more live cores run on the same sensors and store; the lease
(:mod:`redcolor.alerts.lease`, on a NATS key-value bucket: :mod:`redcolor.bus.lease`) picks the
one that writes. Every core runs the sensors -> tracker -> prediction -> policy (warm: a
takeover needs no warm-up) and serves the store's log to its clients; only the leader's
lifecycle writes (:class:`~redcolor.alerts.term.TermWriter`: a new store term per leadership,
the lifecycle rebuilt from the log), and only the leader runs the tasks that act on the world:
JetStream publishing, MQTT, sirens, Web Push, the desk's lapses (:func:`leader_only`). The
lease itself is the supervised ``lease`` task; a core whose lease task fails stops counting
itself the leader ``valid_s`` after its last renewal, whatever else happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redcolor.alerts.lease import Leadership, LeaseMachine
from redcolor.alerts.store import EventStore
from redcolor.alerts.term import TermWriter
from redcolor.bus.lease import campaign
from redcolor.bus.login import StreamSpec
from redcolor.serve.metrics import Metrics

log = logging.getLogger("redcolor.serve")
GATE_POLL_S = 0.05
"""How often a leader-only task looks whether this core still leads."""

Run = Callable[[], Awaitable[None]]


class HaCore:
    """This core's part in a group of active/standby cores."""

    def __init__(
        self, node_id: str, spec: StreamSpec, bucket: str, metrics: Metrics, store: EventStore
    ) -> None:
        self.leadership = Leadership(LeaseMachine(node_id, uuid.uuid4().hex), time.monotonic)
        self.spec, self.bucket, self.metrics = spec, bucket, metrics
        self.store = store  # the server's: operators' commands write under the leader's term
        self.store_term: int | None = None
        """The store term this core writes under; None while it is a standby."""
        self.store_fault: str | None = None
        """Why the store refuses this core's writes (full, unreachable); /health is degraded."""
        self.became_leader_unix_s: float | None = None
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def node_id(self) -> str:
        return self.leadership.node_id

    def writer(self) -> TermWriter:
        """The pipeline thread's gate (one per run)."""
        return TermWriter(self.leadership, self._on_term, self._on_fault)

    def _on_fault(self, reason: str | None) -> None:
        self.store_fault = reason

    def _on_term(self, store_term: int | None) -> None:
        self.store_term = store_term
        self.store.write_under(0 if store_term is None else store_term)  # 0: fenced
        self.metrics.ha_leader.set(int(store_term is not None))
        if store_term is None:
            log.warning("%s: standby", self.node_id)
            return
        self.became_leader_unix_s = time.time()
        self.metrics.ha_takeovers.inc()
        log.warning("%s: leader, writing under store term %d", self.node_id, store_term)

    def stop(self) -> None:
        """A clean stop has begun (a signal handler may call this): release the lease now,
        before the server drains its connections, so a standby takes over at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def campaign(self, on_status: Callable[[str | None], None]) -> None:
        self._loop = asyncio.get_running_loop()
        await campaign(
            self.spec,
            self.leadership,
            bucket=self.bucket,
            on_status=on_status,
            on_elected=lambda term: self.metrics.ha_elections.inc(),
            stop=self._stop,
        )

    def leading(self) -> bool:
        return self.leadership.leading_term() is not None

    def health(self, store: EventStore) -> dict[str, Any]:
        """``role`` (leader: it holds the lease and writes under a store term), the store
        ``term`` (the one it writes under, or the store's current one), ``node_id``."""
        leader = self.store_term is not None and self.leading()
        term = self.store_term if leader and self.store_term is not None else store.term()
        return {
            "role": "leader" if leader else "standby",
            "term": term,
            "node_id": self.node_id,
            "lease_term": self.leadership.role().lease_term,
            "leader_since_unix_s": self.became_leader_unix_s if leader else None,
        }


def leader_only(ha: HaCore, run: Run) -> Run:
    """``run`` while this core leads: started when it wins the lease, cancelled at once when it
    stops leading, started again on the next win. A fault of ``run`` is raised (its
    supervisor restarts this gate)."""

    async def gated() -> None:
        while True:
            while not ha.leading():
                await asyncio.sleep(GATE_POLL_S)
            task = asyncio.ensure_future(run())
            try:
                while ha.leading() and not task.done():
                    await asyncio.wait({task}, timeout=GATE_POLL_S)
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if task.done() and not task.cancelled():
                task.result()  # its fault, if it failed; a task that finished stays finished
                return

    return gated
