"""The ASGI app: routes, error mapping, compatibility paths, lifespan tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
from redcolor.serve import feeds, push, rest, sirens, streams
from redcolor.serve.httpproto import MAX_QUERY_BYTES
from redcolor.serve.limits import BodyLimitMiddleware, retry_after_header
from redcolor.serve.state import ServerState

log = logging.getLogger("redcolor.serve")
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


def _report_failure(task: asyncio.Task[None]) -> None:
    """A background service that stops on its own is a fault: say which and why."""
    if not task.cancelled() and task.exception() is not None:
        log.error("service %s stopped: %s", task.get_name(), task.exception())


def create_app(state: ServerState, services: list[Service] | None = None) -> FastAPI:
    """Build the app around ``state``. ``services`` run as background tasks while it serves."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(state.follower.run(), name="follower")]
        tasks.append(asyncio.create_task(sirens.run_sirens(state), name="sirens"))
        if registry is not None:
            tasks.append(asyncio.create_task(push.run_push(state, registry), name="push"))
        tasks += [asyncio.create_task(s(state), name=s.__name__) for s in services or []]
        for task in tasks:
            task.add_done_callback(_report_failure)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

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
        return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc), headers=headers)

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
    app.add_middleware(BodyLimitMiddleware, limits={push.PATH_PREFIX: push.MAX_BODY_BYTES})
    app.add_middleware(EdgeMiddleware, state=state)
    if STATIC_DIR.is_dir():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static")
    return app
