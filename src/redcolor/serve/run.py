"""Run the server: uvicorn (uvloop, fan-out WebSocket protocol), optionally with the pipeline."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import uvicorn

from redcolor.alerts.durable import LifecycleLock
from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.frames import EventFrames
from redcolor.bus.jetstream import StreamSpec, publish_log, replicate
from redcolor.channels.mqtt import parse_broker, run_mqtt
from redcolor.errors import InputError
from redcolor.serve.app import Service, create_app
from redcolor.serve.keeper import run_keeper
from redcolor.serve.rawws import FanoutWebSocketProtocol
from redcolor.serve.state import ServeConfig, ServerState
from redcolor.sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from redcolor.pipeline.resume import RunPlan

log = logging.getLogger("redcolor.serve")


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    ws_ping_interval_s: float | None = 20.0,
) -> uvicorn.Config:
    """uvicorn settings redcolor serves with (also used by the tests and the benchmark).

    WebSocket keepalive pings (every ``ws_ping_interval_s``, close after as long without a pong)
    find dead peers; the benchmark turns them off to measure the fan-out alone.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws=FanoutWebSocketProtocol,
        ws_per_message_deflate=False,
        ws_ping_interval=ws_ping_interval_s,
        ws_ping_timeout=ws_ping_interval_s,
        lifespan="on",
        log_level=log_level,
        backlog=4096,
        timeout_graceful_shutdown=2,
    )


def build_state(config: ServeConfig, areas: Any = None) -> ServerState:
    """Open the store (created if missing) and the area index of ``config.edition``."""
    if areas is None:
        from redcolor.geo import load_areas

        areas = load_areas(config.edition)
    return ServerState(config=config, store=SQLiteEventStore(config.db), areas=areas)


def start_simulation(
    state: ServerState,
    scenario: Scenario,
    speed: float,
    plan: RunPlan | None = None,
    lock: LifecycleLock | None = None,
) -> threading.Thread:
    """Run the pipeline over ``scenario`` in a thread at ``speed`` x real time, writing to the
    server's store file and waking the follower after each append.

    ``lock`` is the store's lifecycle lock, held (default: taken here, before the keeper can;
    StoreError in one line if another process holds it); the thread releases it when the
    pipeline ends. ``plan`` (default: :func:`~redcolor.pipeline.resume.plan_run` now) says
    whether this starts the run or continues it.
    """
    from redcolor.pipeline.resume import plan_run, run_planned

    if lock is None:
        lock = LifecycleLock(state.config.db)
        lock.acquire()
    if plan is None:
        hold_s = state.config.hold_s
        plan = plan_run(state.store, scenario, speed=speed, hold_s=hold_s, now_unix_s=time.time())

    def work() -> None:
        store = SQLiteEventStore(state.config.db)
        try:
            run_planned(
                plan,
                scenario,
                store,
                lock=lock,
                wall_clock=time.time,
                on_events=lambda events: state.follower.notify(),
            )
            log.info("simulation %s finished", scenario.name)
        except Exception:  # the server keeps serving what was written; the log says why
            log.exception("simulation %s failed", scenario.name)
        finally:
            lock.release()  # the keeper takes over whatever is still open
            store.close()

    thread = threading.Thread(target=work, name="pipeline", daemon=True)
    thread.start()
    return thread


def _delivered(state: ServerState, channel: str) -> Callable[[EventFrames], None]:
    deliveries = state.metrics.deliveries.labels(channel)
    latency = state.metrics.latency.labels(channel)

    def done(frames: EventFrames) -> None:
        deliveries.inc()
        if frames.published_mono_s:
            latency.observe(time.monotonic() - frames.published_mono_s)

    return done


def channel_services(config: ServeConfig) -> list[Service]:
    """The optional channels ``config`` turns on, as background services."""
    services: list[Service] = []
    if config.mqtt_url:
        url = config.mqtt_url
        parse_broker(url)  # a bad URL fails at startup, not in the background

        async def mqtt(state: ServerState) -> None:
            await run_mqtt(
                state.hub,
                state.store,
                url,
                on_sent=_delivered(state, "mqtt"),
                start_seq=state.opened_seq,
            )

        services.append(mqtt)
    if config.nats_publish_url and config.nats_follow_url:
        raise InputError("a server either publishes its log to NATS or follows one, not both")
    if config.nats_publish_url:
        publish_spec = StreamSpec(url=config.nats_publish_url)

        async def nats_publish(state: ServerState) -> None:
            await publish_log(state.store, publish_spec)

        services.append(nats_publish)
    if config.nats_follow_url:
        follow_spec = StreamSpec(url=config.nats_follow_url)

        async def nats_follow(state: ServerState) -> None:
            await replicate(follow_spec, state.store, on_append=state.follower.notify)

        services.append(nats_follow)
    else:  # an edge only copies the core's log; the core keeps its lifecycle going

        async def keeper(state: ServerState) -> None:
            await run_keeper(state)

        services.append(keeper)
    return services


def serve(config: ServeConfig, *, simulate: str | None = None, speed: float = 1.0) -> None:
    """Serve until interrupted. ``simulate`` names a scenario (built-in name or TOML path) to run
    through the pipeline in (scaled) real time; it is loaded first, so a bad one fails here."""
    scenario = load_scenario(simulate) if simulate is not None else None
    services = channel_services(config)
    state = build_state(config)
    plan, lock = None, LifecycleLock(config.db)
    if scenario is not None:  # a run this store holds is continued, not run again
        from redcolor.pipeline.resume import plan_run

        lock.acquire()  # before the plan, so no run is recorded that another process runs
        plan = plan_run(
            state.store, scenario, speed=speed, hold_s=config.hold_s, now_unix_s=time.time()
        )
    listener = listen(config.host, config.port)
    app = create_app(state, services)
    server = uvicorn.Server(
        uvicorn_config(app, host=config.host, port=config.port, log_level="info")
    )
    if scenario is not None and plan is not None:
        if plan.finished:
            log.warning("store already holds finished run %s; serving its log", plan.record.run_id)
            lock.release()
        else:
            start_simulation(state, scenario, speed, plan, lock)
    server.run(sockets=[listener])


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts so a busy port is a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=4096)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
