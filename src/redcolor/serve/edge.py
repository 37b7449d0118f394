"""An edge's watch on the leader: its signed heartbeat, and whether this edge keeps up with it.

The watch is one supervised task (``leader_watch``): it follows the heartbeats
(:func:`redcolor.bus.jetstream.watch_leader`) and every :data:`CHECK_S` asks the
:class:`~redcolor.bus.heartbeat.LeaderView` where the edge stands. While the leader is gone or
the edge lags, the task reports it (``/health`` is degraded with the reason, the map page shows
its notice); once both are well again it reports so.
"""

from __future__ import annotations

import asyncio
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from redcolor.bus.heartbeat import LeaderView
from redcolor.bus.jetstream import watch_leader
from redcolor.bus.login import StreamSpec
from redcolor.serve.state import ServerState

CHECK_S = 0.1


def copied(state: ServerState) -> None:
    """New events are in the edge's copy: forget what lies beyond ``keep_events``, then wake
    the follower. A client resuming before the copy's first event gets a reset
    (:func:`redcolor.serve.streams.resume_point`)."""
    keep = state.config.keep_events
    if keep is not None:
        state.store.forget_before(state.store.last_seq() - keep + 1)
    state.follower.notify()


TASK = "leader_watch"


async def run_leader_watch(
    state: ServerState, spec: StreamSpec, public_key: Ed25519PublicKey
) -> None:
    """Watch the leader for ``state`` (an edge) until cancelled."""
    view = state.leader = LeaderView(time.monotonic())
    report = state.tasks.reporter(TASK)

    def beat(heartbeat) -> None:
        # The log the edge serves; an edge that holds nothing yet takes the leader's.
        view.log_id = state.hub.log_id if state.hub.last_seq else None
        view.beat(heartbeat, time.monotonic())

    watch = asyncio.ensure_future(watch_leader(spec, public_key, beat))
    said: str | None = None
    try:
        while not watch.done():
            _, reason = view.state(time.monotonic(), state.hub.last_seq)
            if reason != said:
                report(reason)
                said = reason
            await asyncio.sleep(CHECK_S)
        watch.result()
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
