"""Siren controllers over WebSocket: ``/v1/sirens/connect?siren=ID&areas=1,2``.

The server sends ``{"type":"command","cmd":N,"action":"activate"|"stop",...}``; the controller
answers ``{"type":"ack","cmd":N}``. Commands not acknowledged within ``siren_ack_s`` are counted
in ``redcolor_siren_ack_timeouts_total{siren=...}`` and logged.
"""

from __future__ import annotations

import asyncio
import logging
import time

import msgspec
from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse

from redcolor.bus.follow import consume
from redcolor.bus.frames import EventFrames
from redcolor.bus.position import DurableCursor
from redcolor.channels.sirens import Command
from redcolor.errors import InputError
from redcolor.model import EVENT_DECODER
from redcolor.serve.state import ServerState
from redcolor.serve.streams import parse_areas

router = APIRouter()
log = logging.getLogger("redcolor.sirens")
_ENCODE = msgspec.json.Encoder()


class Ack(msgspec.Struct, frozen=True):
    type: str
    cmd: int


_ACK = msgspec.json.Decoder(Ack)


async def _send(state: ServerState, commands: list[Command]) -> None:
    for command in commands:
        link = state.siren_links.get(command.siren)
        if link is None:
            continue
        state.metrics.siren_commands.labels(command.action).inc()
        try:
            await link.send_text(_ENCODE.encode(command).decode())
        except Exception as exc:  # a siren that vanished mid-send shows up as an ack timeout
            log.warning("siren %s: send failed: %s", command.siren, exc)


@router.websocket("/v1/sirens/connect")
async def siren_connect(websocket: WebSocket) -> None:
    """A siren controller's connection (see module docstring for the messages)."""
    state: ServerState = websocket.app.state.redcolor
    siren = websocket.query_params.get("siren", "")
    try:
        if not siren or len(siren) > 64 or not siren.replace("-", "").replace("_", "").isalnum():
            raise InputError("siren must be 1-64 letters, digits, '-' or '_'")
        areas = parse_areas(state, websocket.query_params.get("areas"))
        if not areas:
            raise InputError("areas is required: the area ids this siren covers")
        if siren in state.siren_links:
            raise InputError(f"siren {siren} is already connected")
    except InputError as exc:
        state.metrics.rejected.labels("400").inc()
        await websocket.send_denial_response(JSONResponse({"detail": str(exc)}, 400))
        return
    await websocket.accept()
    state.siren_links[siren] = websocket
    state.metrics.sirens.inc()
    try:
        await _send(state, state.sirens.connect(siren, areas, time.monotonic()))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                ack = _ACK.decode(message.get("text") or message.get("bytes") or b"")
            except msgspec.DecodeError:
                log.warning("siren %s: unreadable message ignored", siren)
                continue
            latency = state.sirens.ack(siren, ack.cmd, time.monotonic())
            if latency is not None:
                state.metrics.siren_ack_latency.observe(latency)
    finally:
        state.siren_links.pop(siren, None)
        state.metrics.sirens.dec()
        for command in state.sirens.disconnect(siren):
            log.warning("siren %s disconnected before acknowledging command %d", siren, command.cmd)


async def run_sirens(state: ServerState) -> None:
    """Turn events into siren commands and watch acknowledgement deadlines, until cancelled."""

    async def on_event(frames: EventFrames) -> None:
        commands = state.sirens.on_event(EVENT_DECODER.decode(frames.body), time.monotonic())
        await _send(state, commands)

    async def watch_acks() -> None:
        while True:
            await asyncio.sleep(state.sirens.ack_deadline_s / 10)
            for command in state.sirens.overdue(time.monotonic()):
                state.metrics.siren_ack_timeouts.labels(command.siren).inc()
                log.warning(
                    "siren %s did not acknowledge %s (cmd %d, area %d) within %.1f s",
                    command.siren,
                    command.action,
                    command.cmd,
                    command.area_id,
                    state.sirens.ack_deadline_s,
                )

    watcher = asyncio.create_task(watch_acks())
    position = DurableCursor(state.store, "sirens", state.opened_seq)
    try:
        await consume(state.hub, state.store, on_event, position, channel="sirens")
    finally:
        position.flush()
        watcher.cancel()
