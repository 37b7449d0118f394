"""Everything one running server shares: config, store, hub, the active view, cached documents."""

from __future__ import annotations

import functools
import gzip
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from redcolor.alerts.commands import Command
from redcolor.alerts.lifecycle import DEFAULT_HOLD_S
from redcolor.alerts.operate import operate, preview, read_open_alerts
from redcolor.alerts.store import EventStore, check_store_url
from redcolor.auth import TokenStore
from redcolor.bus.follow import StoreFollower
from redcolor.bus.frames import EventFrames
from redcolor.bus.heartbeat import LeaderView
from redcolor.bus.hub import Hub, Subscriber
from redcolor.bus.lease import BUCKET
from redcolor.channels import cap
from redcolor.channels.active import ActiveAlerts
from redcolor.channels.mqtt import DEFAULT_PREFIX
from redcolor.channels.sirens import SirenBoard
from redcolor.errors import InputError
from redcolor.model import AlertEvent
from redcolor.operators.audit import AuditLog
from redcolor.operators.desk import Desk, DeskPolicy
from redcolor.operators.desk import DeskArea as AreaLike  # one definition of an area's shape
from redcolor.operators.limiter import LoginLimiter
from redcolor.operators.sessions import SessionStore
from redcolor.operators.users import UserStore
from redcolor.serve.conditional import ChangeClock
from redcolor.serve.ha import HaCore
from redcolor.serve.metrics import Metrics, SensorCollector
from redcolor.serve.sensors import SensorWatch
from redcolor.serve.siren_reports import SirenReports
from redcolor.serve.supervise import Supervisor

log = logging.getLogger("redcolor.serve")


class AreaSource(Protocol):
    """What the server needs of ``redcolor.geo.AreaIndex``."""

    @property
    def areas(self) -> tuple[AreaLike, ...]: ...
    def get(self, area_id: int) -> AreaLike: ...
    def locate(self, lat: float, lon: float) -> AreaLike | None: ...
    def nearest(self, lat: float, lon: float) -> tuple[AreaLike, float]: ...
    def to_geojson(self) -> dict[str, Any]: ...


EXERCISE_CHANNELS: tuple[str, ...] = ("sirens", "push", "mqtt")
"""The real public channels an exercise stays off unless ``ServeConfig.exercise_channels``
names them (the streams, feeds and CAP carry it, marked as an exercise)."""


def exercise_channels_from(text: str) -> frozenset[str]:
    """``"sirens,push"`` -> the channels named (InputError naming a channel that is not one)."""
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    if unknown := names - set(EXERCISE_CHANNELS):
        raise InputError(
            f"--exercise-to: unknown channel(s) {', '.join(sorted(unknown))};"
            f" choose from {', '.join(EXERCISE_CHANNELS)}"
        )
    return names


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one server.

    ``ws_buffer_bytes`` / ``queue_items`` bound what a client may fall behind before it is
    dropped (``ws_sndbuf_bytes``, when set, also caps the kernel's send buffer per WebSocket, so
    a stalled client is noticed after that much rather than after the kernel's autotuned
    megabytes); ``poll_s`` is how often the store is polled when no in-process writer notifies.
    A siren is dropped when more than ``siren_queue_items`` commands wait for it or one send
    takes over ``siren_send_timeout_s``. ``hold_s`` is how long after a simulated threat is
    over its areas get their all-clear. ``exercise_channels`` names the real public channels
    (of :data:`EXERCISE_CHANNELS`) that carry exercises too; by default none does.
    """

    db: Path
    """The server's SQLite file: the operators' accounts, sessions, API tokens, push
    subscriptions and the lifecycle lock, and the event store itself unless ``store_url``."""
    store_url: str | None = None
    """A PostgreSQL event store (``postgresql://...``); None keeps the events in ``db``."""
    host: str = "127.0.0.1"
    port: int = 8080
    edition: str = "current"
    poll_s: float = 0.01
    heartbeat_s: float = 12.0
    queue_items: int = 256
    ws_buffer_bytes: int = 1 << 20
    ws_sndbuf_bytes: int | None = None
    cap_sender: str = cap.DEFAULT_SENDER
    """The CAP ``sender`` of every message (no spaces, commas, ``<`` or ``&``)."""
    time_zone: str = cap.DEFAULT_TIME_ZONE
    """The IANA time zone CAP times are written in (the areas' local offset)."""
    cap_signing_key: Path | None = None
    cap_signing_cert: Path | None = None
    """Sign every CAP message with this PEM key; its PEM certificate is published at
    ``/cap/certificate.pem``. Both or neither."""
    public_url: str | None = None
    mqtt_url: str | None = None
    mqtt_prefix: str = DEFAULT_PREFIX
    mqtt_ha_areas: tuple[int, ...] = ()
    """Areas announced to Home Assistant by MQTT discovery (checked at startup)."""
    nats_publish_url: str | None = None
    nats_follow_url: str | None = None
    nats_replicas: int = 1
    keep_events: int | None = None
    """An edge keeps only its copy's last ``keep_events`` events (None: all)."""
    nats_user: str | None = None
    nats_password_file: Path | None = None
    nats_nkey_seed: Path | None = None
    signing_key: Path | None = None
    verify_key: Path | None = None
    totp_key: Path | None = None
    """The key file operators' TOTP secrets are sealed under; None: ``DB.totp-key``."""
    push_dir: Path | None = None
    push_allow: tuple[str, ...] = ()
    """CIDR ranges push endpoints may resolve to though not public (e.g. a test's loopback)."""
    push_ca_file: Path | None = None
    """PEM bundle of CAs trusted for push endpoints, beside the usual public ones."""
    push_max_subscriptions: int = 100_000
    push_rate_per_min: float = 10.0
    """Push subscription changes per client address per minute, after a burst of ``push_burst``."""
    push_burst: int = 10
    siren_ack_s: float = 1.0
    siren_send_timeout_s: float = 2.0
    siren_queue_items: int = 256
    hold_s: float = DEFAULT_HOLD_S
    sensors: Path | None = None
    """The sensor registry (TOML) of the live core; with ``asterix_url`` it turns the core on."""
    asterix_url: str | None = None
    """Where the live core receives ASTERIX: ``udp://HOST:PORT`` (or a multicast group)."""
    ground_alt_m: float = 0.0
    """The flat terrain the live core's predictor lands tracks on (m above mean sea level)."""
    exercise_channels: frozenset[str] = frozenset()
    desk: DeskPolicy = field(default_factory=DeskPolicy)
    """The operators' two-person rule: lapse time, solo categories, what needs approval."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """Serve HTTPS with this certificate chain and key (PEM); both or neither."""
    ha_lease_url: str | None = None
    """Active/standby: campaign for the leader lease in this NATS (``redcolor.serve.ha``)."""
    node_id: str | None = None
    """This core's name in its group (with ``ha_lease_url``)."""
    ha_bucket: str = BUCKET
    """The lease's key-value bucket (one per group of cores)."""
    clock_offset_s: float = 0.0
    """Added to the wall clock of the live core (a test's clock skew; 0 in service)."""

    def __post_init__(self) -> None:
        exercise_channels_from(",".join(self.exercise_channels))  # fails at startup
        cap.check_sender(self.cap_sender)
        cap.check_time_zone(self.time_zone)
        if (self.cap_signing_key is None) != (self.cap_signing_cert is None):
            raise InputError("--cap-signing-key and --cap-signing-cert go together")
        if self.store_url is not None:
            check_store_url(self.store_url)
        if self.store_url is not None and self.nats_follow_url is not None:
            raise InputError("--nats-follow keeps its copy of the log in --db; it takes no --store")

    @property
    def store_target(self) -> str:
        """What :func:`~redcolor.alerts.store.open_store` opens: ``store_url`` or ``db``."""
        return self.store_url if self.store_url is not None else str(self.db)


@dataclass
class ServerState:
    """Shared by every request handler of one app."""

    config: ServeConfig
    store: EventStore
    areas: AreaSource
    metrics: Metrics = field(default_factory=Metrics)
    active: ActiveAlerts = field(default_factory=ActiveAlerts)
    hub: Hub = field(init=False)
    opened_seq: int = field(init=False)
    follower: StoreFollower = field(init=False)
    _area_ids: frozenset[int] = field(init=False)
    areas_json: bytes = field(init=False)
    _geojson: bytes | None = field(init=False, default=None)
    _documents: dict[str, tuple[int, bytes]] = field(init=False, default_factory=dict)
    cap_served: OrderedDict[int, tuple[cap.CapMessage, bytes]] = field(
        init=False, default_factory=OrderedDict
    )
    """The CAP messages served lately, by seq (see :func:`redcolor.serve.feeds.cap_served`)."""
    changes: ChangeClock = field(init=False, default_factory=ChangeClock)
    """When each polled document last changed (its ``Last-Modified``; serve.conditional)."""
    sirens: SirenBoard = field(init=False)
    siren_links: dict[str, Any] = field(init=False, default_factory=dict)
    siren_reports: SirenReports = field(init=False, default_factory=SirenReports)
    tokens: TokenStore = field(init=False)
    tasks: Supervisor = field(init=False)
    leader: LeaderView | None = field(init=False, default=None)
    """An edge's view of the leader (``/health``), while its ``leader_watch`` runs."""
    sensors: SensorWatch | None = field(init=False, default=None)
    """The live core's sensors while it runs (``/health``, ``/metrics``, the map's notice)."""
    users: UserStore = field(init=False)
    sessions: SessionStore = field(init=False)
    audit: AuditLog = field(init=False)
    login_limiter: LoginLimiter = field(init=False)
    desk: Desk = field(init=False)
    ha: HaCore | None = field(init=False, default=None)
    """This core's part in an active/standby group (``--ha-lease``), None alone."""
    _shelter_s: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.tasks = Supervisor(self.metrics.task_up, self.metrics.task_restarts)
        self.metrics.registry.register(SensorCollector(lambda: self.sensors))
        self.sirens = SirenBoard(ack_deadline_s=self.config.siren_ack_s)
        db = self.config.db  # the SQLite file (also the event log's unless --store)
        self.tokens = TokenStore(db)
        self.users = UserStore(db, key_path=self.config.totp_key)
        if self.users.key_problem is not None:
            log.warning("%s", self.users.key_problem)
        self.sessions = SessionStore(db)
        self.audit = AuditLog(self.config.store_target)  # beside the events
        self.login_limiter = LoginLimiter(self.config.store_target)  # the group's count
        self._shelter_s = {a.id: a.shelter_s for a in self.areas.areas}
        self.desk = Desk(
            self.config.store_target,  # beside the events: every core of a group sees it
            self.areas,
            self.config.desk,
            self.publish_commands,
            self.audit,
            functools.partial(read_open_alerts, self.config.store_target, self._shelter_s),
            dry_run=self.preview_commands,
            exercise_channels=self.config.exercise_channels,
            cap_sender=self.config.cap_sender,
        )
        self._area_ids = frozenset(a.id for a in self.areas.areas)
        self.check_area_ids(list(self.config.mqtt_ha_areas))  # a bad --mqtt-ha-areas: at startup
        self.areas_json = msgspec.json.encode([_area_summary(a) for a in self.areas.areas])
        # Rebuild the active view from the log, then stream from its end.
        for row_event in self.store.iter_all():
            self.active.apply(row_event)
        drills = "sirens" in self.config.exercise_channels
        self.sirens.restore(
            a for a in self.active.areas(self.now_unix_s()) if drills or a.status != "exercise"
        )
        # Where a channel with no durable position yet starts (redcolor.bus.position).
        self.opened_seq = self.store.last_seq()
        self.hub = Hub(self.store.log_id(), last_seq=self.opened_seq, on_drop=self._on_drop)
        self.metrics.last_seq.set(self.hub.last_seq)
        self.follower = StoreFollower(
            self.store,
            self.hub,
            poll_s=self.config.poll_s,
            heartbeat_s=self.config.heartbeat_s,
            on_publish=[self._on_publish],
        )

    def _on_publish(self, frames: EventFrames, deliveries: int) -> None:
        self.active.apply(frames.event)
        m = self.metrics
        m.events.inc()
        m.last_seq.set(frames.seq)
        m.deliveries.labels("stream").inc(deliveries)
        m.latency.labels("stream_fanout").observe(time.monotonic() - frames.published_mono_s)

    def adopt_log_id(self, log_id: str) -> None:
        """An edge's store took the core's log id: stream and serve under it from now on."""
        self.hub.log_id = log_id
        self._documents.clear()

    @property
    def is_edge(self) -> bool:
        """Whether this server serves a copy of another node's log (``--nats-follow``)."""
        return self.config.nats_follow_url is not None

    def publish_commands(self, commands: list[Command]) -> list[AlertEvent]:
        """Write operator commands through the store's lifecycle (blocking: call it in a worker
        thread) and wake the follower, so the events are on every stream at once."""
        events = operate(
            self.config.store_target,
            self._shelter_s,
            commands,
            time.time(),
            term=self.store.writer_term,
        )
        self.follower.notify()
        return events

    def preview_commands(self, commands: list[Command]) -> list[AlertEvent]:
        """The events operator commands would make now, nothing written (blocking)."""
        return preview(self.config.store_target, self._shelter_s, commands, time.time())

    def _on_drop(self, sub: Subscriber, reason: str) -> None:
        self.metrics.dropped.labels(getattr(sub.sink, "channel", "other")).inc()

    @property
    def areas_geojson(self) -> bytes:
        if self._geojson is None:
            self._geojson = msgspec.json.encode(self.areas.to_geojson())
        return self._geojson

    @functools.cached_property
    def areas_geojson_gzip(self) -> bytes:
        """The area GeoJSON gzipped once (1.32 MB -> 0.28 MB: what a phone on a poor
        network downloads when it opens the map during an attack)."""
        return gzip.compress(self.areas_geojson, compresslevel=9, mtime=0)

    def document(self, name: str, build: Callable[[], bytes]) -> bytes:
        """A document derived from the log, rebuilt only when the log has grown (one is kept per
        name, and nothing a request sends goes into it)."""
        cached = self._documents.get(name)
        if cached is not None and cached[0] == self.hub.last_seq:
            return cached[1]
        body = build()
        self._documents[name] = (self.hub.last_seq, body)
        return body

    def check_area_ids(self, ids: list[int]) -> frozenset[int]:
        """The ids as a set; InputError naming the first unknown one."""
        for area_id in ids:
            if area_id not in self._area_ids:
                raise InputError(f"unknown area id {area_id}")
        return frozenset(ids)

    def area_value(self, area_id: int) -> str:
        """The Hebrew feed string of an area (its id as text if the index lacks it)."""
        if area_id in self._area_ids:
            return self.areas.get(area_id).value
        return str(area_id)

    def now_unix_s(self) -> float:
        return time.time()


def _area_summary(a: AreaLike) -> dict[str, Any]:
    keys = (
        *("id", "value", "aliases", "name_he", "name_en", "name_ar", "name_ru"),
        *("zone_he", "zone_en", "zone_ar", "zone_ru", "shelter_s", "lat", "lon"),
    )
    return {k: getattr(a, k) for k in keys if hasattr(a, k)}
