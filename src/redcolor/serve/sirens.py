"""Siren controllers over WebSocket: ``/v1/sirens/connect[?areas=1,2]``, authenticated.

The handshake carries ``Authorization: Bearer <token>`` of a siren token (``redcolor tokens add
NAME --role siren --areas ...``): the siren connects as the token's name (``?siren=`` may repeat
it) for its bound areas or the subset ``?areas=`` names. No token or a wrong or revoked one is
refused 401, a valid one outside its binding 403; refusals are counted in
``redcolor_rejected_requests_total{status}`` and logged at INFO at most once per 10 s. The token
is never taken from the URL (URLs end up in access logs). A second connection with valid
credentials for the same siren replaces the first, which is closed with reason ``replaced``.

The server sends ``{"type":"command","cmd":N,"action":"activate"|"stop",...}``; the controller
answers ``{"type":"ack","cmd":N}``. An ack counts only on the current connection of the siren the
command was sent to. Commands not acknowledged within ``siren_ack_s`` are counted in
``redcolor_siren_ack_timeouts_total`` and logged as one line per 10 s with counts per siren.
Each siren has its own queue and sender (:mod:`redcolor.serve.siren_links`); a stalled one is
dropped (``redcolor_siren_dropped_total{reason}``). A revoked token's connection is closed within
``REVOKE_CHECK_S``. ``GET /v1/sirens`` reports per-siren totals to siren (own entry) and edge
(all) tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Request, WebSocket
from fastapi.responses import JSONResponse

from redcolor.auth import authorize_siren, bearer_token
from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.position import DurableCursor
from redcolor.channels.sirens import Command
from redcolor.errors import AuthError, ForbiddenError, RedcolorError, StoreError
from redcolor.serve.siren_links import SirenLink
from redcolor.serve.siren_reports import SirenStats, summary
from redcolor.serve.state import ServerState
from redcolor.serve.streams import parse_areas

router = APIRouter()
log = logging.getLogger("redcolor.sirens")
REVOKE_CHECK_S = 2.0


class Ack(msgspec.Struct, frozen=True):
    type: str
    cmd: int


_ACK = msgspec.json.Decoder(Ack)


def _status_of(exc: RedcolorError) -> int:
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, ForbiddenError):
        return 403
    return 401 if isinstance(exc, AuthError) else 400


async def _refuse(state: ServerState, websocket: WebSocket, exc: RedcolorError) -> None:
    status = _status_of(exc)
    state.metrics.rejected.labels(str(status)).inc()
    state.siren_reports.refused.add(str(status), note=str(exc))
    _report(state, time.monotonic())
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    response = JSONResponse({"detail": str(exc)}, status, headers=headers)
    await websocket.send_denial_response(response)


def _gauge(state: ServerState) -> None:
    state.metrics.sirens.set(len(state.siren_links))


def _lost(state: ServerState, commands: list[Command]) -> None:
    """Commands that will never be acknowledged: their siren left or was replaced."""
    for command in commands:
        state.siren_reports.missed.add(command.siren)


def _register(state: ServerState, link: SirenLink) -> None:
    old = state.siren_links.get(link.siren)
    if old is not None:
        old.drop("replaced")
        _lost(state, state.sirens.disconnect(link.siren))
    state.siren_links[link.siren] = link
    _gauge(state)


def _unregister(state: ServerState, link: SirenLink) -> None:
    if state.siren_links.get(link.siren) is link:
        del state.siren_links[link.siren]
        _lost(state, state.sirens.disconnect(link.siren))
        _gauge(state)


def _new_link(state: ServerState, websocket: WebSocket, credential: Any, areas: Any) -> SirenLink:
    m, reports, config = state.metrics, state.siren_reports, state.config

    def on_sent(command: Command) -> None:
        m.siren_commands.labels(command.action).inc()
        reports.of(command.siren).sent += 1

    def on_drop(link: SirenLink, reason: str) -> None:
        m.siren_dropped.labels(reason).inc()
        reports.of(link.siren).drops += 1
        reports.dropped.add(f"{link.siren} ({reason})")

    return SirenLink(
        websocket,
        credential,
        areas,
        queue_items=config.siren_queue_items,
        send_timeout_s=config.siren_send_timeout_s,
        on_sent=on_sent,
        on_drop=on_drop,
    )


async def _read_acks(state: ServerState, link: SirenLink) -> None:
    while True:
        message = await link.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if link.reason is not None or state.siren_links.get(link.siren) is not link:
            continue  # a dropped or replaced connection acknowledges nothing
        try:
            ack = _ACK.decode(message.get("text") or message.get("bytes") or b"")
        except (msgspec.DecodeError, RecursionError):  # RecursionError: nested too deep
            state.siren_reports.unreadable.add(link.siren)
            continue
        latency = state.sirens.ack(link.siren, ack.cmd, time.monotonic())
        if latency is not None:
            state.metrics.siren_ack_latency.observe(latency)
            state.siren_reports.of(link.siren).acked += 1


@router.websocket("/v1/sirens/connect")
async def siren_connect(websocket: WebSocket) -> None:
    """A siren controller's connection (see module docstring for the messages)."""
    state: ServerState = websocket.app.state.redcolor
    params = websocket.query_params
    try:
        if "token" in params:
            raise AuthError("send the token in the Authorization header, not in the URL")
        token = bearer_token(websocket.headers.get("authorization"))
        if token.startswith("rs_"):  # a person's session: valid perhaps, but not a siren
            state.sessions.authenticate(token)
            raise ForbiddenError("an operator session cannot connect as a siren: use its token")
        credential = state.tokens.authenticate(token, "siren")
        requested = parse_areas(state, params.get("areas"))
        siren, areas = authorize_siren(credential, params.get("siren"), requested)
        state.check_area_ids(sorted(areas))
    except RedcolorError as exc:
        await _refuse(state, websocket, exc)
        return
    await websocket.accept()
    link = _new_link(state, websocket, credential, areas)
    _register(state, link)
    sender = asyncio.create_task(link.run_sender())
    reader = asyncio.create_task(_read_acks(state, link))
    gone = asyncio.create_task(link.gone.wait())
    try:
        for command in state.sirens.connect(siren, areas, time.monotonic()):
            link.offer(command)
        await asyncio.wait({reader, gone}, return_when=asyncio.FIRST_COMPLETED)
        if link.reason is not None:
            sender.cancel()
            await link.close()
    finally:
        for task in (sender, reader, gone):
            task.cancel()
        _unregister(state, link)


@router.get("/v1/sirens", tags=["sirens"], summary="Siren controllers: connection and totals")
async def siren_status(
    request: Request, authorization: Annotated[str | None, Header(max_length=200)] = None
) -> list[dict[str, Any]]:
    """One entry per siren token: connected or not, areas, queued commands, totals. A siren
    token sees its own entry, an edge token every siren's."""
    state: ServerState = request.app.state.redcolor
    credential = state.tokens.authenticate(bearer_token(authorization), "siren", "edge")
    if credential.role == "siren":
        names = [credential.name]
    else:
        names = state.tokens.live_names("siren")
        state.siren_reports.keep_only(set(names))
    out = []
    for name in names:
        link = state.siren_links.get(name)
        entry: dict[str, Any] = {"siren": name, "connected": link is not None}
        if link is not None:
            entry.update(link.status())
        entry.update(asdict(state.siren_reports.stats.get(name) or SirenStats()))
        out.append(entry)
    return out


def _close_revoked(state: ServerState) -> None:
    links = list(state.siren_links.values())
    live = state.tokens.live_ids({link.credential.token_id for link in links})
    for link in links:
        if link.credential.token_id not in live:
            link.drop("revoked")


def _report(state: ServerState, now_s: float) -> None:
    """Log what the tallies hold, each at most once per interval."""
    reports = state.siren_reports
    if counts := reports.missed.due(now_s):
        log.warning(
            "sirens: %d commands not acknowledged within %.1f s (%s)",
            sum(counts.values()),
            state.sirens.ack_deadline_s,
            summary(counts),
        )
    if counts := reports.unreadable.due(now_s):
        log.info("sirens: unreadable messages ignored (%s)", summary(counts))
    if counts := reports.dropped.due(now_s):
        log.warning("sirens dropped: %s", summary(counts))
    if counts := reports.refused.due(now_s):
        last = reports.refused.last_note
        log.info("siren connections refused: %s (last: %s)", summary(counts), last)


async def _watch(state: ServerState) -> None:
    """Acknowledgement deadlines, revoked tokens and the tallied log lines."""
    next_revoke_check_s = 0.0
    while True:
        await asyncio.sleep(state.sirens.ack_deadline_s / 10)
        now = time.monotonic()
        overdue = state.sirens.overdue(now)
        if overdue:
            state.metrics.siren_ack_timeouts.inc(len(overdue))
            for command in overdue:
                state.siren_reports.missed.add(command.siren)
                state.siren_reports.of(command.siren).ack_timeouts += 1
        if now >= next_revoke_check_s:
            _close_revoked(state)
            next_revoke_check_s = now + REVOKE_CHECK_S
        _report(state, now)


async def run_sirens(state: ServerState) -> None:
    """Turn events into siren commands and watch acknowledgement deadlines, until cancelled.

    Commands are only queued here (never awaited), so no siren can slow this loop. Exercises
    sound no siren unless ``--exercise-to`` names the sirens (their position passes all the
    same).
    """
    drills = "sirens" in state.config.exercise_channels

    async def on_event(frames: EventFrames) -> None:
        if frames.exercise and not drills:
            return
        for command in state.sirens.on_event(frames.event, time.monotonic()):
            link = state.siren_links.get(command.siren)
            if link is not None:
                link.offer(command)

    watcher = asyncio.create_task(_watch(state))
    position = DurableCursor(state.store, "sirens", state.opened_seq)
    try:
        await consume(state.hub, state.store, on_event, position, channel="sirens")
    finally:
        position.flush()
        watcher.cancel()
