"""A uvicorn WebSocket protocol that lets the fan-out write pre-built frames to the transport.

uvicorn's sans-I/O protocol (``websockets_sansio_impl``, on the ``websockets`` library's
``ServerProtocol``) runs the handshake, pings, closing and incoming frames as usual. After the
handshake it also exposes the connection's transport to the app as the ASGI scope extension
``redcolor.raw_ws``, so one frame built once per event can be written to every client with a
single ``transport.write`` each — no per-client task, no per-client framing. Server-to-client
frames are unmasked (RFC 6455 section 5.1), so the bytes are identical for every connection; a
frame written this way is never interleaved with the protocol's own frames because both are
written whole from the event-loop thread.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from redcolor.bus.frames import EventFrames
from redcolor.serve.streams import RAW_WS_EXTENSION


class _RawSocket:
    __slots__ = ("_proto",)

    def __init__(self, proto: WebSocketsSansIOProtocol) -> None:
        self._proto = proto

    def write(self, data: bytes) -> None:
        proto = self._proto
        if proto.handshake_complete and not proto.close_sent and not proto.transport.is_closing():
            proto.transport.write(data)

    def send_if_room(self, limit_bytes: int, frames: EventFrames) -> bool:
        """Write the event's frame unless more than ``limit_bytes`` wait unsent (then False).

        A closing connection swallows the write and reports success: its endpoint is about to
        unsubscribe it, and it must not count as too slow.
        """
        proto = self._proto
        transport = proto.transport
        if proto.close_sent or transport.is_closing():
            return True
        if transport.get_write_buffer_size() > limit_bytes:
            return False
        transport.write(frames.ws)
        return True

    def buffered(self) -> int:
        return int(self._proto.transport.get_write_buffer_size())

    def is_closing(self) -> bool:
        proto = self._proto
        return bool(proto.close_sent or proto.transport.is_closing())

    def abort(self) -> None:
        """Cut the connection now (a peer too stalled to take even a close frame).

        With a zero linger the kernel resets the connection and frees its send buffer at once,
        instead of holding the unsent bytes (up to megabytes) for minutes of retries.
        """
        sock = self._proto.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._proto.transport.abort()

    def limit_kernel_buffer(self, sndbuf_bytes: int) -> None:
        sock = self._proto.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf_bytes)


class FanoutWebSocketProtocol(WebSocketsSansIOProtocol):
    """``uvicorn.Config(ws=FanoutWebSocketProtocol)``."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][RAW_WS_EXTENSION] = _RawSocket(self)
