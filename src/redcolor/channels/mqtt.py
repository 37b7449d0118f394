"""MQTT channel: every event on ``redcolor/events`` and on ``redcolor/alerts/<area id>``, QoS 1.

The payload is the stored event JSON, byte for byte. Off unless a broker URL is configured. When
the broker goes away the channel reconnects with backoff and resumes from the last event it
published, so no event is skipped; its position is durable (:mod:`redcolor.bus.position`), so
after a restart it publishes every event stored since, those stored while the server was down
included. Exercises are skipped (their position passed all the same) unless the server is told
to send them here too. Delivery is at least once (QoS 1 may repeat one across a reconnect, a
restart up to 100 ms worth): clients dedupe by (``id``, ``seq``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.hub import Hub
from redcolor.bus.position import DurableCursor
from redcolor.errors import InputError

log = logging.getLogger("redcolor.mqtt")
EVENTS_TOPIC = "redcolor/events"
AREA_TOPIC = "redcolor/alerts/{area_id}"


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


def topics(frames: EventFrames) -> list[str]:
    """Where one event goes: the all-events topic, then one topic per area (sorted)."""
    return [EVENTS_TOPIC] + [AREA_TOPIC.format(area_id=a) for a in sorted(frames.area_ids)]


async def run_mqtt(
    hub: Hub,
    store: SQLiteEventStore,
    url: str,
    *,
    on_sent: Callable[[EventFrames], None] | None = None,
    on_status: Callable[[str | None], None] | None = None,
    retry_s: float = 1.0,
    start_seq: int | None = None,
    exercises: bool = False,
) -> None:
    """Publish the log to the broker at ``url`` until cancelled, from the channel's durable
    position (``start_seq``, default the hub's last seq, where it has none yet).

    ``on_status(reason)`` is called when the broker cannot be reached or the connection is
    lost, ``on_status(None)`` when connected: the server's supervisor shows it on ``/health``.
    A lost connection is noticed when it drops, not at the next publish. ``exercises`` False
    skips exercise events.
    """
    host, port = parse_broker(url)
    start = hub.last_seq if start_seq is None else start_seq
    position = DurableCursor(store, "mqtt", start)
    try:
        await _publish_forever(
            hub, store, (host, port), position, on_sent, on_status, retry_s, exercises
        )
    finally:
        position.flush()


async def _publish_forever(
    hub: Hub,
    store: SQLiteEventStore,
    broker: tuple[str, int],
    position: DurableCursor,
    on_sent: Callable[[EventFrames], None] | None,
    on_status: Callable[[str | None], None] | None,
    retry_s: float,
    exercises: bool,
) -> None:
    host, port = broker
    logged: str | None = None  # a broker that stays away is logged once, not every retry
    while True:
        try:
            async with aiomqtt.Client(host, port, identifier=f"redcolor-{id(hub):x}") as client:
                log.info("MQTT connected to %s:%d", host, port)
                logged = None
                if on_status is not None:
                    on_status(None)

                async def publish(frames: EventFrames) -> None:
                    if frames.exercise and not exercises:
                        return
                    for topic in topics(frames):
                        await client.publish(topic, frames.body, qos=1)
                    if on_sent is not None:
                        on_sent(frames)

                await _until_first_ends(
                    consume(hub, store, publish, position, channel="mqtt"), _disconnect(client)
                )
        except aiomqtt.MqttError as exc:
            reason = f"MQTT broker {host}:{port} unavailable ({exc})"
            if on_status is not None:
                on_status(reason)
            if reason != logged:
                log.warning("%s; retrying every %.1f s", reason, retry_s)
                logged = reason
            await asyncio.sleep(retry_s)


async def _disconnect(client: aiomqtt.Client) -> None:
    """Returns never; raises MqttError when the connection drops (nothing is subscribed, so
    the message iterator only ever ends that way)."""
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
