"""Supervision of a server's background tasks: restart with backoff, and their state for
``/health`` and ``/metrics``.

Every background task of a server (the store follower, sirens, Web Push, each channel service,
the in-process pipeline) runs under one :class:`Supervisor`. A task that raises is logged once
with its reason and, unless it is one that must not be rerun, restarted after an exponential
backoff; a task that returns has finished on purpose (a simulation that ran to its end) and is
not a fault. A task that keeps running but cannot do its job (MQTT with no broker) says so
through :meth:`Supervisor.reporter`.

The policy (:class:`Backoff`, :class:`TaskRecord`, :func:`overall`) is plain objects fed the
monotonic clock, testable without a loop; :meth:`Supervisor.run` and :func:`in_thread` are the
thin asyncio adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import Counter, Gauge

from redcolor.errors import RedcolorError

log = logging.getLogger("redcolor.serve")
TaskState = Literal["running", "restarting", "failed", "finished"]
Status = Literal["ok", "degraded", "down"]
HEALTHY: frozenset[TaskState] = frozenset({"running", "finished"})
REASON_CHARS = 300
"""A reason longer than this is cut (it is shown on /health and on the map page)."""


@dataclass(frozen=True)
class Backoff:
    """The wait before a restart: ``first_s``, doubling (``factor``) with each failure in a row
    up to ``cap_s``; a run that lasted ``healthy_s`` before it failed starts the series again."""

    first_s: float = 0.1
    factor: float = 2.0
    cap_s: float = 10.0
    healthy_s: float = 30.0

    def delay_s(self, failures_in_a_row: int) -> float:
        return min(self.cap_s, self.first_s * self.factor ** max(0, failures_in_a_row - 1))


@dataclass(frozen=True)
class Task:
    """One background task. ``run`` makes the coroutine of one attempt. ``restart`` False: a
    fault leaves it ``failed`` (the pipeline: a rerun would issue its alerts again). A
    ``critical`` task not running makes the server ``down`` rather than ``degraded``."""

    name: str
    run: Callable[[], Awaitable[None]]
    restart: bool = True
    critical: bool = False


@dataclass
class TaskRecord:
    """What is known of one task. Every method takes the monotonic time ``now_s``.

    ``reason`` says why the task is not running (None while running or finished);
    ``last_error`` keeps the last fault after it recovered; ``restarts`` counts restarts.
    """

    name: str
    now_s: float
    restart: bool = True
    critical: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    state: TaskState = "running"
    reason: str | None = None
    last_error: str | None = None
    restarts: int = 0
    failures_in_a_row: int = 0
    since_s: float = field(init=False)
    _up_since_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.since_s = self._up_since_s = self.now_s

    def _enter(self, state: TaskState, reason: str | None, now_s: float) -> None:
        if state != self.state or reason != self.reason:
            self.since_s = now_s
        self.state, self.reason = state, reason

    def started(self, now_s: float) -> None:
        """An attempt began (or the task reports itself able to work again)."""
        if self.state != "running":
            self._up_since_s = now_s
        self._enter("running", None, now_s)

    def failed(self, reason: str, now_s: float) -> float | None:
        """The attempt raised: the delay before the restart, or None if it is not restarted."""
        if self.state == "running" and now_s - self._up_since_s >= self.backoff.healthy_s:
            self.failures_in_a_row = 0
        self.failures_in_a_row += 1
        self.last_error = reason
        if not self.restart:
            self._enter("failed", reason, now_s)
            return None
        self.restarts += 1
        self._enter("restarting", reason, now_s)
        return self.backoff.delay_s(self.failures_in_a_row)

    def reported(self, reason: str | None, now_s: float) -> None:
        """The running task says it cannot work (``reason``) or can again (None)."""
        if reason is None:
            self.started(now_s)
            return
        self.last_error = reason
        self._enter("restarting", reason, now_s)

    def finished(self, now_s: float) -> None:
        self._enter("finished", None, now_s)

    @property
    def up(self) -> bool:
        return self.state in HEALTHY


def overall(records: Iterable[TaskRecord]) -> tuple[Status, str | None]:
    """``ok`` when every task runs or has finished; ``down`` when a critical one does not,
    else ``degraded``; with the reasons as one line ("name: reason; ...")."""
    bad = [r for r in records if not r.up]
    if not bad:
        return "ok", None
    status: Status = "down" if any(r.critical for r in bad) else "degraded"
    return status, "; ".join(f"{r.name}: {r.reason}" for r in bad)


def describe(exc: BaseException) -> str:
    """One line naming a fault: the error's type and message, cut to REASON_CHARS."""
    text = " ".join(str(exc).split())
    if isinstance(exc, RedcolorError):
        line = text
    else:
        line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 1] + "…"


class Supervisor:
    """Runs :class:`Task` s, restarting them, and keeps their :class:`TaskRecord` s.

    ``up`` (a gauge) and ``restarts`` (a counter), both labelled ``task``, mirror the records
    for ``/metrics``; task names are fixed by the code, so the label set is bounded.
    """

    def __init__(
        self,
        up: Gauge,
        restarts: Counter,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.records: dict[str, TaskRecord] = {}
        self._up = up
        self._restarts = restarts
        self.backoff = backoff or Backoff()
        self._clock = clock

    def health(self) -> dict[str, Any]:
        """The overall status, its reason and each task's state, as ``/health`` shows them."""
        now_s, now_unix_s = self._clock(), time.time()
        status, reason = overall(self.records.values())
        tasks = {
            r.name: {
                "state": r.state,
                "reason": r.reason,
                "last_error": r.last_error,
                "restarts": r.restarts,
                "since_unix_s": round(now_unix_s - (now_s - r.since_s), 3),
                "critical": r.critical,
            }
            for r in self.records.values()
        }
        return {"status": status, "reason": reason, "tasks": tasks}

    def reporter(self, name: str) -> Callable[[str | None], None]:
        """A callback for the running task ``name``: ``report(reason)`` when it cannot work,
        ``report(None)`` when it can again (the task logs what it reports itself)."""

        def report(reason: str | None) -> None:
            record = self.records.get(name)
            if record is None:  # not run by this supervisor (a test driving a service alone)
                return
            record.reported(reason, self._clock())
            self._up.labels(name).set(int(record.up))

        return report

    @contextlib.asynccontextmanager
    async def running(self, tasks: Iterable[Task]) -> AsyncIterator[None]:
        """Run ``tasks`` under supervision while the block runs; cancel them after it."""
        tasks = list(tasks)
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be distinct: {names}")
        now_s = self._clock()
        self.records = {
            t.name: TaskRecord(t.name, now_s, t.restart, t.critical, self.backoff) for t in tasks
        }
        for task in tasks:
            self._up.labels(task.name).set(1)
            self._restarts.labels(task.name).inc(0)
        running = [asyncio.create_task(self.run(t), name=t.name) for t in tasks]
        try:
            yield
        finally:
            for job in running:
                job.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def run(self, task: Task) -> None:
        """Run ``task`` until it finishes, fails for good, or is cancelled."""
        record = self.records[task.name]
        logged: str | None = None
        while True:
            record.started(self._clock())
            self._up.labels(task.name).set(1)
            try:
                await task.run()
            except asyncio.CancelledError as exc:
                current = asyncio.current_task()
                if current is None or current.cancelling():  # the server is stopping it
                    raise
                fault: BaseException = exc  # a library's own cancellation: a fault like any
            except Exception as exc:
                fault = exc
            else:
                record.finished(self._clock())
                self._up.labels(task.name).set(1)
                log.info("task %s finished", task.name)
                return
            reason = describe(fault)
            delay_s = record.failed(reason, self._clock())
            self._up.labels(task.name).set(0)
            if delay_s is not None:
                self._restarts.labels(task.name).inc()
            # once per reason, not once per restart of a crash loop
            if reason != logged or record.failures_in_a_row == 1:
                expected = isinstance(fault, RedcolorError | OSError)
                then = "not restarted" if delay_s is None else f"restart in {delay_s:.1f} s"
                log.error(
                    "task %s failed: %s (%s)",
                    task.name,
                    reason,
                    then,
                    exc_info=None if expected else fault,
                )
                logged = reason
            if delay_s is None:
                return
            await asyncio.sleep(delay_s)


async def in_thread(work: Callable[[], None], name: str) -> None:
    """Run blocking ``work`` in a daemon thread of its own and wait for it; what it raises is
    raised here. Not the default executor: its threads are joined at interpreter exit, so a
    long simulation would hold the process after shutdown. Cancelling ends the wait only."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():  # the waiter was cancelled
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            work()
        except BaseException as exc:  # the thread's end, whatever it was, reaches the waiter
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name=name, daemon=True).start()
    await done
