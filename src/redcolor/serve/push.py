"""Web Push routes and sender. On when ``push_dir`` is configured (keys and subscriptions live
there): ``GET /v1/push/key`` gives the VAPID application server key, ``POST
/v1/push/subscriptions`` stores a PushSubscription with its areas, ``DELETE
/v1/push/subscriptions?endpoint=`` forgets one. Each event is pushed to every
subscription naming one of its areas, one message per matching area (``Topic: area-<id>``),
in ``seq`` order per subscription; a push service answering 429 or 5xx (or not at all) is tried
again after its ``Retry-After`` (at most 5 s), three tries in all; 404/410 forget the
subscription (RFC 8030 section 7.3)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import httpx
import msgspec
from fastapi import APIRouter, Query, Request, Response

from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.position import DurableCursor
from redcolor.channels import webpush
from redcolor.errors import InputError, NotFoundError
from redcolor.serve.state import ServerState

router = APIRouter(tags=["push"])
log = logging.getLogger("redcolor.push")
_SUBS = msgspec.json.Decoder(list[webpush.Subscription])


class PushRegistry:
    """Subscriptions by endpoint, saved as JSON beside the VAPID key."""

    def __init__(self, directory: Path) -> None:
        self.vapid = webpush.load_or_create_vapid(directory / "vapid.pem")
        self.path = directory / "subscriptions.json"
        self.subs: dict[str, webpush.Subscription] = {}
        if self.path.exists():
            self.subs = {s.endpoint: s for s in _SUBS.decode(self.path.read_bytes())}

    def add(self, sub: webpush.Subscription) -> None:
        self.subs[sub.endpoint] = sub
        self._save()

    def remove(self, endpoint: str) -> None:
        if self.subs.pop(endpoint, None) is not None:
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(list(self.subs.values())))
        tmp.replace(self.path)


def _registry(request: Request) -> PushRegistry:
    registry: PushRegistry | None = getattr(request.app.state, "push", None)
    if registry is None:
        raise NotFoundError("web push is not configured on this server (start with --push-dir)")
    return registry


@router.get("/v1/push/key", summary="VAPID application server key (base64url)")
def push_key(request: Request) -> dict[str, str]:
    return {"application_server_key": webpush.application_server_key(_registry(request).vapid)}


_SUBSCRIPTION_SCHEMA = {
    "type": "object",
    "required": ["endpoint", "keys", "areas"],
    "properties": {
        "endpoint": {"type": "string", "description": "PushSubscription.endpoint"},
        "keys": {
            "type": "object",
            "required": ["p256dh", "auth"],
            "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
        },
        "areas": {"type": "array", "items": {"type": "integer"}, "description": "area ids"},
    },
}


@router.post(
    "/v1/push/subscriptions",
    status_code=201,
    summary="Subscribe a browser PushSubscription to areas",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _SUBSCRIPTION_SCHEMA}},
        }
    },
)
async def subscribe(request: Request) -> Response:
    registry = _registry(request)
    state: ServerState = request.app.state.redcolor
    body = await request.body()
    if len(body) > 16_384:
        raise InputError("subscription body too large")
    try:
        sub = msgspec.json.decode(body, type=webpush.Subscription)
    except msgspec.ValidationError as exc:
        raise InputError(f"bad subscription: {exc}") from None
    except msgspec.DecodeError:
        raise InputError("bad subscription: body is not JSON") from None
    state.check_area_ids(sub.areas)
    registry.add(webpush.validate(sub))
    return Response(status_code=201)


@router.delete("/v1/push/subscriptions", status_code=204, summary="Unsubscribe an endpoint")
async def unsubscribe(
    request: Request, endpoint: Annotated[str, Query(max_length=2048)]
) -> Response:
    registry = _registry(request)
    if endpoint not in registry.subs:
        raise NotFoundError("no subscription with that endpoint")
    registry.remove(endpoint)
    return Response(status_code=204)


PUSH_ATTEMPTS = 3
"""Tries per message: a push service answering 429 or 5xx, or not answering, gets two more."""
PUSH_RETRY_CAP_S = 5.0
"""Longest wait between tries (a longer ``Retry-After`` is cut to this: alerts go stale)."""
PUSH_QUEUE = 256
"""Messages waiting per subscription; beyond it new ones are dropped and counted as failed."""


async def run_push(state: ServerState, registry: PushRegistry) -> None:
    """Push every event to its subscribers until cancelled.

    Each subscription has its own queue and sender, so its messages arrive in ``seq`` order
    and a slow or failing push service delays no one else's.
    """
    async with httpx.AsyncClient(timeout=10) as client:
        sender = _Sender(client, registry, state)

        async def on_event(frames: EventFrames) -> None:
            sender.enqueue(frames)

        position = DurableCursor(state.store, "push", state.opened_seq)
        try:
            await consume(state.hub, state.store, on_event, position, channel="push")
        finally:
            position.flush()
            await sender.close()


class _Sender:
    """Per-subscription queues and tasks that send, retry and forget gone subscriptions."""

    def __init__(self, client: httpx.AsyncClient, registry: PushRegistry, state: ServerState):
        self.client, self.registry = client, registry
        self.sent = state.metrics.deliveries.labels("push")
        self.failed = state.metrics.channel_errors.labels("push")
        self.queues: dict[str, asyncio.Queue[tuple[EventFrames, list[int]]]] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def enqueue(self, frames: EventFrames) -> None:
        for sub in list(self.registry.subs.values()):
            areas = sorted(frames.area_ids.intersection(sub.areas))
            if not areas:
                continue
            queue = self.queues.get(sub.endpoint)
            if queue is None or self.tasks[sub.endpoint].done():
                queue = self.queues[sub.endpoint] = asyncio.Queue(PUSH_QUEUE)
                self.tasks[sub.endpoint] = asyncio.create_task(self._work(sub.endpoint, queue))
            try:
                queue.put_nowait((frames, areas))
            except asyncio.QueueFull:
                self.failed.inc()
                log.warning("push queue of %s is full: event %d dropped", sub.endpoint, frames.seq)

    async def _work(
        self, endpoint: str, queue: asyncio.Queue[tuple[EventFrames, list[int]]]
    ) -> None:
        while True:
            frames, areas = await queue.get()
            for area in areas:
                sub = self.registry.subs.get(endpoint)
                if sub is None:  # unsubscribed or gone: drop what is left and stop
                    self.queues.pop(endpoint, None)
                    self.tasks.pop(endpoint, None)
                    return
                await self._deliver(sub, frames, area)

    async def _deliver(self, sub: webpush.Subscription, frames: EventFrames, area: int) -> None:
        body = webpush.encrypt(frames.body, sub)
        headers = webpush.headers(self.registry.vapid, sub.endpoint, webpush.topic_for(area))
        why = ""
        for attempt in range(PUSH_ATTEMPTS):
            wait_s = 0.5 * 2**attempt
            try:
                r = await self.client.post(sub.endpoint, content=body, headers=headers)
            except httpx.HTTPError as exc:
                why = str(exc) or type(exc).__name__
            else:
                if r.status_code in (404, 410):  # RFC 8030 section 7.3: subscription gone
                    self.registry.remove(sub.endpoint)
                    return
                if r.status_code < 300:
                    self.sent.inc()
                    return
                why = f"answered {r.status_code}"
                if r.status_code != 429 and r.status_code < 500:  # a retry would not help
                    break
                wait_s = retry_after_s(r.headers.get("retry-after"), wait_s)
            if attempt + 1 < PUSH_ATTEMPTS:
                await asyncio.sleep(min(wait_s, PUSH_RETRY_CAP_S))
        self.failed.inc()
        log.warning("push of event %d to %s failed: %s", frames.seq, sub.endpoint, why)

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
