"""A uvicorn WebSocket protocol that lets the fan-out write pre-built frames to the transport.

uvicorn's sans-I/O protocol (``websockets_sansio_impl``, on the ``websockets`` library's
``ServerProtocol``) runs the handshake, pings, closing and incoming frames as usual. After the
handshake it also exposes the connection's transport to the app as the ASGI scope extension
``redcolor.raw_ws``, so one frame built once per event can be written to every client with a
single ``transport.write`` each — no per-client task, no per-client framing. Server-to-client
frames are unmasked (RFC 6455 section 5.1), so the bytes are identical for every connection; a
frame written this way is never interleaved with the protocol's own frames because both are
written whole from the event-loop thread.

It also mends what uvicorn's protocol does with bad input, every case counted and logged at
most at rate-limited ``info`` (:func:`redcolor.serve.httpproto.edge_logger`):

- a handshake ``websockets`` cannot take (a request line over its 8 KB, which 2,000 area ids
  exceed; a header line over 8 KB; more than 128 headers; a malformed request) was never
  answered: here the request line may be :data:`MAX_REQUEST_LINE_BYTES`, and anything refused is
  answered 414, 431 or 400 with a JSON ``detail``, then closed;
- a text message that is not UTF-8 printed a traceback: here it closes the connection with 1007
  (RFC 6455 section 8.1), quietly;
- a frame that breaks the protocol before the app has answered the handshake reaches an
  assertion in uvicorn that only holds after the answer (an endpoint that awaits anything
  before accepting opens that window): here it is answered 400;
- every handshake the app refused with an HTTP response logged an ERROR ("returned without
  completing handshake"): here it is complete once the response is sent.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Generator
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import HeaderLineTooLong, RequestLineTooLong, TooManyHeaders
from websockets.frames import CloseCode
from websockets.server import ServerProtocol

from redcolor.bus.frames import EventFrames
from redcolor.serve.httpproto import MAX_URL_BYTES, edge_logger, json_refusal, peer
from redcolor.serve.metrics import Metrics
from redcolor.serve.streams import RAW_WS_EXTENSION

MAX_REQUEST_LINE_BYTES = MAX_URL_BYTES + len("GET  HTTP/1.1\r\n")


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


class _LongRequestLine(ServerProtocol):
    """``websockets``' server protocol reading a request line of up to MAX_REQUEST_LINE_BYTES
    (its own limit, 8 KB, stays for each header line)."""

    def parse(self) -> Generator[None]:
        read_line = self.reader.read_line

        def long_line(limit: int, too_long: type[Exception] = RuntimeError) -> Any:
            if too_long is RequestLineTooLong:
                limit = MAX_REQUEST_LINE_BYTES
            return read_line(limit, too_long)

        # Shadow the reader's method for this connection, before the handshake reads a line.
        self.reader.read_line = long_line  # type: ignore[method-assign]
        yield from super().parse()


_HANDSHAKE_REFUSAL: dict[type[Exception], tuple[int, str]] = {
    RequestLineTooLong: (414, "request line too long"),
    HeaderLineTooLong: (431, "a header line too long"),
    TooManyHeaders: (431, "too many headers"),
}


class FanoutWebSocketProtocol(WebSocketsSansIOProtocol):
    """``uvicorn.Config(ws=functools.partial(FanoutWebSocketProtocol, metrics=...))``."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.logger = edge_logger()
        self.conn = _LongRequestLine(
            extensions=self.conn.available_extensions,
            max_size=self.config.ws_max_size,
            logger=self.logger,
        )

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.response.status_code != 101:  # websockets refused it (a bad key or version)
            self._count_refusal(self.response.status_code, self.conn.handshake_exc)
            return
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][RAW_WS_EXTENSION] = _RawSocket(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        if self.conn.handshake_exc is not None and not self.handshake_initiated:
            self._refuse_handshake(self.conn.handshake_exc)
        elif self.conn.parser_exc is not None:
            self._protocol_error(self.conn.parser_exc)
        else:
            self.handle_events()

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text":
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError as exc:
                self.frames = []
                self.conn.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                self._protocol_error(exc, CloseCode.INVALID_DATA)
                return
        super().send_receive_event_to_app()

    async def send(self, message: Any) -> None:
        before_handshake = not self.handshake_complete
        await super().send(message)
        kind = message["type"]
        if kind == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True  # the app's refusal is the answer to the handshake
        elif kind == "websocket.close" and before_handshake:
            self._count_refusal(403, None)  # closed before accepting: uvicorn answered 403

    def _count_refusal(self, status: int, exc: BaseException | None) -> None:
        self.metrics.rejected.labels(str(status)).inc()
        reason = f": {exc}" if exc is not None else ""
        self.logger.info("%s - WebSocket handshake refused %d%s", peer(self.client), status, reason)

    def _refuse_handshake(self, exc: BaseException) -> None:
        """Answer a handshake ``websockets`` could not parse (it queues a plain answer for some
        and none for the rest; every one gets the API's JSON error here)."""
        self.conn.data_to_send()  # drop what websockets queued
        status, what = _HANDSHAKE_REFUSAL.get(type(exc), (400, "not a valid handshake request"))
        detail = f"{what} ({exc})" if status != 400 else what
        self._count_refusal(status, exc.__cause__ or exc)
        self._close_with(json_refusal(status, detail))

    def _protocol_error(self, exc: BaseException, code: int | None = None) -> None:
        """A frame broke RFC 6455 (or a text message was not UTF-8): close, count, log a line.

        ``code`` defaults to the one ``websockets`` closed with (1002 protocol error, 1009 too
        big, 1007 a close reason not UTF-8)."""
        if code is None:
            close = self.conn.close_sent
            code = close.code if close is not None else CloseCode.PROTOCOL_ERROR
        self.metrics.ws_protocol_errors.labels(str(code)).inc()
        self.logger.info("%s - WebSocket closed %d: %s", peer(self.client), code, exc)
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code})
        if self.handshake_complete:
            output = b"".join(self.conn.data_to_send())  # the close frame
        else:  # frames before the handshake's answer: the answer is a refusal
            self.conn.data_to_send()
            self._count_refusal(400, exc)
            output = json_refusal(400, "WebSocket frames sent before the handshake was answered")
        self._close_with(output)

    def _close_with(self, output: bytes) -> None:
        """Write ``output`` and close; the app's next send gets ClientDisconnected (quietly)."""
        self.close_sent = self.handshake_complete = self.disconnected = True
        if not self.transport.is_closing():
            self.transport.write(output)
            self.transport.close()
