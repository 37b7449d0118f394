"""The lifecycle keeper: brings open alerts to their all-clear when no pipeline is running.

After a restart (or when the pipeline stops or dies) nobody else would: the lifecycle's
scheduled alerts and all-clears happen only when someone calls ``apply``. The keeper owns the
store's lifecycle whenever it can take the :class:`~redcolor.alerts.durable.LifecycleLock`
(a pipeline in this process or another holds it while it runs, so there is one writer at a
time and nothing is issued twice). Holding it, the keeper rebuilds the lifecycle from the
store's checkpoint, sleeps until the next scheduled alert or all-clear
(:func:`~redcolor.alerts.lifecycle.next_due_unix_s`, mapped to wall time by the run's clock),
applies with no decisions, appends the events with the checkpoint and wakes the follower. With
nothing open it lets the lock go, so a pipeline can start, and looks again every ``idle_s``.

Edge servers (``--nats-follow``) never run a keeper: they only copy the core's log.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redcolor.alerts.durable import DurableLifecycle, LifecycleLock
from redcolor.alerts.lifecycle import next_due_unix_s
from redcolor.serve.state import ServerState

log = logging.getLogger("redcolor.keeper")


async def run_keeper(state: ServerState, *, idle_s: float = 1.0) -> None:
    """Keep the lifecycle of ``state``'s store until cancelled."""
    lock = LifecycleLock(state.config.db)
    shelter_s = {a.id: a.shelter_s for a in state.areas.areas}
    lifecycle: DurableLifecycle | None = None
    try:
        while True:
            if not lock.try_acquire():
                lifecycle = None  # someone else writes it; read it afresh when it is ours
                await asyncio.sleep(idle_s)
                continue
            if lifecycle is None:
                lifecycle = DurableLifecycle(state.store, shelter_s)
            lifecycle.refresh()
            due = next_due_unix_s(lifecycle.state)
            if due is None:
                lock.release()
                lifecycle = None
                await asyncio.sleep(idle_s)
                continue
            wait_s = lifecycle.clock.wall(due) - time.time()
            if wait_s > 0:
                await asyncio.sleep(min(wait_s, idle_s))
                continue
            events, _ = lifecycle.step([], max(due, lifecycle.clock.now(time.time())))
            if events:
                log.info("keeper: %d event(s) up to seq %d", len(events), events[-1].seq)
                state.follower.notify()
    finally:
        lock.release()
