"""Web Push routes and sender. On when ``push_dir`` is configured (the VAPID key lives there;
subscriptions in a table of the store file, ``channels.push_store``).

``GET /v1/push/key`` gives the VAPID application server key; ``POST /v1/push/subscriptions``
stores a PushSubscription with its areas and answers 201 with its ``id`` and ``secret`` (the
secret is shown this once; ``PUT``/``DELETE /v1/push/subscriptions/{id}`` need it as
``Authorization: Bearer <secret>``); an endpoint subscribed already is 409, not overwritten.
Endpoints must be https on public addresses (``channels.push_guard``), checked when subscribing
and again on every connection the sender opens. Each address may make ``push_burst`` changes at
once, refilled at ``push_rate_per_min`` (429 with ``Retry-After`` beyond); past
``push_max_subscriptions`` a new subscription is 507 (the server's table is full: it is not the
client's fault, and nothing it retries soon will help).

Each event is pushed to every subscription naming one of its areas, one message per matching
area (``Topic: area-<id>``), in ``seq`` order per subscription; a push service answering 429 or
5xx (or not at all) is tried again after its ``Retry-After`` (at most 5 s), three tries in all;
404/410 forget the subscription (RFC 8030 section 7.3)."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from dataclasses import dataclass
from typing import TypeVar

import certifi
import httpcore
import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from py_vapid import Vapid02

from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.position import DurableCursor, LowWaterCursor
from redcolor.channels import webpush
from redcolor.channels.push_guard import (
    EndpointPolicy,
    EndpointRefused,
    GuardedBackend,
    parse_endpoint,
)
from redcolor.channels.push_store import PushStore
from redcolor.errors import CapacityError, InputError, LimitError, NotFoundError
from redcolor.serve.limits import TokenBuckets, client_key
from redcolor.serve.state import ServeConfig, ServerState

router = APIRouter(tags=["push"])
log = logging.getLogger("redcolor.push")
MAX_BODY_BYTES = 16 * 1024
"""Largest push request body (a PushSubscription with a few hundred area ids)."""
PATH_PREFIX = "/v1/push/"
_T = TypeVar("_T", bound=msgspec.Struct)


class AreasChange(msgspec.Struct, frozen=True):
    areas: list[int]


@dataclass
class PushService:
    """What the push routes and the sender share."""

    vapid: Vapid02
    store: PushStore
    policy: EndpointPolicy
    buckets: TokenBuckets
    ssl_context: ssl.SSLContext
    max_subscriptions: int


def check_config(config: ServeConfig) -> tuple[EndpointPolicy, ssl.SSLContext]:
    """The allow-list and the TLS settings of the push client; InputError (one line, at start)
    for an allow-list entry that is not a CIDR or a CA file that cannot be read."""
    policy = EndpointPolicy.from_cidrs(config.push_allow)
    context = ssl.create_default_context(cafile=certifi.where())
    if config.push_ca_file is not None:
        try:
            context.load_verify_locations(cafile=config.push_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"--push-ca-file {config.push_ca_file}: {exc}") from None
    return policy, context


def setup(state: ServerState) -> PushService | None:
    """The push service ``state.config`` asks for (None without ``push_dir``)."""
    config = state.config
    if config.push_dir is None:
        return None
    policy, context = check_config(config)
    if (config.push_dir / "subscriptions.json").exists():
        log.warning(
            "%s/subscriptions.json (an older registry, without secrets) is not read; "
            "browsers subscribe again",
            config.push_dir,
        )
    service = PushService(
        vapid=webpush.load_or_create_vapid(config.push_dir / "vapid.pem"),
        store=PushStore(config.db),
        policy=policy,
        buckets=TokenBuckets(config.push_rate_per_min / 60.0, config.push_burst),
        ssl_context=context,
        max_subscriptions=config.push_max_subscriptions,
    )
    state.metrics.push_subscriptions.set(len(service.store.subs))
    return service


def _service(request: Request) -> PushService:
    service: PushService | None = getattr(request.app.state, "push", None)
    if service is None:
        raise NotFoundError("web push is not configured on this server (start with --push-dir)")
    return service


def _limited(request: Request) -> PushService:
    """The service, once the caller's address has a token left for a change."""
    service = _service(request)
    wait_s = service.buckets.take(client_key(request.scope), time.monotonic())
    if wait_s > 0:
        request.app.state.redcolor.metrics.push_refused.labels("rate").inc()
        raise LimitError("too many push subscription changes from this address", wait_s)
    return service


def _secret(request: Request) -> str | None:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return (secret.strip() or None) if scheme.lower() == "bearer" else None


def _decode(body: bytes, kind: type[_T]) -> _T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise InputError(f"bad subscription: {exc}") from None
    except (msgspec.DecodeError, RecursionError):  # RecursionError: JSON nested too deep
        raise InputError("bad subscription: body is not JSON") from None


@router.get("/v1/push/key", summary="VAPID application server key (base64url)")
def push_key(request: Request) -> dict[str, str]:
    return {"application_server_key": webpush.application_server_key(_service(request).vapid)}


_AREAS_SCHEMA = {"type": "array", "items": {"type": "integer"}, "description": "area ids"}
_SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "required": ["endpoint", "keys", "areas"],
    "properties": {
        "endpoint": {"type": "string", "description": "PushSubscription.endpoint (https)"},
        "keys": {
            "type": "object",
            "required": ["p256dh", "auth"],
            "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
        },
        "areas": _AREAS_SCHEMA,
    },
}


def _body(schema: dict[str, object]) -> dict[str, object]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/v1/push/subscriptions",
    status_code=201,
    summary="Subscribe a browser PushSubscription to areas; answers its id and secret",
    openapi_extra=_body(_SUBSCRIPTION_SCHEMA),
)
async def subscribe(request: Request) -> Response:
    service = _limited(request)
    state: ServerState = request.app.state.redcolor
    sub = _decode(await request.body(), webpush.Subscription)
    state.check_area_ids(sub.areas)
    webpush.validate(sub)
    try:
        await service.policy.check(sub.endpoint)
    except EndpointRefused:
        state.metrics.push_refused.labels("address").inc()
        raise
    if len(service.store.subs) >= service.max_subscriptions:  # no await from here to add()
        state.metrics.push_refused.labels("cap").inc()
        raise CapacityError(
            f"the server holds its limit of {service.max_subscriptions} push subscriptions"
        )
    made = service.store.add(sub)
    state.metrics.push_subscriptions.set(len(service.store.subs))
    return JSONResponse({"id": made.id, "secret": made.secret}, status_code=201)


@router.put(
    "/v1/push/subscriptions/{sub_id}",
    summary="Change a subscription's areas (Authorization: Bearer <secret>)",
    openapi_extra=_body(
        {"type": "object", "required": ["areas"], "properties": {"areas": _AREAS_SCHEMA}}
    ),
)
async def change(request: Request, sub_id: str) -> dict[str, str]:
    service = _limited(request)
    change = _decode(await request.body(), AreasChange)
    if not change.areas:
        raise InputError("subscription areas: give at least one area id")
    request.app.state.redcolor.check_area_ids(change.areas)
    service.store.change_areas(sub_id, _secret(request), change.areas)
    return {"id": sub_id}


@router.delete(
    "/v1/push/subscriptions/{sub_id}",
    status_code=204,
    summary="Unsubscribe (Authorization: Bearer <secret>)",
)
async def unsubscribe(request: Request, sub_id: str) -> Response:
    service = _limited(request)
    service.store.remove(sub_id, _secret(request))
    request.app.state.redcolor.metrics.push_subscriptions.set(len(service.store.subs))
    return Response(status_code=204)


PUSH_ATTEMPTS = 3
"""Tries per message: a push service answering 429 or 5xx, or not answering, gets two more."""
PUSH_RETRY_CAP_S = 5.0
"""Longest wait between tries (a longer ``Retry-After`` is cut to this: alerts go stale)."""
PUSH_QUEUE = 256
"""Messages waiting per subscription; beyond it new ones are dropped and counted as failed."""


_TIMEOUTS_S = {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}
_SEND_ERRORS = (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError)
"""A push service that could not be reached or spoke bad HTTP: worth another try."""


async def run_push(state: ServerState, registry: PushService) -> None:
    """Push every event to its subscribers until cancelled.

    Each subscription has its own queue and sender, so its messages arrive in ``seq`` order
    and a slow or failing push service delays no one else's. Connections go through
    ``GuardedBackend``: each resolves and checks its host anew and connects to a checked address
    (an idle one is closed after 5 s, so sends after a pause resolve and check again).

    The durable position (``push``) passes an event only once every push due for it and for
    all before it is finished: accepted, given up on after its tries, dropped from a full queue
    (counted) or its subscription gone (a low-water mark over all the queues). After a crash or
    a restart of this task all after it is pushed again to every subscription it names: at
    least once, deduplicated downstream by (``id``, ``seq``). A slow subscription holds the
    position back (by up to its ``PUSH_QUEUE`` messages and their tries) but nobody's sends: it
    only means more is pushed again after a crash.
    """
    async with httpcore.AsyncConnectionPool(
        ssl_context=registry.ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(registry.policy),
    ) as client:
        durable = DurableCursor(state.store, "push", state.opened_seq)
        position = LowWaterCursor(durable)
        sender = _Sender(client, registry, state, position)

        drills = "push" in state.config.exercise_channels

        async def on_event(frames: EventFrames) -> None:
            if drills or not frames.exercise:  # an exercise is pushed only when told to
                sender.enqueue(frames)

        try:
            await consume(state.hub, state.store, on_event, position, channel="push")
        finally:
            durable.flush()  # the pushes still queued or in flight stay owed: pushed again
            await sender.close()


_Queue = asyncio.Queue[tuple[EventFrames, list[int]]]


class _Sender:
    """Per-subscription queues and tasks that send, retry and forget gone subscriptions; every
    message queued is owed on ``position`` until it is finished."""

    def __init__(
        self,
        client: httpcore.AsyncConnectionPool,
        registry: PushService,
        state: ServerState,
        position: LowWaterCursor,
    ):
        self.client, self.registry, self.metrics = client, registry, state.metrics
        self.position = position
        self.sent = state.metrics.deliveries.labels("push")
        self.failed = state.metrics.channel_errors.labels("push")
        self.queues: dict[str, _Queue] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def enqueue(self, frames: EventFrames) -> None:
        for sub_id, sub in list(self.registry.store.subs.items()):
            areas = sorted(frames.area_ids.intersection(sub.areas))
            if not areas:
                continue
            queue = self.queues.get(sub_id)
            if queue is None or self.tasks[sub_id].done():
                if queue is not None:  # its sender died: what it held is not owed any more
                    self._release(queue)
                queue = self.queues[sub_id] = asyncio.Queue(PUSH_QUEUE)
                self.tasks[sub_id] = asyncio.create_task(self._work(sub_id, queue))
            try:
                queue.put_nowait((frames, areas))
            except asyncio.QueueFull:
                self.failed.inc()
                log.warning("push queue of %s is full: event %d dropped", sub_id, frames.seq)
            else:
                self.position.owe(frames.seq)

    async def _work(self, sub_id: str, queue: _Queue) -> None:
        """Send ``queue`` in order until the subscription is gone; each message is finished on
        ``position`` when done with, however (on cancellation, at shutdown, it stays owed)."""
        while True:
            frames, areas = await queue.get()
            try:
                gone = await self._send(sub_id, frames, areas)
            except Exception as exc:  # a bug here must not stall the position nor this queue
                self.failed.inc()
                log.error("push of event %d to %s failed: %r", frames.seq, sub_id, exc)
                gone = False
            self.position.finish(frames.seq)
            if gone:  # unsubscribed or gone: drop what is left and stop
                self.queues.pop(sub_id, None)
                self.tasks.pop(sub_id, None)
                self._release(queue)
                return

    async def _send(self, sub_id: str, frames: EventFrames, areas: list[int]) -> bool:
        """Push ``frames`` once per area; True if the subscription is gone."""
        for area in areas:
            sub = self.registry.store.subs.get(sub_id)
            if sub is None:
                return True
            await self._deliver(sub_id, sub, frames, area)
        return sub_id not in self.registry.store.subs

    def _release(self, queue: _Queue) -> None:
        while not queue.empty():
            self.position.finish(queue.get_nowait()[0].seq)

    async def _deliver(
        self, sub_id: str, sub: webpush.Subscription, frames: EventFrames, area: int
    ) -> None:
        endpoint = parse_endpoint(sub.endpoint)
        body = webpush.encrypt(frames.body, sub)
        headers = webpush.headers(self.registry.vapid, sub.endpoint, webpush.topic_for(area))
        headers["Host"] = endpoint.authority
        why = ""
        for attempt in range(PUSH_ATTEMPTS):
            wait_s = 0.5 * 2**attempt
            try:
                r = await self.client.request(
                    "POST",
                    endpoint.url(),
                    headers=headers,
                    content=body,
                    extensions={"timeout": _TIMEOUTS_S},
                )
            except EndpointRefused as exc:  # resolves to a refused address now: never retried
                self.metrics.push_refused.labels("address_at_send").inc()
                why = str(exc)
                break
            except _SEND_ERRORS as exc:
                why = str(exc) or type(exc).__name__
            else:
                if r.status in (404, 410):  # RFC 8030 section 7.3: subscription gone
                    self.registry.store.forget(sub_id)
                    self.metrics.push_subscriptions.set(len(self.registry.store.subs))
                    return
                if r.status < 300:
                    self.sent.inc()
                    return
                why = f"answered {r.status}"
                if r.status != 429 and r.status < 500:  # a retry would not help
                    break
                retry_after = next(
                    (v.decode("latin-1") for k, v in r.headers if k.lower() == b"retry-after"),
                    None,
                )
                wait_s = retry_after_s(retry_after, wait_s)
            if attempt + 1 < PUSH_ATTEMPTS:
                await asyncio.sleep(min(wait_s, PUSH_RETRY_CAP_S))
        self.failed.inc()
        log.warning("push of event %d to subscription %s failed: %s", frames.seq, sub_id, why)

    async def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def retry_after_s(header: str | None, default_s: float) -> float:
    """Seconds a ``Retry-After`` header asks for (RFC 9110 10.2.3, the delay-seconds form);
    ``default_s`` when it is missing or an HTTP date."""
    if header is not None and header.strip().isdigit():
        return float(header.strip())
    return default_s
