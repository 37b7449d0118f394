"""Operator accounts and sign-in for the server tests (real user store, real login route)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Route, WebSocketRoute

from redcolor.serve.state import ServerState

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PASSWORD = "correct horse battery staple"
PEOPLE = {
    "olga": "operator",
    "oren": "operator",
    "sam": "supervisor",
    "sue": "supervisor",
    "vera": "viewer",
    "ada": "admin",
}


def add_people(state: ServerState) -> None:
    for name, role in PEOPLE.items():
        state.users.add(name, role, PASSWORD)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_of(state: ServerState, name: str, address: str = "127.0.0.1") -> str:
    """A session token made straight in the store (no argon2 round: for fuzzing many)."""
    _, token = state.sessions.create(state.users.get(name), address)
    return token


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, Any]:
    r = await client.post("/v1/auth/login", json={"user": name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def write_routes(routes, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every unsafe HTTP route and every socket, included routers too."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            inner = prefix + route.include_context.prefix
            found += write_routes(route.original_router.routes, inner)
        elif isinstance(route, APIRoute):
            found += [(m, prefix + route.path) for m in sorted(route.methods & UNSAFE)]
        elif isinstance(route, APIWebSocketRoute | WebSocketRoute):
            found.append(("WS", prefix + route.path))
        elif isinstance(route, Route) and route.methods and route.methods & UNSAFE:
            found += [(m, prefix + route.path) for m in sorted(route.methods & UNSAFE)]
    return found
