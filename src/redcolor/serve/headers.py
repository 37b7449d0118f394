"""Security headers on every HTTP response (a pure ASGI middleware).

* ``Content-Security-Policy``: scripts, styles, images and connections from this server only,
  no plugins, no ``<base>``, no form posts, and ``frame-ancestors 'none'`` (no other site may
  frame a page of ours to trick a click: a meta tag cannot say that, a header can);
* ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``;
* ``X-Content-Type-Options: nosniff`` (a JSON or text answer is never run as a script);
* ``Referrer-Policy: no-referrer`` (no URL of ours leaks to another site);
* ``Strict-Transport-Security`` only on responses sent over TLS (RFC 6797 section 7.2: a
  browser ignores it over plain HTTP, and sending it there would be a lie about the setup).

The API documentation pages (``/docs``, ``/redoc``) run FastAPI's Swagger UI and ReDoc, which
load from their CDN and start with an inline script: their (small) answer is held back until
it is whole, and gets the same policy but with that CDN and exactly its own inline scripts (by
their SHA-256) allowed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
"""The page policy (``static/index.html`` and ``static/console.html`` say the same in a meta
tag, for a page opened from a file or a proxy that drops headers)."""
HSTS = "max-age=31536000"
DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

_COMMON = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def docs_policy(html: bytes) -> str:
    """The policy of a documentation page: its CDN, its inline scripts by hash, the rest as
    :data:`POLICY`."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.finditer(html)
    )
    return (
        f"default-src 'self'; connect-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com;"
        f" style-src 'self' {DOCS_CDN} 'unsafe-inline'; script-src 'self' {DOCS_CDN} {hashes};"
        " worker-src blob:; object-src 'none'; base-uri 'none'; form-action 'none';"
        " frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response; ``docs_paths`` are the documentation
    pages (see the module docstring)."""

    def __init__(self, app: Any, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"
        if scope["path"] not in self.docs_paths:

            async def with_headers(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message = _secured(message, POLICY, tls)
                await send(message)

            await self.app(scope, receive, with_headers)
            return
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                body = b"".join(m.get("body", b"") for m in held[1:])
                await send(_secured(held[0], docs_policy(body), tls))
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def _secured(start: dict[str, Any], policy: str, tls: bool) -> dict[str, Any]:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in _OURS]
    headers += [(b"content-security-policy", policy.encode()), *_COMMON]
    if tls:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return dict(start, headers=headers)


_OURS = frozenset(
    {b"content-security-policy", b"strict-transport-security", *(k for k, _ in _COMMON)}
)
