"""The live core as the server's supervised ``pipeline`` task: radars on the wire -> alerts.

UDP receiver (in the event loop, :func:`redcolor.sensors.udp.receive`) -> :class:`Ingest` ->
:class:`LiveFeed` -> the runner thread (tracking -> prediction -> warning -> lifecycle -> store,
:mod:`redcolor.pipeline.runner`) -> the follower wakes and publishes. One shape, two sources:

* ``serve --sensors FILE --asterix udp://HOST:PORT`` (:func:`live_service`): real radars, on
  the machine's UTC clock, a :class:`~redcolor.pipeline.Feed` that is ``live`` (it ends only
  when the server stops; the lifecycle keeper then brings open alerts to their all-clear).
* ``serve --simulate NAME`` (:func:`simulated_service`): the scenario's radars are emitted by
  :func:`redcolor.sim.emit.emit` from their own sockets, in (``speed`` x) real time, to the
  core's socket on loopback, through the same encoder, socket and decoder as a real radar's.
  The core's clock is the run's (:func:`redcolor.pipeline.resume.run_clock`: the scenario shifted
  to start when the run was first planned, ``speed`` x the wall clock). A continued run is
  emitted from its start again: the scans before the restart come at once, late, and are only
  tracked (the history its checkpoint stands for; the ingest's skew tolerance covers them), so
  the tracker sees the same ASTERIX-quantised plots as before the restart. When the emitter has
  sent its last scan and the ingest has handed it over, the feed ends and the run drains to its
  last all-clear.

The registry, the UDP address and its port are checked and bound by :func:`open_sensors` before
the HTTP port is (one-line errors). The store's lifecycle lock is held by the caller's plan and
released by the runner thread however it ends.

Skew (assumption): the ingest refuses times further than ``max_skew_s`` from the core's clock;
on a clock running ``speed`` times faster than the wall, the tolerance is ``speed`` times
:data:`MAX_SKEW_S`, so the same wall-clock delays are tolerated at any speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redcolor.alerts.checkpoint import Clock
from redcolor.alerts.durable import LifecycleLock
from redcolor.alerts.store import EventStore, open_store
from redcolor.errors import InputError
from redcolor.pipeline import Feed, run
from redcolor.pipeline.resume import RunPlan, run_clock, run_planned
from redcolor.sensors.ingest import Ingest
from redcolor.sensors.live import LiveFeed
from redcolor.sensors.registry import Registry, load_registry
from redcolor.sensors.udp import bind_udp, receive
from redcolor.serve.app import Service
from redcolor.serve.sensors import SensorWatch
from redcolor.serve.state import ServeConfig, ServerState
from redcolor.serve.supervise import in_thread
from redcolor.sim.emit import emit, registry_of, replay
from redcolor.sim.run import SimulationResult

log = logging.getLogger("redcolor.serve")
CORE_NAME = "live"
"""The run name of the live core: the prefix of its alert ids (with its start time)."""
MAX_SKEW_S = 30.0
"""How far (s, on the wall clock) a sensor's time may be from the core's (the ingest's default)."""
LOOPBACK_URL = "udp://127.0.0.1:0"
"""Where a simulated run's core listens: loopback, a free port."""
SETTLE_S = 5.0
"""After the emitter's last scan, the longest wait for the ingest to read what it sent."""

Work = Callable[[LiveFeed, Callable[[float], None]], None]


@dataclass(frozen=True)
class SensorInput:
    """What the live core reads: the registry, and its UDP socket (bound)."""

    registry: Registry
    sock: socket.socket


def open_sensors(config: ServeConfig) -> SensorInput | None:
    """Load ``config.sensors`` and bind ``config.asterix_url`` (None when neither is given);
    InputError in one line for a bad registry, URL, busy port or a half-given pair."""
    if config.sensors is None and config.asterix_url is None:
        return None
    if config.sensors is None or config.asterix_url is None:
        raise InputError("--sensors FILE and --asterix udp://HOST:PORT go together")
    if config.nats_follow_url:
        raise InputError("an edge server (--nats-follow) copies a core's log; it takes no sensors")
    registry = load_registry(config.sensors)
    return SensorInput(registry, bind_udp(config.asterix_url))


def live_service(sensors: SensorInput, lock: LifecycleLock) -> Service:
    """The live core over real radars (module docstring), holding ``lock`` while it runs."""

    async def pipeline(state: ServerState) -> None:
        config = state.config

        def work(feed: LiveFeed, on_latency: Callable[[float], None]) -> None:
            def body(store: EventStore) -> None:
                run(
                    Feed(
                        CORE_NAME,
                        sensors.registry.sensors,
                        feed,
                        time.time(),
                        ground_alt_m=config.ground_alt_m,
                        live=True,
                    ),
                    store=store,
                    hold_s=config.hold_s,
                    lock=lock,
                    clock=Clock(),
                    on_events=lambda events: state.follower.notify(),
                    on_latency=on_latency,
                )

            _on_own_store(state, lock, body)

        await _core(state, sensors, Clock(), work, max_skew_s=MAX_SKEW_S)

    return pipeline


def simulated_service(simulated: SimulationResult, plan: RunPlan, lock: LifecycleLock) -> Service:
    """``plan`` (start or continue) over ``simulated``'s radars emitted over loopback UDP
    (module docstring), holding ``lock`` and releasing it however the run ends."""

    async def pipeline(state: ServerState) -> None:
        try:
            record = plan.record
            registry = registry_of(simulated)
            clock, live_from = run_clock(plan, state.store, time.time)
            sensors = SensorInput(registry, bind_udp(LOOPBACK_URL))
        except BaseException:
            lock.release()
            raise
        host, port = sensors.sock.getsockname()[:2]
        # a continued run: what came before the restart is history, tracked from a replay
        shift_s = record.start_unix_s - simulated.start_unix_s
        resume_at = None if live_from is None else live_from - shift_s  # scenario clock
        history = (
            ()
            if resume_at is None
            else replay(simulated, start_unix_s=record.start_unix_s, live_from_unix_s=resume_at)
        )

        def work(feed: LiveFeed, on_latency: Callable[[float], None]) -> None:
            def body(store: EventStore) -> None:
                run_planned(
                    plan,
                    simulated,
                    store,
                    itertools.chain(history, feed),
                    registrations=registry.sensors,
                    lock=lock,
                    clock=clock,
                    live_from_unix_s=live_from,
                    wall_clock=time.time,
                    on_events=lambda events: state.follower.notify(),
                    on_latency=on_latency,
                )

            _on_own_store(state, lock, body)
            log.info("simulation %s finished", simulated.scenario.name)

        def emitter(stop: threading.Event) -> int:
            summary = emit(
                simulated,
                registry,
                f"udp://{host}:{port}",
                speed=record.speed,
                start_unix_s=record.start_unix_s,
                live_from_unix_s=resume_at,
                stop=stop,
            )
            return summary.datagrams - sum(summary.send_errors.values())

        skew_s = MAX_SKEW_S * clock.speed  # the same wall-clock tolerance at any speed
        try:
            await _core(state, sensors, clock, work, max_skew_s=skew_s, emitter=emitter)
        finally:
            state.sensors = None  # the run is over: its radars are meant to be silent now

    return pipeline


def _on_own_store(
    state: ServerState, lock: LifecycleLock, body: Callable[[EventStore], None]
) -> None:
    """Run ``body`` on a store of its own (the runner thread's, writing under the server's
    fencing term), then release ``lock`` however it ends: the keeper takes over whatever is
    still open."""
    try:
        store = open_store(state.config.store_target)
        store.write_under(state.store.writer_term)
        try:
            body(store)
        finally:
            store.close()
    finally:
        lock.release()


async def _core(
    state: ServerState,
    sensors: SensorInput,
    clock: Clock,
    work: Work,
    *,
    max_skew_s: float,
    emitter: Callable[[threading.Event], int] | None = None,
) -> None:
    """Receiver, ingest and runner thread (and the emitter, if any) until the runner ends; a
    receiver fault ends the feed and is raised. Cancelling stops them all."""

    def now() -> float:
        return clock.now(time.time())

    ingest = Ingest(sensors.registry, max_skew_s=max_skew_s)
    feed = LiveFeed()
    state.sensors = SensorWatch(ingest, now)
    latency = state.metrics.ingest_latency.observe
    receiver = asyncio.create_task(receive(sensors.sock, ingest, feed, now), name="udp-receiver")
    runner = asyncio.ensure_future(in_thread(lambda: work(feed, latency), name="pipeline"))
    stop = threading.Event()
    jobs: set[asyncio.Future[None]] = {receiver, runner}
    if emitter is not None:
        jobs.add(asyncio.ensure_future(_emit_then_end(emitter, stop, ingest, feed)))
    try:
        while True:
            done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # the runner thread's fault, if any
                return
            for job in done:  # the receiver (it never ends by itself) or the emitter
                jobs.discard(job)
                job.result()
                if job is receiver:
                    raise RuntimeError("the UDP receiver stopped")
    finally:
        stop.set()
        feed.close()  # the runner thread ends once it has taken what is queued
        for job in jobs - {runner}:
            job.cancel()
        for job in jobs - {runner}:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job


async def _emit_then_end(
    emitter: Callable[[threading.Event], int],
    stop: threading.Event,
    ingest: Ingest,
    feed: LiveFeed,
) -> None:
    """Run the emitter in its own thread; once it has sent everything, wait (at most
    :data:`SETTLE_S`) until the ingest has read as many datagrams and handed every scan over,
    then end the feed (the run drains to its last all-clear)."""
    result: list[int] = []
    await in_thread(lambda: result.append(emitter(stop)), name="emitter")
    if stop.is_set():
        return
    sent = result[0]
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        read = sum(ingest.counts.datagrams.values())
        if read >= sent and ingest.pending_unix_s() is None:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # the receiver's next tick hands over what timed out
    feed.close()
