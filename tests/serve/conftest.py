"""Fixtures for the server tests: the real area index, a real SQLite store, realistic salvos,
and a real uvicorn server on a loopback port (the same protocol stack `redcolor serve` runs)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from redcolor.alerts.store import SQLiteEventStore
from redcolor.geo import load_areas
from redcolor.model import AlertArea, AlertEvent
from redcolor.serve.app import create_app
from redcolor.serve.run import uvicorn_config
from redcolor.serve.state import ServeConfig, ServerState

# Areas around Mount Meron (ids of the "current" edition) for realistic salvos.
MERON = (32.996, 35.414)


@pytest.fixture(scope="session")
def areas():
    return load_areas("current")


@pytest.fixture(scope="session")
def meron_ids(areas) -> list[int]:
    return [int(i) for i in areas.within_m(*MERON, 12_000)][:12]


class SalvoWriter:
    """Writes alert lifecycles to a real store the way the pipeline does: one event at a time,
    ``references`` naming the seqs the event updates or ends."""

    def __init__(self, store: SQLiteEventStore, areas, t0_unix_s: float | None = None) -> None:
        self.store = store
        self.areas = areas
        self.t = time.time() if t0_unix_s is None else t0_unix_s
        self.n = 0

    def _area(self, area_id: int) -> AlertArea:
        return AlertArea(area_id, self.areas.get(area_id).shelter_s)

    def event(
        self,
        alert_id,
        stage,
        area_ids,
        *,
        category="missiles",
        refs=(),
        dt_s=1.0,
        expires_s: float | None = 600.0,
    ) -> AlertEvent:
        self.t += dt_s
        event = AlertEvent(
            id=alert_id,
            seq=0,
            category=category,
            stage=stage,
            areas=tuple(self._area(a) for a in area_ids),
            issued_at_unix_s=self.t,
            expires_at_unix_s=None if expires_s is None else self.t + expires_s,
            source=("track:7",) if category == "missiles" else ("operator",),
            instructions={
                "en": "Enter a protected space and stay 10 minutes",
                "he": "היכנסו למרחב המוגן ושהו בו 10 דקות",
            },
            references=tuple(refs),
        )
        (stored,) = self.store.append([event])
        return stored

    def lifecycle(self, ids: list[int], *, category="missiles", end=True) -> list[AlertEvent]:
        """pre_alert -> alert -> update (areas added) -> ended, over ``ids``."""
        self.n += 1
        alert_id = f"salvo-{self.n}"
        half = max(1, len(ids) // 2)
        out = [self.event(alert_id, "pre_alert", ids, category=category)]
        out.append(self.event(alert_id, "alert", ids[:half], category=category, refs=[out[0].seq]))
        out.append(self.event(alert_id, "update", ids[half:], category=category, refs=[out[1].seq]))
        if end:
            out.append(
                self.event(alert_id, "ended", ids, category=category, refs=[e.seq for e in out])
            )
        return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteEventStore]:
    s = SQLiteEventStore(tmp_path / "alerts.db")
    yield s
    s.close()


@pytest.fixture
def writer(store, areas) -> SalvoWriter:
    return SalvoWriter(store, areas)


def make_state(store: SQLiteEventStore, areas, **overrides) -> ServerState:
    config = ServeConfig(db=Path(store.path), **overrides)
    return ServerState(config=config, store=store, areas=areas)


class LiveServer:
    """uvicorn (uvloop, redcolor's fan-out WebSocket protocol) in a background thread."""

    def __init__(
        self, state: ServerState, services=None, log_level: str = "warning", **app_options
    ) -> None:
        self.state = state
        self.app = create_app(state, services, **app_options)
        config = uvicorn_config(self.app, host="127.0.0.1", port=0, log_level=log_level)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(tmp_path, areas):
    """A server on a loopback port following its own store file, plus a writer store."""
    path = tmp_path / "live.db"
    writer_store = SQLiteEventStore(path)
    server_store = SQLiteEventStore(path)
    state = make_state(server_store, areas, poll_s=0.005, heartbeat_s=0.5)
    with LiveServer(state) as server:
        server.writer = SalvoWriter(writer_store, areas)
        yield server
    writer_store.close()
    server_store.close()


class CapturedLogs(logging.Handler):
    """Every record the server logs (uvicorn's loggers do not propagate to the root, and each
    uvicorn.Config resets their handlers: enter this after the server is built)."""

    LOGGERS = ("", "uvicorn", "uvicorn.access")  # uvicorn.error propagates to uvicorn

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> CapturedLogs:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def bad(self, level: int = logging.ERROR) -> list[str]:
        """Messages at ``level`` or above, and any record carrying a traceback."""
        return [
            f"{r.name} {r.levelname} {r.getMessage()} {r.exc_info or ''}"
            for r in self.records
            if r.levelno >= level or r.exc_info
        ]


async def until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# Headless Debian Chromium for the browser tests (map, console), one per test module.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make test` (system-deps)"
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
