"""Who is calling an operator route, and whether they may: FastAPI dependencies.

A person proves who they are with the session token ``POST /v1/auth/login`` answered, sent as
``Authorization: Bearer rs_...`` (scripts) or as the ``rc_session`` cookie (the console). The
cookie is what a browser sends by itself, to any page's request, so a cookie-authenticated
unsafe request (POST, PUT, PATCH, DELETE) must also

* carry ``X-CSRF-Token``: the session's CSRF token (an HMAC of its id under a server key,
  given at login and by ``/v1/auth/me``), which another site's page cannot read; and
* if it has an ``Origin`` header, name this server's own origin: ``--public-url``'s origin when
  set, else the scheme and the address the connection reached (the interface and port this
  server listens on, never the client's ``Host`` header, which a client chooses), with
  ``localhost`` taken as the loopback address it is.

A bearer header is never sent by a browser on its own, so it needs neither. The cookie is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's request carries it),
``Path=/`` and ``Secure`` whenever the server speaks TLS or its ``--public-url`` is https.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response

from redcolor.auth import bearer_token
from redcolor.errors import AuthError, ConflictError, ForbiddenError
from redcolor.operators.desk import Actor
from redcolor.operators.sessions import Session
from redcolor.operators.users import role_at_least
from redcolor.serve.state import ServerState

SESSION_COOKIE = "rc_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class Caller:
    """An authenticated person: their session, and how it came (cookie or bearer header)."""

    session: Session
    address: str
    by_cookie: bool

    @property
    def actor(self) -> Actor:
        return Actor(self.session.user, self.session.role, self.address)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.redcolor
    return state


def client_address(request: Request) -> str:
    """The peer's address as the audit log records it."""
    return request.client.host if request.client is not None else "unknown"


def is_tls(request: Request) -> bool:
    return request.url.scheme in ("https", "wss")


def secure_cookie(request: Request) -> bool:
    """Whether browsers reach us over TLS: this connection is, or ``--public-url`` is https
    (a proxy in front ends TLS)."""
    public_url = state_of(request).config.public_url
    return is_tls(request) or (public_url is not None and public_url.startswith("https://"))


def own_origins(request: Request) -> frozenset[str]:
    """The origins a cookie-authenticated request may come from (see the module docstring)."""
    public_url = state_of(request).config.public_url
    if public_url is not None:
        parts = urllib.parse.urlsplit(public_url)
        return frozenset({f"{parts.scheme}://{parts.netloc}".lower()})
    scheme = "https" if is_tls(request) else "http"
    server = request.scope.get("server")
    if not server:
        return frozenset()
    default = 443 if scheme == "https" else 80
    host, port = str(server[0]), default if server[1] is None else int(server[1])
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        names = [host.lower()]
    else:
        names = [f"[{ip}]" if ip.version == 6 else str(ip)]
        if ip.is_loopback:
            names += _LOOPBACK_NAMES
    out = set()
    for name in names:
        out.add(f"{scheme}://{name}:{port}")
        if port == default:
            out.add(f"{scheme}://{name}")
    return frozenset(out)


def check_origin(request: Request) -> None:
    """ForbiddenError when the request names an ``Origin`` that is not ours."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin.lower() not in own_origins(request):
        raise ForbiddenError(
            f"requests from {origin[:80]} may not use this server's session cookie"
            " (set --public-url to the address browsers use)"
        )


async def caller(request: Request) -> Caller:
    """The person calling (AuthError 401 if nobody or a bad token; 403 for a cookie without
    its CSRF token or from another origin)."""
    state = state_of(request)
    header = request.headers.get("authorization")
    if header is not None:
        token, by_cookie = bearer_token(header), False
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise AuthError("sign in first: POST /v1/auth/login, then send the session token")
        token, by_cookie = cookie, True
    session = state.sessions.authenticate(token)
    if by_cookie and request.method in UNSAFE_METHODS:
        check_origin(request)
        state.sessions.check_csrf(session, request.headers.get(CSRF_HEADER))
    return Caller(session, client_address(request), by_cookie)


def role(needed: str) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: the caller, who must hold ``needed`` or a higher role (else 403)."""

    async def at_least(request: Request) -> Caller:
        found = await caller(request)
        if not role_at_least(found.session.role, needed):
            raise ForbiddenError(f"this takes a {needed}; you are a {found.session.role}")
        return found

    at_least.__name__ = f"role_{needed}"
    return at_least


async def not_edge(request: Request) -> None:
    """Edge servers only copy the core's log: no operator writes there."""
    if state_of(request).config.nats_follow_url is not None:
        raise ConflictError("this server is an edge: make operator changes on the core server")


def set_session_cookie(response: Response, request: Request, token: str, max_age_s: float) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(1, int(max_age_s)),
        path="/",
        secure=secure_cookie(request),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=secure_cookie(request), httponly=True, samesite="strict"
    )
