"""NATS JetStream bus: carry the alert event log to edge servers on other machines.

The core publishes every stored event, in ``seq`` order, to one JetStream stream; the stream
sequence then equals the event ``seq`` (each publish carries ``Nats-Msg-Id: <seq>``, so a retry
inside the stream's duplicate window is not stored twice, and the publisher checks every ack).
An edge copies the stream into its own local store, ``seq`` for ``seq``, from where its store
ends, and serves from that store exactly as the core does: resume points, history and CAP
identifiers are the same on every node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import nats
from nats.js import api
from nats.js.errors import NotFoundError as StreamNotFound

from redcolor.alerts.store import EventStore
from redcolor.errors import InputError, StoreError
from redcolor.model import EVENT_DECODER

log = logging.getLogger("redcolor.nats")


@dataclass(frozen=True)
class StreamSpec:
    """Where the log lives in JetStream."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "REDCOLOR"
    subject: str = "redcolor.events"


NATS_SCHEMES = ("nats", "tls", "ws", "wss")


def check_url(url: str) -> str:
    """``url`` if it names a NATS server (``nats://host:port``; tls, ws, wss too), else
    InputError: checked at start-up, so a typo is one line, not a task failing in the background.
    """
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in NATS_SCHEMES or not parts.hostname or not port_ok:
        raise InputError(f"bad NATS server {url!r}: expected nats://host:port")
    return url


async def ensure_stream(js: nats.js.JetStreamContext, spec: StreamSpec) -> int:
    """Create the stream if missing (file storage, one subject); return its last sequence."""
    try:
        info = await js.stream_info(spec.stream)
    except StreamNotFound:
        config = api.StreamConfig(
            name=spec.stream,
            subjects=[spec.subject],
            storage=api.StorageType.FILE,
            duplicate_window=120.0,
        )
        info = await js.add_stream(config)
    return int(info.state.last_seq)


StatusCallback = Callable[[str | None], None]
"""``report(reason)`` while the NATS connection is lost, ``report(None)`` once it is back."""


async def _connect(spec: StreamSpec, on_status: StatusCallback | None) -> nats.NATS:
    """Connect to ``spec.url``; a lost connection (nats-py reconnects by itself) and its return
    are told to ``on_status`` as they happen, so an idle publisher's outage is seen at once."""
    if on_status is None:
        return await nats.connect(spec.url)
    report = on_status

    async def disconnected() -> None:
        report(f"NATS {spec.url} disconnected; reconnecting")

    async def reconnected() -> None:
        report(None)

    async def closed() -> None:
        report(f"NATS {spec.url} connection closed")

    return await nats.connect(
        spec.url, disconnected_cb=disconnected, reconnected_cb=reconnected, closed_cb=closed
    )


async def publish_log(
    store: EventStore,
    spec: StreamSpec,
    *,
    poll_s: float = 0.01,
    on_status: StatusCallback | None = None,
) -> None:
    """Core side: publish the store to the stream in ``seq`` order, forever (cancel to stop).

    Starts after the stream's last sequence, so a restarted publisher neither skips nor repeats.
    Raises StoreError if the stream and the store disagree (a stream made for another log).
    """
    nc = await _connect(spec, on_status)
    try:
        js = nc.jetstream()
        published = await ensure_stream(js, spec)
        if published > store.last_seq():
            raise StoreError(
                f"stream {spec.stream} holds {published} events, the store only {store.last_seq()}"
            )
        while True:
            if nc.is_closed:  # nats-py gave up reconnecting: end, so the caller starts afresh
                raise ConnectionError(f"NATS {spec.url} connection closed")
            rows = store.read_since(published, 500)
            for row in rows:
                ack = await js.publish(
                    spec.subject,
                    row.body,
                    stream=spec.stream,
                    headers={"Nats-Msg-Id": str(row.seq)},
                )
                if ack.seq != row.seq:
                    raise StoreError(
                        f"stream {spec.stream} out of step: seq {row.seq} -> {ack.seq}"
                    )
                published = row.seq
            if not rows:
                await asyncio.sleep(poll_s)
    finally:
        await nc.close()


async def replicate(
    spec: StreamSpec,
    store: EventStore,
    on_append: Callable[[], None] | None = None,
    on_status: StatusCallback | None = None,
) -> None:
    """Edge side: append the stream to ``store``, ``seq`` for ``seq``, forever (cancel to stop).

    Starts at the local store's ``last_seq() + 1``. An ordered consumer redelivers from the
    last sequence it handed over after a reconnect, so nothing is skipped; anything not exactly
    the next ``seq`` is refused (StoreError) rather than stored out of order.
    """
    nc = await _connect(spec, on_status)
    try:
        js = nc.jetstream()
        await ensure_stream(js, spec)
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=store.last_seq() + 1,
        )
        sub = await js.subscribe(
            spec.subject, stream=spec.stream, ordered_consumer=True, config=config
        )
        async for msg in sub.messages:
            seq = msg.metadata.sequence.stream
            expected = store.last_seq() + 1
            if seq < expected:
                continue  # already held (a redelivery)
            if seq > expected:
                raise StoreError(f"stream {spec.stream} skipped from {expected - 1} to {seq}")
            (stored,) = store.append([EVENT_DECODER.decode(msg.data)])
            if stored.seq != seq:
                raise StoreError(f"local store assigned seq {stored.seq} to stream seq {seq}")
            if on_append is not None:
                on_append()
    finally:
        await nc.close()
