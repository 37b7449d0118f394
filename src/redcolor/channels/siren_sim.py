"""Simulated siren controllers for demos and tests: each holds a WebSocket to the server,
acknowledges every command at once (unless told to stay silent) and logs what it did.

Each controller authenticates with its own siren token, like a real one: either read from a
tokens file (``{"siren id": "rc_...", ...}``, what an operator hands out for a remote server) or
created in the server's own store by :func:`provision_tokens` when simulating on the server host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import websockets

from redcolor.auth import TokenStore, check_name
from redcolor.errors import InputError, NotFoundError

SIM_PREFIX = "sim-"  # names of simulated controllers; provision_tokens replaces their tokens


@dataclass
class SimulatedSiren:
    """One controller. ``silent`` controllers never acknowledge (to exercise the reporting)."""

    siren_id: str
    area_ids: tuple[int, ...]
    silent: bool = False
    token: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def sounding(self) -> bool:
        state: dict[int, bool] = {}
        for entry in self.log:
            state[entry["area_id"]] = entry["action"] == "activate"
        return any(state.values())

    async def run(
        self, base_url: str, on_command: Callable[[SimulatedSiren, dict[str, Any]], None]
    ) -> None:
        url = f"{base_url}/v1/sirens/connect?siren={self.siren_id}"
        if self.area_ids:  # else every area the token is bound to
            url += "&areas=" + ",".join(str(a) for a in self.area_ids)
        headers = {"Authorization": f"Bearer {self.token}"}
        async with websockets.connect(url, additional_headers=headers) as ws:
            self.connected.set()
            async for raw in ws:
                command = json.loads(raw)
                command["received_unix_s"] = time.time()
                self.log.append(command)
                on_command(self, command)
                if not self.silent:
                    await ws.send(json.dumps({"type": "ack", "cmd": command["cmd"]}))


def fleet_summary(fleet: list[SimulatedSiren]) -> str:
    """One line on what a fleet did, for the end of a run (also on Ctrl-C): how many sirens
    connected, how many got commands, the activations and stops among them and how many still
    sound (their alert had not ended when the run stopped)."""
    actions = [entry["action"] for siren in fleet for entry in siren.log]
    connected = sum(1 for s in fleet if s.connected.is_set())
    received = sum(1 for s in fleet if s.log)
    sounding = sum(1 for s in fleet if s.sounding)
    return (
        f"{received} of {len(fleet)} sirens received commands ({connected} connected; "
        f"{actions.count('activate')} activations, {actions.count('stop')} stops; "
        f"{sounding} still sounding)"
    )


def make_sirens(count: int, area_ids: list[int], silent: int = 0) -> list[SimulatedSiren]:
    """``count`` sirens spread round-robin over ``area_ids``; the last ``silent`` never ack."""
    return [
        SimulatedSiren(
            f"{SIM_PREFIX}{i + 1}", (area_ids[i % len(area_ids)],), silent=i >= count - silent
        )
        for i in range(count)
    ]


def provision_tokens(db: Path, fleet: list[SimulatedSiren]) -> None:
    """Give each simulated siren a fresh token bound to its areas, in the store at ``db``.

    A live token of the same ``sim-N`` name (from an earlier simulation) is revoked first: its
    secret was printed to nobody and cannot be recovered.
    """
    if not db.exists():
        raise InputError(f"no alert store at {db} (give the server's --db)")
    store = TokenStore(db)
    try:
        for siren in fleet:
            with contextlib.suppress(NotFoundError):
                store.revoke(siren.siren_id)
            _, siren.token = store.add(siren.siren_id, "siren", frozenset(siren.area_ids))
    finally:
        store.close()


def sirens_from_file(path: Path, silent: int = 0) -> list[SimulatedSiren]:
    """Sirens named by a tokens file ``{"siren id": "rc_...", ...}``; each covers every area
    its token is bound to. The last ``silent`` never acknowledge."""
    try:
        tokens = msgspec.json.decode(path.read_bytes(), type=dict[str, str])
    except (OSError, msgspec.DecodeError) as exc:
        raise InputError(f"cannot read tokens file {path}: {exc}") from None
    if not tokens:
        raise InputError(f"tokens file {path} names no siren")
    if silent > len(tokens):
        raise InputError("--silent must be at most the number of sirens")
    return [
        SimulatedSiren(check_name(name), (), silent=i >= len(tokens) - silent, token=token)
        for i, (name, token) in enumerate(tokens.items())
    ]


def nearest_area_ids(areas: list[dict[str, Any]], lat: float, lon: float, count: int) -> list[int]:
    """Ids of the ``count`` areas (``GET /v1/areas`` entries) whose centres are nearest to a point.

    Distance is equirectangular (good to well under 1% at these scales); ties go to the lower id.
    """
    cos_lat = math.cos(math.radians(lat))

    def key(area: dict[str, Any]) -> tuple[float, int]:
        dx = (area["lon"] - lon) * cos_lat
        dy = area["lat"] - lat
        return (dx * dx + dy * dy, area["id"])

    return [a["id"] for a in sorted(areas, key=key)[:count]]
