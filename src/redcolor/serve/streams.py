"""WebSocket ``/v1/stream`` and SSE ``/v1/events``: the live log with resume, per-area filters.

A client resumes with the last ``seq`` it holds and the ``log_id`` its frames named. When that
point is not in this server's log (another log id, or a seq past the end: a fresh store, another
server) the stream does not refuse (a browser would give up): it sends a ``reset`` control frame
naming this log and the seq its events start after (0), then this log's events from there.

Under :mod:`redcolor.serve.rawws` (what ``redcolor serve`` runs) a WebSocket client costs no task
per event: the hub writes the one pre-built frame straight to each connection's transport, and
the transport's write buffer is the client's bounded queue (``ws_buffer_bytes``). Under any other
ASGI server the same endpoint falls back to a bounded queue and a writer task. Both, SSE and the
server's own channels subscribe the one way :mod:`redcolor.bus.follow` has
(:func:`~redcolor.bus.follow.subscription`, :func:`~redcolor.bus.follow.follow`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse

from redcolor.bus.follow import Dropped, follow, subscription
from redcolor.bus.frames import ControlFrames, EventFrames
from redcolor.errors import InputError
from redcolor.serve.state import ServerState

router = APIRouter()
MAX_FILTER_AREAS = 2000
# The longest ``areas`` a client may send: MAX_FILTER_AREAS ids of up to 9 digits, each followed
# by a comma it may percent-encode (what browsers' URLSearchParams does).
MAX_AREAS_QUERY_BYTES = MAX_FILTER_AREAS * len("123456789%2C")
RAW_WS_EXTENSION = "redcolor.raw_ws"
DROP_CLOSE_CODE = 1013  # "try again later" (RFC 6455 section 7.4.1 registry)


class RawSocket(Protocol):
    """A connection's transport after the WebSocket handshake (see :mod:`redcolor.serve.rawws`)."""

    def write(self, data: bytes) -> None: ...
    def send_if_room(self, limit_bytes: int, frames: EventFrames) -> bool: ...
    def buffered(self) -> int: ...
    def is_closing(self) -> bool: ...
    def limit_kernel_buffer(self, sndbuf_bytes: int) -> None: ...


def parse_areas(state: ServerState, text: str | None) -> frozenset[int] | None:
    """``"1,2,3"`` -> a validated set of area ids; None or ``""`` -> every area."""
    if text is None or not text.strip():
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > MAX_FILTER_AREAS:
        raise InputError(f"too many areas: {len(parts)} (at most {MAX_FILTER_AREAS})")
    ids = []
    for part in parts:
        if not part.isdigit() or len(part) > 9:
            raise InputError(f"bad area id {part[:20]!r}: expected a comma-separated list of ids")
        ids.append(int(part))
    return state.check_area_ids(ids)


def parse_since(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 18:
        raise InputError(f"bad since {text[:20]!r}: expected the last seq you hold (an integer)")
    return int(text)


_LOG_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


def parse_log_id(text: str | None) -> str | None:
    """A client's ``log`` as given (any log id a server could have made); None when absent."""
    if text is None or text == "":
        return None
    if not _LOG_ID.fullmatch(text):
        raise InputError(f"bad log {text[:20]!r}: expected the log_id of the frames you hold")
    return text


def parse_last_event_id(text: str) -> tuple[str | None, int | None]:
    """``Last-Event-ID`` as this server writes it (``<log_id>:<seq>``) or a bare ``seq``."""
    log, sep, seq = text.rpartition(":")
    return (parse_log_id(log) if sep else None), parse_since(seq)


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a stream starts: after ``after_seq`` (None: from now on); ``reset`` is the frame
    sent first when the client's point was not in this log."""

    after_seq: int | None
    reset: ControlFrames | None = None


def resume_point(state: ServerState, since: int | None, log_id: str | None) -> Resume:
    """Resume after ``since`` if it is a point of this log, else from the log's start, reset.

    The store, not the hub, bounds the log: a client may hold an event it was replayed from the
    store a moment before the follower published it. On an edge, a point of the core's log past
    this copy's end is a resume point too: the client had it from another edge, and this one
    sends what follows it as it arrives.
    """
    if since is None:
        return Resume(None)
    ours = state.hub.log_id
    last = max(state.hub.last_seq, state.store.last_seq())
    if log_id is not None and log_id != ours:
        reason = f"log {log_id} is not this server's log {ours}"
    elif since > last and not state.is_edge:
        reason = f"seq {since} is past the end of log {ours} (last seq {last})"
    elif state.is_edge and since < (first := state.store.first_seq()) - 1:
        reason = f"seq {since} is older than this edge keeps (its copy starts at seq {first})"
        return Resume(first - 1, ControlFrames.reset(ours, first - 1, last, reason))
    else:
        return Resume(since)
    return Resume(0, ControlFrames.reset(ours, 0, last, reason))


class RawWsSink:
    """Hub sink writing pre-built frames to a transport, bounded by its write buffer.

    The per-delivery path is one call; metrics are counted per event by the server's publish
    hook (deliveries, and the fan-out latency to the last client), not per client.
    """

    channel = "ws"

    def __init__(self, raw: RawSocket, limit_bytes: int) -> None:
        self.raw = raw
        self.limit_bytes = limit_bytes
        self.reason: str | None = None
        self.gone = asyncio.Event()
        # The hub's hot loop calls ``offer``; bind it straight to the socket (one call).
        self.offer: Callable[[EventFrames], bool] = functools.partial(raw.send_if_room, limit_bytes)

    def control(self, frames: ControlFrames) -> None:
        if not self.raw.is_closing() and self.raw.buffered() <= self.limit_bytes:
            self.raw.write(frames.ws)

    def dropped(self, reason: str) -> None:
        self.reason = reason
        self.gone.set()

    def has_space(self) -> bool:
        return self.raw.buffered() <= self.limit_bytes

    async def wait_space(self) -> None:
        await asyncio.sleep(0.005)


_GONE = (WebSocketDisconnect, RuntimeError, OSError)  # client left while we wrote


async def _drop_close(websocket: WebSocket, reason: str, log_id: str) -> None:
    """Tell a dropped client why, then close so it resumes later."""
    with contextlib.suppress(*_GONE):
        await websocket.send_text(ControlFrames.dropped(reason, log_id).wire.decode())
        await websocket.close(DROP_CLOSE_CODE, reason[:120])


async def _read_until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _serve_raw(
    ws: WebSocket, state: ServerState, raw: RawSocket, areas: frozenset[int] | None, start: Resume
) -> None:
    if state.config.ws_sndbuf_bytes:
        raw.limit_kernel_buffer(state.config.ws_sndbuf_bytes)
    sink = RawWsSink(raw, state.config.ws_buffer_bytes)
    if start.reset is not None:
        raw.write(start.reset.ws)
    reader = asyncio.ensure_future(_read_until_disconnect(ws))
    try:
        async with subscription(state.hub, state.store, sink, areas, start.after_seq):
            gone = asyncio.ensure_future(sink.gone.wait())
            await asyncio.wait({reader, gone}, return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
        if sink.reason is not None and not reader.done():
            await _drop_close(ws, sink.reason, state.hub.log_id)
            await reader
    finally:
        reader.cancel()


async def _serve_queued(
    ws: WebSocket, state: ServerState, areas: frozenset[int] | None, start: Resume
) -> None:
    latency = state.metrics.latency.labels("ws")
    items = _follow(state, areas, start, "ws")

    async def writer() -> None:
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    await ws.send_text(item.wire.decode())
                    if isinstance(item, EventFrames) and item.published_mono_s:
                        latency.observe(time.monotonic() - item.published_mono_s)
        except Dropped as exc:
            await _drop_close(ws, str(exc), state.hub.log_id)
        except _GONE:
            return  # the reader sees the disconnect and ends the session

    write_task = asyncio.ensure_future(writer())
    try:
        await _read_until_disconnect(ws)
    finally:
        write_task.cancel()
        await asyncio.gather(write_task, return_exceptions=True)


def _follow(
    state: ServerState, areas: frozenset[int] | None, start: Resume, channel: str
) -> AsyncIterator[EventFrames | ControlFrames]:
    return follow(
        state.hub,
        state.store,
        start.after_seq,
        areas,
        max_items=state.config.queue_items,
        channel=channel,
        first=start.reset,
    )


@router.websocket("/v1/stream")
async def stream(websocket: WebSocket) -> None:
    """Alert events as text frames (stored JSON with ``log_id``); ``?since=SEQ&log=LOG_ID``
    resumes, ``?areas=1,2`` filters.

    Control frames are JSON objects with a ``type`` and ``log_id``: ``heartbeat`` (with
    ``last_seq``), ``reset`` (with ``after_seq``, ``last_seq``, ``reason``) when the resume point
    is not in this log, and ``dropped`` (with ``reason``) before a too-slow client is closed with
    code 1013.
    """
    state: ServerState = websocket.app.state.redcolor
    try:
        query = websocket.query_params
        areas = parse_areas(state, query.get("areas"))
        start = resume_point(state, parse_since(query.get("since")), parse_log_id(query.get("log")))
    except InputError as exc:
        state.metrics.rejected.labels("400").inc()
        await websocket.send_denial_response(JSONResponse({"detail": str(exc)}, 400))
        return
    await websocket.accept()
    raw = websocket.scope.get("extensions", {}).get(RAW_WS_EXTENSION)
    gauge = state.metrics.clients.labels("ws")
    gauge.inc()
    try:
        if raw is not None:
            await _serve_raw(websocket, state, raw, areas, start)
        else:
            await _serve_queued(websocket, state, areas, start)
    finally:
        gauge.dec()


@router.get(
    "/v1/events",
    tags=["streams"],
    summary="Server-sent events: id = log_id:seq, event = alert, data = the event JSON",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    since: Annotated[str | None, Query(max_length=20, description="last seq you hold")] = None,
    log: Annotated[
        str | None, Query(max_length=64, description="log_id of the frames you hold")
    ] = None,
    areas: Annotated[
        str | None,
        Query(max_length=MAX_AREAS_QUERY_BYTES, description=f"<= {MAX_FILTER_AREAS} ids, 1,2,3"),
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=90)] = None,
) -> StreamingResponse:
    """``Last-Event-ID`` (what a browser's EventSource sends back) wins over ``since``/``log``."""
    state: ServerState = request.app.state.redcolor
    area_ids = parse_areas(state, areas)
    if last_event_id:
        log_id, after = parse_last_event_id(last_event_id)
    else:
        log_id, after = parse_log_id(log), parse_since(since)
    start = resume_point(state, after, log_id)
    return StreamingResponse(
        _sse_body(state, _follow(state, area_ids, start, "sse")),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse_body(
    state: ServerState, items: AsyncIterator[EventFrames | ControlFrames]
) -> AsyncIterator[bytes]:
    m = state.metrics
    latency, gauge = m.latency.labels("sse"), m.clients.labels("sse")
    gauge.inc()
    try:
        yield b"retry: 1000\n\n"
        async with contextlib.aclosing(items):
            async for item in items:
                yield item.sse
                if isinstance(item, EventFrames) and item.published_mono_s:
                    latency.observe(time.monotonic() - item.published_mono_s)
    except Dropped as exc:
        yield ControlFrames.dropped(str(exc), state.hub.log_id).sse
    finally:
        gauge.dec()
