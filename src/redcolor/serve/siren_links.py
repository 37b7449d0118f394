"""One connected siren controller: its bounded command queue, its own sender, how it is dropped.

The event task only *offers* commands (:meth:`SirenLink.offer`, never awaits), so one siren that
stops reading can hold up nobody else: its commands wait in its own queue of ``queue_items`` and
its own task sends them, each send bounded by ``send_timeout_s``. A siren whose queue overflows or
whose send times out is dropped: its connection is reset (it reads nothing, not even a close
frame), and when it reconnects the board re-sends the state of its areas.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import msgspec
from fastapi import WebSocket, WebSocketDisconnect

from redcolor.auth import Credential
from redcolor.channels.sirens import Command
from redcolor.serve.streams import RAW_WS_EXTENSION

_ENCODE = msgspec.json.Encoder()
_GONE = (WebSocketDisconnect, RuntimeError, OSError)  # the siren left while we wrote
CLOSE_TIMEOUT_S = 0.5
# Close codes (RFC 6455 section 7.4.1): 1013 try again later, 1008 policy violation.
CLOSE_CODES = {"queue_full": 1013, "send_timeout": 1013, "replaced": 1000, "revoked": 1008}


STALLED = frozenset({"queue_full", "send_timeout"})


class Abortable(Protocol):
    def buffered(self) -> int: ...
    def abort(self) -> None: ...


class SirenLink:
    """The server's end of one siren connection."""

    def __init__(
        self,
        websocket: WebSocket,
        credential: Credential,
        areas: frozenset[int],
        *,
        queue_items: int,
        send_timeout_s: float,
        on_sent: Callable[[Command], None],
        on_drop: Callable[[SirenLink, str], None],
    ) -> None:
        self.websocket = websocket
        self.credential = credential
        self.siren = credential.name
        self.areas = areas
        self.queue_items = queue_items
        self.send_timeout_s = send_timeout_s
        self.connected_unix_s = time.time()
        self.reason: str | None = None
        self.gone = asyncio.Event()
        self._on_sent = on_sent
        self._on_drop = on_drop
        self._queue: deque[Command] = deque()
        self._ready = asyncio.Event()

    def offer(self, command: Command) -> None:
        """Queue ``command`` without waiting; a full queue drops the siren."""
        if self.reason is not None:
            return
        if len(self._queue) >= self.queue_items:
            self.drop("queue_full")
            return
        self._queue.append(command)
        self._ready.set()

    def queued(self) -> int:
        return len(self._queue)

    def drop(self, reason: str) -> None:
        """Mark this link dropped (once); its session closes the connection with ``reason``."""
        if self.reason is not None:
            return
        self.reason = reason
        self._queue.clear()
        self.gone.set()
        self._on_drop(self, reason)

    async def run_sender(self) -> None:
        """Send queued commands in order, each within ``send_timeout_s``, until dropped or gone."""
        while self.reason is None:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            command = self._queue.popleft()
            text = _ENCODE.encode(command).decode()
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    await self.websocket.send_text(text)
            except TimeoutError:
                self.drop("send_timeout")
                return
            except _GONE:
                return  # the reader sees the disconnect and ends the session
            self._on_sent(command)
            await asyncio.sleep(0)  # a send that did not block never yielded: let others run

    async def close(self) -> None:
        """Close with the drop reason. A stalled siren (``STALLED``) reads nothing, not even a
        close frame, and a graceful close would keep its socket and unsent bytes for good: it is
        reset at once. Others get the close frame, and are reset if it has not drained within
        ``CLOSE_TIMEOUT_S``."""
        reason = self.reason or "closed"
        raw: Abortable | None = self.websocket.scope.get("extensions", {}).get(RAW_WS_EXTENSION)
        if reason not in STALLED or raw is None:
            with contextlib.suppress(TimeoutError, *_GONE):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self.websocket.close(CLOSE_CODES.get(reason, 1000), reason)
                await asyncio.sleep(CLOSE_TIMEOUT_S)
            if raw is None or raw.buffered() == 0:
                return
        raw.abort()

    def status(self) -> dict[str, Any]:
        return {
            "areas": sorted(self.areas),
            "queued": self.queued(),
            "connected_unix_s": self.connected_unix_s,
        }
