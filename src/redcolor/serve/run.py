"""Run the server: uvicorn (uvloop, fan-out WebSocket protocol), optionally with the pipeline."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from redcolor.alerts.durable import LifecycleLock
from redcolor.alerts.store import open_store
from redcolor.bus.frames import EventFrames
from redcolor.bus.jetstream import publish_log, replicate
from redcolor.bus.keys import load_or_create_signing_key, load_public_key
from redcolor.bus.login import StreamSpec, configured_spec
from redcolor.bus.signing import Signer
from redcolor.channels.mqtt import MqttOptions, parse_broker, parse_prefix, run_mqtt
from redcolor.errors import InputError, RedcolorError, ScenarioError
from redcolor.serve import feeds, push
from redcolor.serve.app import Service, create_app
from redcolor.serve.edge import copied, run_leader_watch
from redcolor.serve.ha import HaCore
from redcolor.serve.httpproto import BoundedHttpToolsProtocol
from redcolor.serve.keeper import run_keeper
from redcolor.serve.live import live_service, open_sensors, simulated_service
from redcolor.serve.rawws import FanoutWebSocketProtocol
from redcolor.serve.state import ServeConfig, ServerState
from redcolor.serve.supervise import describe
from redcolor.sim import run as sim_run
from redcolor.sim.run import SimulationResult
from redcolor.sim.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from redcolor.pipeline.resume import RunPlan

log = logging.getLogger("redcolor.serve")
WS_MAX_MESSAGE_BYTES = 64 * 1024  # clients send acks and nothing else; a bigger message is 1009


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str = "warning",
    ws_ping_interval_s: float | None = 20.0,
    tls: tuple[Path, Path] | None = None,
) -> uvicorn.Config:
    """uvicorn settings redcolor serves with (also used by the tests and the benchmark).

    ``app`` is :func:`~redcolor.serve.app.create_app`'s: the protocols count what they refuse
    into its metrics. WebSocket keepalive pings (every ``ws_ping_interval_s``, close after as
    long without a pong) find dead peers; the benchmark turns them off to measure the fan-out.
    ``tls`` (certificate chain, key) serves HTTPS and WSS (check it first with
    :func:`check_tls`).
    """
    metrics = app.state.redcolor.metrics
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=functools.partial(BoundedHttpToolsProtocol, metrics=metrics),
        ws=functools.partial(FanoutWebSocketProtocol, metrics=metrics),
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=ws_ping_interval_s,
        ws_ping_timeout=ws_ping_interval_s,
        lifespan="on",
        log_level=log_level,
        backlog=4096,
        timeout_graceful_shutdown=2,
        ssl_certfile=None if tls is None else str(tls[0]),
        ssl_keyfile=None if tls is None else str(tls[1]),
    )


def check_tls(config: ServeConfig) -> tuple[Path, Path] | None:
    """The certificate and key to serve TLS with, loaded once to prove they work; InputError
    (one line) for one without the other or files that cannot be read or do not match."""
    cert, key = config.tls_cert, config.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InputError("--tls-cert and --tls-key go together: give both or neither")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise InputError(f"cannot use --tls-cert {cert} with --tls-key {key}: {why}") from None
    return cert, key


def build_state(config: ServeConfig, areas: Any = None) -> ServerState:
    """Open the store (created if missing: a SQLite ``--db`` or a PostgreSQL ``--store``) and
    the area index of ``config.edition``."""
    if areas is None:
        from redcolor.geo import load_areas

        areas = load_areas(config.edition)
    return ServerState(config=config, store=open_store(config.store_target), areas=areas)


def plan_simulation(
    state: ServerState, simulated: SimulationResult, speed: float
) -> tuple[RunPlan, LifecycleLock]:
    """Take the store's lifecycle lock (StoreError in one line if another process holds it) and
    plan the run: start it, continue the unfinished run of that scenario the store holds, or
    (a finished one) nothing; an InputError when the stored run cannot be continued. A finished
    plan's lock is released at once."""
    from redcolor.pipeline.resume import plan_run

    lock = LifecycleLock(state.config.db)
    lock.acquire()  # before the plan, so no run is recorded that another process runs
    try:
        plan = plan_run(
            state.store,
            simulated.scenario,
            speed=speed,
            hold_s=state.config.hold_s,
            now_unix_s=time.time(),
        )
    except BaseException:
        lock.release()
        raise
    if plan.finished:
        log.warning("store already holds finished run %s; serving its log", plan.record.run_id)
        lock.release()
    return plan, lock


def start_simulation(state: ServerState, scenario: Scenario, speed: float) -> threading.Thread:
    """Simulate ``scenario`` and run (or continue) it over loopback UDP in a thread with its
    own event loop (unsupervised: the server runs :func:`simulation_service` instead)."""
    simulated = simulate_scenario(scenario)
    service = simulation_service(simulated, speed, *plan_simulation(state, simulated, speed))

    def logged() -> None:
        try:
            asyncio.run(service(state))
        except Exception:  # the server keeps serving what was written; the log says why
            log.exception("simulation %s failed", scenario.name)

    thread = threading.Thread(target=logged, name="pipeline", daemon=True)
    thread.start()
    return thread


def simulate_scenario(scenario: Scenario) -> SimulationResult:
    """Fly ``scenario``; a scenario the simulator cannot run is a ScenarioError (one line)."""
    try:
        return sim_run.simulate(scenario)
    except RedcolorError:
        raise
    except Exception as exc:
        raise ScenarioError(f"{scenario.source}: the simulator failed: {describe(exc)}") from exc


def simulation_service(
    simulated: SimulationResult, speed: float, plan: RunPlan, lock: LifecycleLock
) -> Service:
    """The pipeline over ``simulated`` (its radars emitted over loopback UDP to the core,
    :func:`redcolor.serve.live.simulated_service`) at ``speed`` x real time, as the server's
    supervised ``pipeline`` task (see ``create_app``): a fault in it makes ``/health`` answer
    503. It holds ``lock`` and releases it however it ends."""
    if speed != plan.record.speed:
        raise ValueError(f"the plan runs at speed {plan.record.speed:g}, not {speed:g}")
    return simulated_service(simulated, plan, lock)


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
    if config.push_dir is not None:
        push.check_config(config)  # a bad --push-allow or --push-ca-file fails at startup
    if config.mqtt_ha_areas and not config.mqtt_url:
        raise InputError("--mqtt-ha-areas needs --mqtt (the broker Home Assistant reads)")
    if config.mqtt_url:
        url = config.mqtt_url
        parse_broker(url)  # a bad URL or prefix fails at startup, not in the background
        parse_prefix(config.mqtt_prefix)

        async def mqtt(state: ServerState) -> None:
            names = {a.id: a.name_en or a.value for a in state.areas.areas}
            await run_mqtt(
                state.hub,
                state.store,
                url,
                on_sent=_delivered(state, "mqtt"),
                on_status=state.tasks.reporter(mqtt.__name__),  # its task name
                start_seq=state.opened_seq,
                options=MqttOptions(
                    prefix=config.mqtt_prefix,
                    exercises="mqtt" in config.exercise_channels,
                    ha_areas=[(a, names[a]) for a in config.mqtt_ha_areas],
                ),
            )

        services.append(mqtt)
    if config.nats_publish_url and config.nats_follow_url:
        raise InputError("a server either publishes its log to NATS or follows one, not both")
    if config.nats_publish_url:
        publish_spec = _stream_spec(config, config.nats_publish_url)
        if config.signing_key is None:
            raise InputError("--nats-publish needs --signing-key FILE (made on first use)")
        signer = Signer(load_or_create_signing_key(config.signing_key))

        async def nats_publish(state: ServerState) -> None:
            reconnects = state.metrics.bus_reconnects.labels("publish").inc
            await publish_log(
                state.store,
                publish_spec,
                signer,
                on_reconnect=reconnects,
                on_status=state.tasks.reporter(nats_publish.__name__),
                node_id=config.node_id or "core",
            )

        services.append(nats_publish)
    if config.nats_follow_url:
        follow_spec = _stream_spec(config, config.nats_follow_url)
        if config.verify_key is None:
            raise InputError(
                "--nats-follow needs --verify-key FILE, the core's public key"
                " (redcolor keys public --signing-key FILE)"
            )
        verify_key = load_public_key(config.verify_key)

        async def nats_follow(state: ServerState) -> None:
            refused = state.metrics.bus_rejected
            await replicate(
                follow_spec,
                state.store,
                verify_key,
                on_append=functools.partial(copied, state),
                on_refused=lambda reason: refused.labels(reason).inc(),
                on_reconnect=state.metrics.bus_reconnects.labels("follow").inc,
                on_status=state.tasks.reporter(nats_follow.__name__),
                on_log_id=state.adopt_log_id,
            )

        async def leader_watch(state: ServerState) -> None:
            await run_leader_watch(state, follow_spec, verify_key)

        services += [nats_follow, leader_watch]
    elif config.ha_lease_url is None:  # an edge only copies the core's log; the core keeps
        # its lifecycle going (an active/standby core's live pipeline does, while it leads)

        async def keeper(state: ServerState) -> None:
            await run_keeper(state)

        services.append(keeper)
    return services


def _stream_spec(config: ServeConfig, url: str) -> StreamSpec:
    return configured_spec(
        url,
        user=config.nats_user,
        password_file=config.nats_password_file,
        nkey_seed=config.nats_nkey_seed,
        replicas=config.nats_replicas,
    )


def serve(
    config: ServeConfig,
    *,
    simulate: str | None = None,
    speed: float = 1.0,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; ``on_listening`` gets :func:`listening_url` once the port is
    bound (connections from then on wait in its backlog until the app has started).

    ``simulate`` names a scenario (built-in name or TOML path) to run through the pipeline in
    (scaled) real time, its radars on loopback UDP; ``config.sensors``
    with ``config.asterix_url`` runs the live core on real radars instead. Whatever cannot work
    is refused here, in one line, before the port is bound: a bad scenario (loaded and flown
    first), a bad registry, UDP address or busy UDP port, a bad channel URL, a store that cannot
    be opened or whose lifecycle another process writes, a busy port."""
    if simulate is not None and (config.sensors is not None or config.asterix_url is not None):
        raise InputError("--simulate runs its own radars; it takes no --sensors or --asterix")
    scenario = load_scenario(simulate) if simulate is not None else None
    lease = check_ha(config, simulate)
    tls = check_tls(config)
    sensors = open_sensors(config)
    try:
        feeds.base_url(config)  # a bad --public-url fails here, not on the first feed request
        feeds.cap_signer(config)  # so does a CAP signing key that cannot sign
        services = channel_services(config)
        state = build_state(config)
        if lease is not None:
            assert config.node_id is not None  # check_ha
            state.ha = HaCore(config.node_id, lease, config.ha_bucket, state.metrics, state.store)
    except BaseException:
        if sensors is not None:
            sensors.sock.close()
        raise
    try:
        pipeline = None
        if scenario is not None:  # a run this store holds is continued, not run again
            log.info("simulating %s", scenario.name)
            simulated = simulate_scenario(scenario)
            plan, lock = plan_simulation(state, simulated, speed)
            if not plan.finished:
                pipeline = simulation_service(simulated, speed, plan, lock)
        if sensors is not None:
            # one of an active/standby group: the lease, not the file lock, makes one writer
            lock = LifecycleLock(":memory:") if state.ha is not None else _take_lock(config)
            pipeline = live_service(sensors, lock)
            log.info(
                "live core: %d sensor(s) on %s", len(sensors.registry.sensors), config.asterix_url
            )
        listener = listen(config.host, config.port)
    except BaseException:
        state.store.close()
        if sensors is not None:
            sensors.sock.close()
        raise
    app = create_app(state, services, pipeline=pipeline)
    if on_listening is not None:
        on_listening(listening_url(listener, tls=tls is not None))
    server = _Server(
        uvicorn_config(app, host=config.host, port=config.port, log_level="info", tls=tls),
        None if state.ha is None else state.ha.stop,
    )
    server.run(sockets=[listener])


class _Server(uvicorn.Server):
    """uvicorn's server, telling an active/standby core of SIGTERM/SIGINT at once (it releases
    its lease before the connections drain)."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self._on_exit is not None:
            self._on_exit()
        super().handle_exit(sig, frame)


def check_ha(config: ServeConfig, simulate: str | None) -> StreamSpec | None:
    """The lease's NATS for an active/standby core (None without ``--ha-lease``); InputError
    (one line) for a lease without a node id or without a live core to run."""
    if config.ha_lease_url is None:
        if config.node_id is not None:
            raise InputError("--node-id names a core of an active/standby group: give --ha-lease")
        return None
    if not config.node_id:
        raise InputError("--ha-lease needs --node-id NAME (unique in the group)")
    if simulate is not None or config.sensors is None or config.nats_follow_url is not None:
        raise InputError("--ha-lease runs a live core: give --sensors and --asterix")
    return _stream_spec(config, config.ha_lease_url)


def _take_lock(config: ServeConfig) -> LifecycleLock:
    """The store's lifecycle lock for the live core (StoreError in one line if another process
    writes that store's lifecycle)."""
    lock = LifecycleLock(config.db)
    lock.acquire()
    return lock


def listening_url(listener: socket.socket, *, tls: bool) -> str:
    """The URL a browser on this host opens for the bound ``listener``: https under TLS, the
    address and port actually bound, IPv6 in brackets. A wildcard bind (0.0.0.0, ::) is shown
    as is: every interface answers."""
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}/"


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts so a busy port is a one-line error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=4096)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
