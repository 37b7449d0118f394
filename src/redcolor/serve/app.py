"""The ASGI app: routes, error mapping, compatibility paths, lifespan tasks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from redcolor.errors import (
    AuthError,
    CapacityError,
    ConflictError,
    ForbiddenError,
    LimitError,
    NotFoundError,
    RedcolorError,
    StoreError,
)
from redcolor.geo import outline_path
from redcolor.serve import feeds, operator, push, rest, sirens, streams
from redcolor.serve.ha import leader_only
from redcolor.serve.headers import SecurityHeadersMiddleware
from redcolor.serve.httpproto import MAX_QUERY_BYTES
from redcolor.serve.limits import BodyLimitMiddleware, retry_after_header
from redcolor.serve.state import ServerState
from redcolor.serve.supervise import Task

STATIC_DIR = Path(__file__).resolve().parent / "static"
Service = Callable[[ServerState], Coroutine[Any, Any, None]]


def _status_of(exc: RedcolorError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, AuthError):
        return 403 if isinstance(exc, ForbiddenError) else 401
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, LimitError):
        return 429
    if isinstance(exc, CapacityError):
        return 507
    return 400  # InputError and any other user-facing error


class EdgeMiddleware:
    """Pure ASGI: case-insensitive compatibility paths, query-size limit, 4xx counting."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        canonical = feeds.CANONICAL_PATHS.get(scope["path"].lower())
        if canonical is not None and canonical != scope["path"]:
            scope = dict(scope, path=canonical, raw_path=canonical.encode())
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            response = JSONResponse(
                {"detail": f"query string longer than {MAX_QUERY_BYTES} bytes"}, 414
            )
            self.state.metrics.rejected.labels("414").inc()
            if scope["type"] == "http":
                await response(scope, receive, send)
            else:
                await WebSocket(scope, receive, send).send_denial_response(response)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rejected = self.state.metrics.rejected

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                rejected.labels(str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)


LAPSE_EVERY_S = 1.0


async def run_lapses(state: ServerState) -> None:
    """Lapse the proposals nobody decided in time, once a second, until cancelled."""
    while True:
        await asyncio.to_thread(state.desk.lapse_due, time.time())
        await asyncio.sleep(LAPSE_EVERY_S)


def create_app(
    state: ServerState, services: list[Service] | None = None, *, pipeline: Service | None = None
) -> FastAPI:
    """Build the app around ``state``. While it serves, the follower, sirens, push (when
    configured), each of ``services`` and ``pipeline`` (the in-process pipeline, if any) run
    as supervised background tasks (:mod:`redcolor.serve.supervise`): restarted with backoff
    when they fail, except the pipeline (a rerun would issue its alerts again). The follower
    and the pipeline are critical: ``/health`` answers 503 while either is down."""

    ha = state.ha

    def acting(run: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """A task that acts on the world: an active/standby core runs it only as the leader."""
        return run if ha is None else leader_only(ha, run)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            Task("follower", state.follower.run, critical=True),
            Task("sirens", acting(functools.partial(sirens.run_sirens, state))),
        ]
        if ha is not None:
            campaign = functools.partial(ha.campaign, state.tasks.reporter("lease"))
            tasks.append(Task("lease", campaign))
        if registry is not None:
            tasks.append(Task("push", acting(functools.partial(push.run_push, state, registry))))
        if state.config.nats_follow_url is None:  # an edge has no desk of its own
            tasks.append(Task("lapses", acting(functools.partial(run_lapses, state))))
        tasks += [Task(s.__name__, acting(functools.partial(s, state))) for s in services or []]
        if pipeline is not None:
            run = functools.partial(pipeline, state)
            tasks.append(Task("pipeline", run, restart=False, critical=True))
        async with state.tasks.running(tasks):
            yield

    app = FastAPI(
        title="redcolor",
        summary="Rocket and missile alerts: streams, feeds, history, areas.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.redcolor = state
    registry = push.setup(state)
    app.state.push = registry

    @app.exception_handler(RedcolorError)
    async def _redcolor_error(request: Request, exc: RedcolorError) -> JSONResponse:
        headers = (
            {"Retry-After": retry_after_header(exc.retry_after_s)}
            if isinstance(exc, LimitError)
            else None
        )
        status = _status_of(exc)
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return JSONResponse({"detail": problems or "invalid request"}, status_code=422)

    app.include_router(rest.router)
    app.include_router(streams.router)
    app.include_router(feeds.router)
    app.include_router(sirens.router)
    app.include_router(push.router)
    app.include_router(operator.router)
    app.add_middleware(BodyLimitMiddleware, limits={push.PATH_PREFIX: push.MAX_BODY_BYTES})
    app.add_middleware(EdgeMiddleware, state=state)
    docs = frozenset(p for p in (app.docs_url, app.redoc_url) if p)
    app.add_middleware(SecurityHeadersMiddleware, docs_paths=docs)  # outermost: every answer
    outline = outline_path()  # the map's coastline, shared with the reports (geo's data file)

    @app.get("/outline.geojson", include_in_schema=False)
    async def _outline() -> FileResponse:
        return FileResponse(outline, media_type="application/geo+json")

    if STATIC_DIR.is_dir():

        @app.get("/console", include_in_schema=False)
        def console() -> FileResponse:
            """The operator console: a static page (its script signs in and calls
            /v1/operator; nothing here trusts the page)."""
            return FileResponse(STATIC_DIR / "console.html")

        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
