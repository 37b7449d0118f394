"""Operator accounts and sign-in for the server tests (real user store, real login route)."""

from __future__ import annotations

from typing import Any

import httpx

from redcolor.serve.state import ServerState

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
