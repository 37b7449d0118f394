"""Run the server: uvicorn (uvloop, fan-out WebSocket protocol), optionally with the pipeline."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.app import Service, create_app
from redcolor.serve.rawws import FanoutWebSocketProtocol
from redcolor.serve.state import ServeConfig, ServerState


def uvicorn_config(app: Any, *, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """uvicorn settings redcolor serves with (also used by the tests and the benchmark)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws=FanoutWebSocketProtocol,
        ws_per_message_deflate=False,
        lifespan="on",
        log_level=log_level,
        backlog=4096,
        timeout_graceful_shutdown=2,
    )


def build_state(config: ServeConfig, areas: Any = None) -> ServerState:
    """Open the store (created if missing) and the area index of ``config.edition``."""
    if areas is None:
        from redcolor.geo import load_areas

        areas = load_areas(config.edition)
    return ServerState(config=config, store=SQLiteEventStore(config.db), areas=areas)


def start_simulation(state: ServerState, scenario: Path, speed: float) -> threading.Thread:
    """Run the pipeline over ``scenario`` in a thread, writing to the server's store file and
    waking the follower after each append."""
    from redcolor import pipeline

    def work() -> None:
        store = SQLiteEventStore(state.config.db)
        try:
            pipeline.run(
                scenario,
                store=store,
                speed=speed,
                start_unix_s=time.time(),
                on_events=lambda events: state.follower.notify(),
            )
        finally:
            store.close()

    thread = threading.Thread(target=work, name="pipeline", daemon=True)
    thread.start()
    return thread


def serve(
    config: ServeConfig,
    *,
    services: list[Service] | None = None,
    simulate: Path | None = None,
    speed: float = 1.0,
) -> None:
    """Serve until interrupted."""
    state = build_state(config)
    app = create_app(state, services)
    server = uvicorn.Server(
        uvicorn_config(app, host=config.host, port=config.port, log_level="info")
    )
    if simulate is not None:
        start_simulation(state, simulate, speed)
    server.run()
