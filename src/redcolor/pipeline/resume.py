"""Simulated runs the store remembers, so a restart continues one instead of running it again.

``redcolor serve --simulate NAME`` records the run (scenario, a fingerprint of its definition,
seed, start time, speed, hold) in the store before it writes anything. Started again on the same
store (after a crash or a kill -9), :func:`plan_run` finds that run:

* unfinished, same definition, speed and hold: it is **continued**. The simulation is
  deterministic (seeded), so it is run again from the same start; the scans before now are only
  tracked (nothing decided or written: the lifecycle checkpoint stands for what they did) and
  live writing resumes from now with the lifecycle rebuilt from the checkpoint. Open alerts keep
  their ids and run on to their all-clear; no projectile is alerted twice. What the pipeline
  would have decided while it was down is not made up afterwards: it decides from now on.
  :func:`run_planned` takes its scans as the wire hands them over: a continued run's history
  first (the server replays the scans before now through the ASTERIX encoder and decoder), then
  the emitter's from now on; those before now are only tracked, so the tracker is rebuilt from
  the very plots (quantised by ASTERIX) the interrupted run saw.
* unfinished but started with another speed, hold or definition: refused in one line (it cannot
  be continued faithfully; a fresh run would alert the same projectiles again).
* finished: there is nothing left to do; the server serves its log.

Another scenario on the same store is a new run; alerts still open carry on under the store's one
lifecycle (:mod:`redcolor.alerts.durable`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import msgspec

from redcolor.alerts.checkpoint import Clock, checkpoint_clock
from redcolor.alerts.durable import LifecycleLock
from redcolor.alerts.store import EventStore
from redcolor.errors import InputError
from redcolor.model import AlertEvent, SensorRegistration
from redcolor.pipeline.runner import Feed, run, run_id_for
from redcolor.sensors.ingest import Received
from redcolor.sensors.live import Tick
from redcolor.sim.run import SimulationResult
from redcolor.sim.scenario import Scenario

log = logging.getLogger("redcolor.pipeline")


class RunRecord(msgspec.Struct, frozen=True):
    """A simulated run as the store records it (wall-clock ``start_unix_s``)."""

    run_id: str
    scenario: str
    fingerprint: str
    seed: int
    start_unix_s: float
    speed: float
    hold_s: float


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What to do: ``record`` the run; ``resume`` when it continues an unfinished one;
    ``finished`` when there is nothing left to run."""

    record: RunRecord
    resume: bool = False
    finished: bool = False


def fingerprint(scenario: Scenario) -> str:
    """A digest of everything that shapes the simulation (not where it was read from)."""
    text = repr(dataclasses.replace(scenario, source=""))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_run(
    store: EventStore,
    scenario: Scenario,
    *,
    speed: float,
    hold_s: float,
    now_unix_s: float,
) -> RunPlan:
    """Continue, skip or start a run of ``scenario`` on ``store`` (module docstring); a new
    run is recorded at once. InputError (one line) when the stored run cannot be continued."""
    wanted = RunRecord(
        run_id=run_id_for(scenario.name, now_unix_s),
        scenario=scenario.name,
        fingerprint=fingerprint(scenario),
        seed=scenario.seed,
        start_unix_s=now_unix_s,
        speed=speed,
        hold_s=hold_s,
    )
    for run_id, body, finished in reversed(store.runs()):
        held = msgspec.json.decode(body, type=RunRecord)
        if held.scenario != scenario.name:
            continue
        started = dt.datetime.fromtimestamp(held.start_unix_s, dt.UTC).isoformat(timespec="seconds")
        if finished is not None:
            return RunPlan(held, finished=True)
        same = (held.fingerprint, held.speed, held.hold_s) == (
            wanted.fingerprint,
            wanted.speed,
            wanted.hold_s,
        )
        if not same:
            raise InputError(
                f"store {store.path} already holds unfinished run {run_id} (started {started},"
                f" speed {held.speed:g}, hold {held.hold_s:g} s); continue it with the same"
                " scenario, --speed and --hold-s, or use a fresh --db to run it again"
            )
        return RunPlan(held, resume=True)
    store.record_run(wanted.run_id, msgspec.json.encode(wanted))
    return RunPlan(wanted)


def run_clock(
    plan: RunPlan, store: EventStore, wall_clock: Callable[[], float]
) -> tuple[Clock, float | None]:
    """The store clock of ``plan``'s run against the wall clock, and the store time from which
    a continued run goes live again (None for a new run). A new run's clock starts at its
    record's start; a continued one keeps the pace its last checkpoint recorded (or its record
    says, if it was killed before its first write)."""
    record = plan.record
    started = Clock(record.start_unix_s, record.start_unix_s, record.speed)
    if not plan.resume:
        return started, None
    saved = store.checkpoint()  # the pace the run kept, from its last checkpoint
    clock = None if saved is None else checkpoint_clock(saved.body, record.run_id)
    clock = clock or started
    live_from = clock.now(wall_clock())
    log.info(
        "continuing run %s from scenario time +%.1f s",
        record.run_id,
        live_from - record.start_unix_s,
    )
    return clock, live_from


def run_planned(
    plan: RunPlan,
    sim: SimulationResult,
    store: EventStore,
    wire: Iterable[Received | Tick],
    *,
    registrations: Sequence[SensorRegistration],
    lock: LifecycleLock,
    clock: Clock,
    live_from_unix_s: float | None,
    wall_clock: Callable[[], float],
    on_events: Callable[[list[AlertEvent]], None] | None = None,
    on_latency: Callable[[float], None] | None = None,
) -> None:
    """Run (or continue) ``plan`` over the flown ``sim``'s radars on ``store`` on ``clock``
    (from :func:`run_clock`), holding ``lock``; mark the run finished after its last all-clear.

    The scans come from ``wire`` (the scenario's radars on the wire, on the store clock,
    ``registrations`` their sensors) until it ends; on a continued run those before
    ``live_from_unix_s`` (store clock) are the history the checkpoint stands for: tracked,
    nothing decided or written. The receiver's ticks are passed on only once the emitter has
    caught up (:func:`_caught_up`)."""
    record = plan.record
    if plan.finished:
        return
    feed = Feed(
        sim.scenario.name,
        registrations,
        _caught_up(wire, -math.inf if live_from_unix_s is None else live_from_unix_s),
        record.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
    )
    run(
        feed,
        store=store,
        speed=record.speed,
        on_events=on_events,
        hold_s=record.hold_s,
        lock=lock,
        live_from_unix_s=live_from_unix_s,
        clock=clock,
        on_latency=on_latency,
    )
    store.finish_run(record.run_id, wall_clock())


def _caught_up(
    wire: Iterable[Received | Tick], live_from_unix_s: float
) -> Iterator[Received | Tick]:
    """``wire`` without the ticks before its first scan at or after ``live_from_unix_s``: the
    first scans come at once, late (a continued run's replayed history; a new run's first
    scans, already due when the emitter starts), so until then a tick ("no data up to now")
    would step the lifecycle past scans still on their way, ending areas their decisions would
    have kept."""
    live = False
    for item in wire:
        if isinstance(item, Received):
            live = live or item.scan.t >= live_from_unix_s
            yield item
        elif live:
            yield item
