"""MQTT channel: the event log and the current state of every area, for home automation.

Topics, under a prefix the server is given (``--mqtt-prefix``, default ``redcolor``):

- ``<prefix>/events``: every event, the stored event JSON byte for byte, QoS 1;
- ``<prefix>/alerts/<area id>``: each event naming that area, the same bytes, QoS 1;
- ``<prefix>/areas/<area id>/state``: the area's current state (:class:`AreaState`), *retained*,
  while it is under an alert, and deleted (an empty retained payload: MQTT 3.1.1 section 3.3.1.3,
  MQTT 5 section 3.3.1.3) at its all-clear, cancellation or expiry; a client that connects
  mid-alert is handed every alerted area's state by the broker at once;
- ``<prefix>/status``: ``online`` (retained) while the server is connected, ``offline`` when it
  leaves or its connection dies (the connection's will);
- Home Assistant MQTT discovery (``homeassistant/binary_sensor/<node>/area_<id>/config``,
  retained) for the areas the server is told (``--mqtt-ha-areas``): one ``safety`` binary sensor
  per area, on while a real alert or pre-alert covers it, with the area state as attributes.

At every (re)connect the channel first reads back what the broker retains under its topics (it
subscribes, then waits for a marker it publishes itself, which the broker delivers after the
retained messages) and corrects it: states of areas no longer under alert (a store that was
reset, a broker that kept stale messages) and discovery configs of areas no longer listed are
deleted, missing ones published. So the retained states always mirror the log, whatever the
broker held.

Off unless a broker URL is configured. When the broker goes away the channel reconnects with
backoff and resumes from the last event it published, so no event is skipped; its position is
durable (:mod:`redcolor.bus.position`), so after a restart it publishes every event stored since.
Exercises are skipped (their position passed all the same; no retained state either) unless the
server is told to send them here too; even then a drill never turns a Home Assistant sensor on.
Delivery is at least once (QoS 1 may repeat one across a reconnect, a restart up to 100 ms worth):
clients dedupe by (``id``, ``seq``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import msgspec

from redcolor import __version__
from redcolor.alerts.store import EventStore
from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.hub import Hub
from redcolor.bus.position import DurableCursor
from redcolor.channels.active import ActiveAlerts, ActiveArea
from redcolor.errors import InputError

log = logging.getLogger("redcolor.mqtt")
DEFAULT_PREFIX = "redcolor"
HA_DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's default discovery_prefix
MAX_PREFIX_CHARS = 128
ONLINE, OFFLINE = "online", "offline"  # Home Assistant's default availability payloads
TICK_S = 1.0  # how often expiries are looked for between events
_NODE_CHARS = re.compile(r"[^a-zA-Z0-9_-]")  # outside HA's class for node and object ids


def parse_broker(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``host:port``) -> (host, port)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise InputError(f"bad MQTT broker {url!r}: expected mqtt://host:port")
    try:
        port = parts.port or 1883
    except ValueError:
        raise InputError(f"bad MQTT broker port in {url!r}") from None
    return parts.hostname, port


def parse_prefix(text: str) -> str:
    """A topic prefix: one or more non-empty levels joined by ``/``; no wildcard (``+``, ``#``),
    no NUL, not ``$``-led (brokers reserve those, e.g. ``$SYS``)."""
    problem = None
    if not text or len(text) > MAX_PREFIX_CHARS:
        problem = f"1 to {MAX_PREFIX_CHARS} characters"
    elif "+" in text or "#" in text:
        problem = "no wildcards (+ or #)"
    elif "\0" in text or text.startswith("$"):
        problem = "no NUL and no leading $"
    elif "" in text.split("/"):
        problem = "no empty level (no leading, trailing or doubled /)"
    if problem is not None:
        raise InputError(f"bad --mqtt-prefix {text[:40]!r}: {problem}")
    return text


def parse_ha_areas(text: str) -> tuple[int, ...]:
    """``"175,176"`` -> the area ids (checked against the area index when the server starts)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() and len(p) <= 9 for p in parts):
        raise InputError(f"bad --mqtt-ha-areas {text[:40]!r}: expected area ids, e.g. 175,176")
    return tuple(dict.fromkeys(int(p) for p in parts))


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic of the channel under one prefix (its only definition)."""

    prefix: str

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    def alerts(self, area_id: int) -> str:
        return f"{self.prefix}/alerts/{area_id}"

    def state(self, area_id: int) -> str:
        return f"{self.prefix}/areas/{area_id}/state"

    @property
    def states(self) -> str:
        """The filter matching every area state topic."""
        return f"{self.prefix}/areas/+/state"

    def area_of_state(self, topic: str) -> int | None:
        """The area id of a state topic, None for any other topic."""
        head, _, rest = topic.partition(f"{self.prefix}/areas/")
        area, _, tail = rest.partition("/")
        return int(area) if not head and tail == "state" and area.isdigit() else None

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    def marker(self, nonce: str) -> str:
        return f"{self.prefix}/sync/{nonce}"

    @property
    def node(self) -> str:
        """The discovery ``node_id``: the prefix in Home Assistant's id characters."""
        return _NODE_CHARS.sub("_", self.prefix)

    def discovery(self, area_id: int) -> str:
        return f"{HA_DISCOVERY_PREFIX}/binary_sensor/{self.node}/area_{area_id}/config"

    @property
    def discoveries(self) -> str:
        return f"{HA_DISCOVERY_PREFIX}/binary_sensor/{self.node}/+/config"

    def for_event(self, frames: EventFrames) -> list[str]:
        """Where one event goes: the all-events topic, then one topic per area (sorted)."""
        return [self.events] + [self.alerts(a) for a in sorted(frames.area_ids)]


_SHOWN_STAGE = {"pre_alert": "pre_alert", "alert": "alert", "update": "alert"}


class AreaState(msgspec.Struct, frozen=True, kw_only=True):
    """The retained state of one area under alert.

    ``stage`` is ``pre_alert`` or ``alert`` (an update's areas are under its alert);
    ``status`` ``actual`` or ``exercise``. The countdown: ``shelter_s`` is the area's time to
    reach shelter, counted from ``since``; ``shelter_until`` is when it runs out (a retained
    message cannot tick, so it carries the deadline; Unix seconds and ISO 8601 UTC both).
    """

    area_id: int
    stage: str
    category: str
    status: str
    alert_id: str
    seq: int
    since_unix_s: float
    since: str
    shelter_s: int
    shelter_until_unix_s: float
    shelter_until: str


def _iso(unix_s: float) -> str:
    return datetime.datetime.fromtimestamp(unix_s, datetime.UTC).isoformat(timespec="milliseconds")


def area_state(entry: ActiveArea) -> AreaState:
    until = entry.since_unix_s + entry.shelter_s
    return AreaState(
        area_id=entry.area_id,
        stage=_SHOWN_STAGE[entry.stage],
        category=entry.category,
        status=entry.status,
        alert_id=entry.alert_id,
        seq=entry.seq,
        since_unix_s=entry.since_unix_s,
        since=_iso(entry.since_unix_s),
        shelter_s=entry.shelter_s,
        shelter_until_unix_s=until,
        shelter_until=_iso(until),
    )


class RetainedStates:
    """What the broker should retain per area (from the log) against what it retains: the
    publishes that make the two agree. Pure: no I/O, no clock."""

    def __init__(self, exercises: bool) -> None:
        self.view = ActiveAlerts()
        self.exercises = exercises
        self.held: dict[int, bytes] = {}

    def apply(self, frames: EventFrames) -> None:
        """Fold one event in (an event already folded in is ignored)."""
        if frames.seq > self.view.last_seq:
            self.view.apply(frames.event)

    def changes(self, now_unix_s: float) -> list[tuple[int, bytes]]:
        """(area id, payload) to publish retained, ``b""`` deleting: ends first, then states."""
        want = {
            e.area_id: msgspec.json.encode(area_state(e))
            for e in self.view.areas(now_unix_s)
            if self.exercises or e.status != "exercise"
        }
        gone = [(a, b"") for a in sorted(self.held.keys() - want.keys())]
        return gone + [(a, p) for a, p in sorted(want.items()) if self.held.get(a) != p]

    def published(self, area_id: int, payload: bytes) -> None:
        """Record what the broker now retains for ``area_id``."""
        if payload:
            self.held[area_id] = payload
        else:
            self.held.pop(area_id, None)


def discovery_config(topics: Topics, area_id: int, area_name: str) -> dict[str, Any]:
    """The Home Assistant MQTT discovery config of one area's binary sensor.

    Keys as documented for the MQTT binary sensor (home-assistant.io/integrations/
    binary_sensor.mqtt) and discovery (home-assistant.io/integrations/mqtt, "MQTT Discovery"):
    on while a real alert or pre-alert covers the area (``value`` is the retained state, empty
    once it is deleted), the state JSON as attributes (``{}`` once deleted, so no attribute
    outlives the alert), unavailable while the server is not connected.
    """
    state = topics.state(area_id)
    return {
        "name": f"Red alert {area_name}",
        "unique_id": f"{topics.node}_area_{area_id}",
        "device_class": "safety",
        "state_topic": state,
        "value_template": "{{ 'ON' if value and value_json.status == 'actual' else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "json_attributes_topic": state,
        "json_attributes_template": "{{ value if value else '{}' }}",
        "availability_topic": topics.status,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": 1,
        "device": {
            "identifiers": [topics.node],
            "name": f"redcolor {topics.prefix}",
            "manufacturer": "redcolor",
            "model": "alert server",
            "sw_version": __version__,
        },
    }


@dataclass(frozen=True, slots=True)
class MqttOptions:
    """What the channel publishes: under ``prefix``; exercises or not; Home Assistant
    discovery for ``ha_areas`` as (area id, name) pairs."""

    prefix: str = DEFAULT_PREFIX
    exercises: bool = False
    ha_areas: Sequence[tuple[int, str]] = ()


async def run_mqtt(
    hub: Hub,
    store: EventStore,
    url: str,
    *,
    on_sent: Callable[[EventFrames], None] | None = None,
    on_status: Callable[[str | None], None] | None = None,
    retry_s: float = 1.0,
    start_seq: int | None = None,
    options: MqttOptions = MqttOptions(),
) -> None:
    """Publish the log and the area states to the broker at ``url`` until cancelled, from the
    channel's durable position (``start_seq``, default the hub's last seq, where it has none).

    ``on_status(reason)`` is called when the broker cannot be reached or the connection is
    lost, ``on_status(None)`` when connected: the server's supervisor shows it on ``/health``.
    A lost connection is noticed when it drops, not at the next publish.
    """
    host, port = parse_broker(url)
    topics = Topics(parse_prefix(options.prefix))
    start = hub.last_seq if start_seq is None else start_seq
    position = DurableCursor(store, "mqtt", start)
    states = RetainedStates(options.exercises)
    for row in store.iter_all():  # the area states as of the position
        if row.seq > position.last_seq:
            break
        states.view.apply(row)
    channel = _Channel(topics, options, states, on_sent)
    try:
        await _publish_forever(hub, store, (host, port), position, channel, on_status, retry_s)
    finally:
        position.flush()


@dataclass(slots=True)
class _Channel:
    """The publishing side of one run: events, area states and discovery, on one client."""

    topics: Topics
    options: MqttOptions
    states: RetainedStates
    on_sent: Callable[[EventFrames], None] | None
    client: aiomqtt.Client | None = None
    lock: asyncio.Lock | None = None

    async def connected(self, client: aiomqtt.Client) -> None:
        """Make the broker's retained messages agree with the log, then say ``online``."""
        self.client, self.lock = client, asyncio.Lock()
        wanted = {
            self.topics.discovery(area_id): msgspec.json.encode(
                discovery_config(self.topics, area_id, name)
            )
            for area_id, name in self.options.ha_areas
        }
        retained = await _read_retained(client, self.topics)
        self.states.held = {}
        for topic, payload in retained.items():
            area = self.topics.area_of_state(topic)
            if area is not None:
                self.states.held[area] = payload
            elif topic not in wanted:
                await client.publish(topic, b"", qos=1, retain=True)  # an area no longer listed
        for topic, payload in wanted.items():
            if retained.get(topic) != payload:
                await client.publish(topic, payload, qos=1, retain=True)
        await self.sync_states()
        await client.publish(self.topics.status, ONLINE, qos=1, retain=True)

    async def sync_states(self) -> None:
        """Publish the area states that changed (by an event or by the clock)."""
        assert self.client is not None and self.lock is not None
        async with self.lock:
            for area_id, payload in self.states.changes(time.time()):
                await self.client.publish(self.topics.state(area_id), payload, qos=1, retain=True)
                self.states.published(area_id, payload)

    async def event(self, frames: EventFrames) -> None:
        assert self.client is not None
        self.states.apply(frames)
        if not frames.exercise or self.options.exercises:
            for topic in self.topics.for_event(frames):
                await self.client.publish(topic, frames.body, qos=1)
        await self.sync_states()
        if self.on_sent is not None and (not frames.exercise or self.options.exercises):
            self.on_sent(frames)

    async def tick(self) -> None:
        """Returns never: clears the states of alerts that expired with no event."""
        while True:
            await asyncio.sleep(TICK_S)
            await self.sync_states()


async def _read_retained(client: aiomqtt.Client, topics: Topics) -> dict[str, bytes]:
    """What the broker retains under the area state and discovery topics of ``topics``.

    The broker sends a new subscription's retained messages before anything published after
    the SUBSCRIBE: a marker published (and echoed back) after subscribing ends the read.
    """
    marker = topics.marker(secrets.token_hex(8))
    filters = [(topics.states, 1), (topics.discoveries, 1), (marker, 1)]
    await client.subscribe(filters)
    await client.publish(marker, b"end", qos=1)
    retained: dict[str, bytes] = {}
    async for message in client.messages:
        topic = str(message.topic)
        if topic == marker:
            break
        if message.retain and isinstance(message.payload, bytes) and message.payload:
            retained[topic] = message.payload
    await client.unsubscribe([f for f, _ in filters])
    return retained


async def _publish_forever(
    hub: Hub,
    store: EventStore,
    broker: tuple[str, int],
    position: DurableCursor,
    channel: _Channel,
    on_status: Callable[[str | None], None] | None,
    retry_s: float,
) -> None:
    host, port = broker
    logged: str | None = None  # a broker that stays away is logged once, not every retry
    will = aiomqtt.Will(channel.topics.status, OFFLINE, qos=1, retain=True)
    while True:
        try:
            async with aiomqtt.Client(
                host, port, identifier=f"redcolor-{id(hub):x}", will=will
            ) as client:
                log.info("MQTT connected to %s:%d", host, port)
                logged = None
                await channel.connected(client)
                if on_status is not None:
                    on_status(None)
                try:
                    await _until_first_ends(
                        consume(hub, store, channel.event, position, channel="mqtt"),
                        channel.tick(),
                        _disconnect(client),
                    )
                except asyncio.CancelledError:  # the server stops: say so (a crash: the will)
                    with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                        async with asyncio.timeout(1.0):
                            await client.publish(channel.topics.status, OFFLINE, qos=1, retain=True)
                    raise
        except aiomqtt.MqttError as exc:
            reason = f"MQTT broker {host}:{port} unavailable ({exc})"
            if on_status is not None:
                on_status(reason)
            if reason != logged:
                log.warning("%s; retrying every %.1f s", reason, retry_s)
                logged = reason
            await asyncio.sleep(retry_s)


async def _disconnect(client: aiomqtt.Client) -> None:
    """Returns never; raises MqttError when the connection drops (nothing is subscribed once
    the retained read is over, so the message iterator only ever ends that way)."""
    async for _ in client.messages:
        pass


async def _until_first_ends(*aws: Coroutine[Any, Any, None]) -> None:
    """Run ``aws`` together until one ends; cancel the others; raise what the first raised."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()
