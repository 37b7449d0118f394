"""Web Push routes and sender. On when ``push_dir`` is configured (keys and subscriptions live
there): ``GET /v1/push/key`` gives the VAPID application server key, ``POST
/v1/push/subscriptions`` stores a PushSubscription with its areas, ``DELETE
/v1/push/subscriptions?endpoint=`` forgets one. Each event is pushed to every
subscription naming one of its areas, one message per matching area (``Topic: area-<id>``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import httpx
import msgspec
from fastapi import APIRouter, Query, Request, Response

from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.hub import ResumeCursor
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


async def run_push(state: ServerState, registry: PushRegistry) -> None:
    """Push every event to its subscribers until cancelled."""
    sent = state.metrics.deliveries.labels("push")
    failed = state.metrics.channel_errors.labels("push")
    async with httpx.AsyncClient(timeout=10) as client:

        async def on_event(frames: EventFrames) -> None:
            for sub in list(registry.subs.values()):
                for area in sorted(frames.area_ids.intersection(sub.areas)):
                    body = webpush.encrypt(frames.body, sub)
                    headers = webpush.headers(registry.vapid, sub.endpoint, webpush.topic_for(area))
                    try:
                        r = await client.post(sub.endpoint, content=body, headers=headers)
                    except httpx.HTTPError as exc:
                        failed.inc()
                        log.warning("push to %s failed: %s", sub.endpoint, exc)
                        continue
                    if r.status_code in (404, 410):  # RFC 8030 section 7.3: subscription gone
                        registry.remove(sub.endpoint)
                    elif r.status_code >= 300:
                        failed.inc()
                        log.warning("push to %s answered %d", sub.endpoint, r.status_code)
                    else:
                        sent.inc()

        await consume(
            state.hub, state.store, on_event, ResumeCursor(state.hub.last_seq), channel="push"
        )
