"""Limits on what one client may make the server hold or do: request-body size (an ASGI
middleware) and a per-address rate (token buckets, pure)."""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import msgspec

DEFAULT_BODY_BYTES = 64 * 1024
"""Largest request body any route accepts unless it names a smaller (or larger) limit."""
DRAIN_BYTES = 256 * 1024
"""How far past its limit a body is still read (and thrown away) before the 413, so a client
that is still sending can read the answer: uvicorn closes after a 413, and closing a socket
with unread bytes resets the connection, which can destroy the answer in flight."""


class BodyLimitMiddleware:
    """Pure ASGI: every request body bounded before it is read.

    A ``Content-Length`` above the route's limit is answered 413 at once, without reading a
    byte of the body (uvicorn then drops what else arrives and closes: the response says
    ``Connection: close``); only a body over by less than ``DRAIN_BYTES`` is read and thrown
    away first. A body of unknown length (chunked) is read here, counting, up to the limit:
    past it the answer is 413 (after throwing away at most ``DRAIN_BYTES`` more) and the
    connection closes; within it the app is handed the body as it came. So no app ever holds
    more than the limit of one request, and this middleware never more than one message.
    ``limits`` maps a path prefix to its limit; the longest matching prefix wins.
    """

    def __init__(
        self, app: Any, limits: Mapping[str, int], default_bytes: int = DEFAULT_BODY_BYTES
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.limits = sorted(limits.items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length, chunked = _body_framing(scope["headers"])
        if length is not None and length > limit:
            if length <= limit + DRAIN_BYTES:
                await _drain(receive, DRAIN_BYTES + limit)
            await _too_large(send, limit)
            return
        if not chunked:
            await self.app(scope, receive, send)  # the server reads no more than Content-Length
            return
        if scope["method"] in BODILESS_METHODS:
            # Routes of these methods read no body, so a chunked one is not waited for (a client
            # that declares one and sends nothing must still get its answer); should a route
            # read it all the same, it is cut off at the limit.
            await self.app(scope, _capped(receive, limit), send)
            return
        messages: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was whole
            size += len(message.get("body", b""))
            if size > limit:
                if message.get("more_body", False):
                    await _drain(receive, limit + DRAIN_BYTES - size)
                await _too_large(send, limit)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _capped(receive: Any, limit: int) -> Any:
    """``receive`` that reports a disconnect once more than ``limit`` body bytes have come."""
    size = 0

    async def capped() -> dict[str, Any]:
        nonlocal size
        message: dict[str, Any] = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                return {"type": "http.disconnect"}
        return message

    return capped


async def _drain(receive: Any, budget_bytes: int) -> None:
    """Read and drop body messages until the body ends or ``budget_bytes`` are spent."""
    while budget_bytes > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget_bytes -= len(message.get("body", b""))


def _body_framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (None if absent) and whether the body is chunked."""
    length: int | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


async def _too_large(send: Any, limit: int) -> None:
    body = msgspec.json.encode({"detail": f"request body larger than {limit} bytes"})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def client_key(scope: Mapping[str, Any]) -> str:
    """Whom a rate limit counts: the peer's IPv4 address, or its IPv6 /64 (one host usually
    holds a whole /64, so counting single IPv6 addresses would be no limit at all)."""
    client = scope.get("client")
    if not client:
        return "unknown"
    try:
        ip = ipaddress.ip_address(client[0])
    except ValueError:
        return str(client[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens, refilled at ``rate_per_s``; each action takes
    one. At most ``max_keys`` buckets are kept (least recently used first); a bucket is only let
    go once it has refilled, since forgetting a drained one would hand its key a fresh burst. So
    while every kept bucket is still drained (a flood from very many addresses) a new key
    waits too: the limit holds and memory stays bounded.
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate_per_s, self.burst, self.max_keys = rate_per_s, burst, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now_s: float) -> float:
        tokens, at_s = self._buckets[key]
        return min(float(self.burst), tokens + (now_s - at_s) * self.rate_per_s)

    def take(self, key: str, now_s: float) -> float:
        """Take a token for ``key``: 0.0 if granted, else the seconds until one is free."""
        if key in self._buckets:
            self._buckets.move_to_end(key)
            tokens = self._level(key, now_s)
        else:
            if len(self._buckets) >= self.max_keys:
                oldest = next(iter(self._buckets))
                short = self.burst - self._level(oldest, now_s)
                if short > 0:
                    return short / self.rate_per_s
                del self._buckets[oldest]
            tokens = float(self.burst)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now_s)
            return (1.0 - tokens) / self.rate_per_s
        self._buckets[key] = (tokens - 1.0, now_s)
        return 0.0

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after_header(wait_s: float) -> str:
    """Whole seconds for a ``Retry-After`` header, at least 1."""
    return str(max(1, math.ceil(wait_s)))
