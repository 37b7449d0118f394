"""REST routes: areas, active alerts, history with cursor paging, locate, health, metrics.

Responses that carry stored events are assembled from the stored JSON bytes, never re-encoded.
Handlers that read the store or the active view are ``async``: they run on the event loop, the
one thread that also updates them, so no request sees a half-applied event.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import time
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from shapely.geometry import mapping

from redcolor.channels.active import ActiveArea
from redcolor.errors import InputError
from redcolor.model import AlertEvent, Category
from redcolor.serve.sensors import degraded_reason, sensor_report
from redcolor.serve.state import ServerState

router = APIRouter()
MAX_PAGE = 1000
_JSON = "application/json"
_GEOJSON = "application/geo+json"


class ActiveView(msgspec.Struct):
    last_seq: int
    areas: list[ActiveArea]


class HistoryPage(msgspec.Struct):
    """One page of history: events oldest first by ``seq``; pass ``next_cursor`` back for more."""

    events: list[AlertEvent]
    next_cursor: str | None


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.redcolor
    return state


def encode_cursor(after_seq: int) -> str:
    """An opaque paging cursor that resumes after ``after_seq``."""
    return base64.urlsafe_b64encode(f"h1:{after_seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Inverse of :func:`encode_cursor`; InputError for anything it did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, _, number = raw.partition(":")
        if tag != "h1" or not number.isdigit() or len(number) > 18:
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InputError(
            f"bad cursor {cursor[:40]!r}: pass back a next_cursor this API returned"
        ) from None


def _finite(name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise InputError(f"{name} must be a finite number of Unix seconds")
    return value


@router.get("/v1/areas", tags=["areas"], summary="All alert areas (no polygons)")
def areas(request: Request) -> Response:
    return Response(state_of(request).areas_json, media_type=_JSON)


@router.get("/v1/areas.geojson", tags=["areas"], summary="All alert areas as GeoJSON")
def areas_geojson(request: Request) -> Response:
    """Gzipped (compressed once) for clients that accept it; the map loads it on every visit."""
    state = state_of(request)
    headers = {"Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(state.areas_geojson_gzip, media_type=_GEOJSON, headers=headers)
    return Response(state.areas_geojson, media_type=_GEOJSON, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header admits gzip (RFC 9110 12.5.3): ``gzip`` listed
    with a non-zero quality, or ``*`` with one when gzip is not listed."""
    quality: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        quality[coding.strip().lower()] = q
    return quality.get("gzip", quality.get("*", 0.0)) > 0.0


@router.get(
    "/v1/alerts/active",
    tags=["alerts"],
    summary="Areas under alert now",
    responses={200: {"content": {_JSON: {}}}},
)
async def active(request: Request) -> Response:
    state = state_of(request)
    view = ActiveView(state.hub.last_seq, state.active.areas(state.now_unix_s()))
    return Response(msgspec.json.encode(view), media_type=_JSON)


@router.get("/v1/alerts/active.geojson", tags=["alerts"], summary="Areas under alert, GeoJSON")
async def active_geojson(request: Request) -> Response:
    state = state_of(request)
    features: list[dict[str, Any]] = []
    for entry in state.active.areas(state.now_unix_s()):
        area = state.areas.get(entry.area_id)
        props = msgspec.structs.asdict(entry) | {"value": area.value, "name_en": area.name_en}
        features.append(
            {
                "type": "Feature",
                "id": entry.area_id,
                "properties": props,
                "geometry": mapping(area.polygon),
            }
        )
    body = {"type": "FeatureCollection", "last_seq": state.hub.last_seq, "features": features}
    return Response(msgspec.json.encode(body), media_type=_GEOJSON)


@router.get(
    "/v1/history",
    tags=["alerts"],
    summary="Alert events, oldest first by seq, filtered, cursor-paged (no row cap)",
    responses={200: {"content": {_JSON: {}}, "description": HistoryPage.__doc__}},
)
async def history(
    request: Request,
    since_unix_s: Annotated[float | None, Query(description="issued at or after")] = None,
    until_unix_s: Annotated[float | None, Query(description="issued before")] = None,
    area: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="area id")] = None,
    category: Annotated[Category | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Response:
    state = state_of(request)
    _finite("since_unix_s", since_unix_s)
    _finite("until_unix_s", until_unix_s)
    if area is not None:
        state.check_area_ids([area])
    after = decode_cursor(cursor) if cursor is not None else 0
    rows = state.store.query(
        after_seq=after,
        since_unix_s=since_unix_s,
        until_unix_s=until_unix_s,
        area_id=area,
        category=category,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = msgspec.json.encode(encode_cursor(rows[-1].seq) if more else None)
    body = b'{"events":[' + b",".join(r.body for r in rows) + b'],"next_cursor":' + next_cursor
    return Response(body + b"}", media_type=_JSON)


@router.get("/v1/locate", tags=["areas"], summary="The alert area at a point")
def locate(
    request: Request,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> Response:
    state = state_of(request)
    inside = state.areas.locate(lat, lon)
    nearest, distance_m = state.areas.nearest(lat, lon)
    body = {
        "area": None if inside is None else _brief(inside),
        "nearest": _brief(nearest),
        "distance_m": round(float(distance_m), 1),
    }
    return Response(msgspec.json.encode(body), media_type=_JSON)


def _brief(area: Any) -> dict[str, Any]:
    return {
        "id": area.id,
        "value": area.value,
        "name_en": area.name_en,
        "name_he": area.name_he,
        "shelter_s": area.shelter_s,
    }


@router.get(
    "/health",
    tags=["ops"],
    summary="Whether every background task and sensor works, and the log position",
    responses={503: {"description": "The pipeline or the store follower is down"}},
)
async def health(request: Request) -> Response:
    """``status`` ok | degraded (a task or a sensor is down: ``reason`` says which and why) |
    down (a critical task, the pipeline or the store follower, is down: HTTP 503); each task's
    ``state`` (running | restarting | failed | finished), ``reason``, ``restarts``,
    ``since_unix_s``; with a live core, each sensor's ``state`` (ok | degraded), ``reason``
    (silent | clock_stopped | never_heard), ``last_data_age_s``, ``scans``, ``plots`` and
    ``dropped`` plots by reason. An active/standby core adds ``ha``: ``role`` (leader |
    standby), the store ``term``, ``node_id``, ``lease_term``; it is degraded while the store
    refuses its writes (``reason`` "store: ..."), ok again once it writes."""
    state = state_of(request)
    report = state.tasks.health()
    status, reason = report["status"], report["reason"]
    sensors = state.sensors.health() if state.sensors is not None else []
    silent = degraded_reason(sensors)
    if silent is not None:  # a blind spot is never "ok, nothing flying"
        status = "degraded" if status == "ok" else status
        reason = silent if reason is None else f"{reason}; {silent}"
    fault = None if state.ha is None else state.ha.store_fault
    if fault is not None:  # the lifecycle cannot write: no alert is issued until it can
        status = "degraded" if status == "ok" else status
        reason = f"store: {fault}" if reason is None else f"{reason}; store: {fault}"
    body = {
        "status": status,
        "reason": reason,
        "last_seq": state.hub.last_seq,
        "log_id": state.hub.log_id,
        "store": state.store.path,
        "tasks": report["tasks"],
        "sensors": sensor_report(sensors),
    }
    if state.ha is not None:  # role, term, node_id of an active/standby core
        body["ha"] = await asyncio.to_thread(state.ha.health, state.store)
    if state.leader is not None:  # an edge: is the leader there, does this copy keep up?
        body["leader"] = state.leader.report(time.monotonic(), state.hub.last_seq)
    status_code = 503 if status == "down" else 200
    return Response(msgspec.json.encode(body), status_code=status_code, media_type=_JSON)


@router.get("/metrics", tags=["ops"], summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    """In the event loop (not a worker thread): the sensor counts are read from the ingest
    the UDP receiver feeds there."""
    registry = state_of(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
