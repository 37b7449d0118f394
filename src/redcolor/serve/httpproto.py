"""The uvicorn HTTP protocol redcolor serves with: bounded request heads, counted, quiet refusals.

uvicorn's httptools protocol keeps a request's URL and headers in memory however long they grow
(httptools joins the pieces of a header as they come, so a 25 MB header cost 45 MB and two
seconds of copying). Here a request head is bounded while it is read: a URL over
:data:`MAX_URL_BYTES` is answered 414 and a head over :data:`MAX_HEAD_BYTES` 431, at once, and
the connection closed. Every refusal is counted in ``redcolor_rejected_requests{status}``.

What a client can make the protocols log (malformed requests, rejected handshakes, one line
per connection at ``info``) goes through :func:`edge_logger`, which lets every ERROR through
but at most a burst of lesser lines per window, each cut to a few hundred characters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httptools
import msgspec
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from redcolor.serve.metrics import Metrics
from redcolor.serve.streams import MAX_AREAS_QUERY_BYTES

MAX_QUERY_BYTES = MAX_AREAS_QUERY_BYTES + 1024  # the longest ?areas= plus the other parameters
MAX_URL_BYTES = MAX_QUERY_BYTES + 1024  # and the path
MAX_HEAD_BYTES = MAX_URL_BYTES + 32 * 1024  # and 32 KB of headers
EDGE_LOGGER = "uvicorn.error.edge"


class RateLimitFilter(logging.Filter):
    """Passes every record at ERROR or above; below that, ``burst`` records per ``window_s``.

    The first record let through after a window that held some back says how many, so the log
    shows that a flood happened without carrying it. Messages are cut to ``max_chars``.
    """

    def __init__(
        self,
        burst: int = 20,
        window_s: float = 10.0,
        max_chars: int = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst, self.window_s, self.max_chars, self.clock = burst, window_s, max_chars, clock
        self._window_start_s = -window_s
        self._passed = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        now_s = self.clock()
        held = 0
        if now_s - self._window_start_s >= self.window_s:
            held, self.suppressed = self.suppressed, 0
            self._window_start_s, self._passed = now_s, 0
        if self._passed >= self.burst:
            self.suppressed += 1
            return False
        self._passed += 1
        message = record.getMessage()
        if len(message) > self.max_chars:
            message = message[: self.max_chars] + "..."
        if held:
            message += f" ({held} more lines held back by the rate limit)"
        record.msg, record.args = message, None
        return True


def edge_logger() -> logging.Logger:
    """The rate-limited logger of the protocols: a child of ``uvicorn.error``, so it follows
    uvicorn's level and handlers."""
    logger = logging.getLogger(EDGE_LOGGER)
    if not any(isinstance(f, RateLimitFilter) for f in logger.filters):
        logger.addFilter(RateLimitFilter())
    return logger


def json_refusal(status: int, detail: str) -> bytes:
    """A complete ``Connection: close`` HTTP/1.1 response with the API's JSON error body."""
    body = msgspec.json.encode({"detail": detail})
    head = (
        b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body)
    )
    return STATUS_LINE[status] + head + body


class _HeadTooLarge(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=functools.partial(BoundedHttpToolsProtocol, metrics=...))``."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics
        self.logger = edge_logger()
        self._in_head = False
        self._head_bytes = 0  # of the current request's head: lines, then chunks still unparsed
        self._too_large: _HeadTooLarge | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._too_large = _HeadTooLarge(414, f"request URL longer than {MAX_URL_BYTES} bytes")
            raise self._too_large

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            self._too_large = _HeadTooLarge(431, f"request head longer than {MAX_HEAD_BYTES} bytes")
            raise self._too_large
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """uvicorn's, plus the head bound; a malformed request is answered 400 and counted."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:  # raised by the parser, or by a callback above
            too_large = self._too_large
            if too_large is not None:
                self.refuse(too_large.status, str(too_large))
            else:
                self.refuse(400, "invalid HTTP request")
        else:
            # A header still being read is held inside httptools, out of on_header's sight.
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES + MAX_URL_BYTES:
                    self.refuse(431, f"request head longer than {MAX_HEAD_BYTES} bytes")

    def refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` with ``detail`` and close: the request never reaches the app."""
        self.metrics.rejected.labels(str(status)).inc()
        self.logger.info("%s - refused %d: %s", peer(self.client), status, detail)
        if not self.transport.is_closing():
            self.transport.write(json_refusal(status, detail))
            self.transport.close()


def peer(client: tuple[str, int] | None) -> str:
    """``host:port`` of a connection's client, for a log line."""
    return f"{client[0]}:{client[1]}" if client else "-"
