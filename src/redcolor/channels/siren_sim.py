"""Simulated siren controllers for demos and tests: each holds a WebSocket to the server,
acknowledges every command at once (unless told to stay silent) and logs what it did."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets


@dataclass
class SimulatedSiren:
    """One controller. ``silent`` controllers never acknowledge (to exercise the reporting)."""

    siren_id: str
    area_ids: tuple[int, ...]
    silent: bool = False
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
        areas = ",".join(str(a) for a in self.area_ids)
        url = f"{base_url}/v1/sirens/connect?siren={self.siren_id}&areas={areas}"
        async with websockets.connect(url) as ws:
            self.connected.set()
            async for raw in ws:
                command = json.loads(raw)
                command["received_unix_s"] = time.time()
                self.log.append(command)
                on_command(self, command)
                if not self.silent:
                    await ws.send(json.dumps({"type": "ack", "cmd": command["cmd"]}))


def make_sirens(count: int, area_ids: list[int], silent: int = 0) -> list[SimulatedSiren]:
    """``count`` sirens spread round-robin over ``area_ids``; the last ``silent`` never ack."""
    return [
        SimulatedSiren(f"siren-{i + 1}", (area_ids[i % len(area_ids)],), silent=i >= count - silent)
        for i in range(count)
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
