"""The end-to-end runner: sim -> tracking -> prediction -> warning -> lifecycle -> store.

Each scan, in simulated time order: the tracker and predictor take it (``TrackPredict.step``),
every policy lane decides on the predictions that changed, its lifecycle turns decisions into
events, and the events are appended to the lane's store (durable) before ``on_events`` sees
them. Latency is measured per scan on the first lane: from the scan's arrival to its events
being durable. After the last scan the lifecycles run on to their last all-clear.

All lanes see the same predictions, so ``--policy all`` compares policies on the same inputs.
Times inside the lifecycle are the scenario's; with ``start_unix_s`` the events written to the
store (and given to ``on_events``) are shifted to start then, while :attr:`LaneResult.events`
keep the scenario clock for scoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
from numpy.typing import NDArray

from redcolor.alerts.lifecycle import (
    DEFAULT_HOLD_S,
    LifecycleConfig,
    LifecycleState,
    apply,
    initial_state,
    next_due_unix_s,
    record_stored,
)
from redcolor.alerts.store import EventStore, SQLiteEventStore
from redcolor.geo import AreaIndex, load_areas
from redcolor.model import AlertEvent
from redcolor.pipeline.policies import make_policy
from redcolor.prediction import ImpactPrediction
from redcolor.prediction.runner import TrackPredict
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import Scenario, load_scenario
from redcolor.tracking.state import TrackSnapshot
from redcolor.warning.base import Policy, ThreatDecision

EventsCallback = Callable[[str, list[AlertEvent]], None]
ProgressCallback = Callable[[int, int | None], None]


@dataclass
class LaneResult:
    """One policy's run: its events (scenario clock, ``seq`` from its store)."""

    name: str
    events: list[AlertEvent] = field(default_factory=list)


@dataclass
class TrackHistory:
    """Ground tracks for the report: per confirmed-track sample, its id and ENU position."""

    track_id: list[str] = field(default_factory=list)
    enu_m: list[NDArray[np.float64]] = field(default_factory=list)


@dataclass
class RunResult:
    """What a run produced.

    ``latency_ms`` per scan: arrival to the first lane's events durable; ``track_ms`` the part
    spent in tracking and prediction.
    """

    scenario: str
    sim: SimulationResult
    lanes: dict[str, LaneResult]
    latency_ms: NDArray[np.float64]
    track_ms: NDArray[np.float64]
    offset_s: float
    last_predictions: dict[str, ImpactPrediction]
    track_lat: NDArray[np.float64]
    track_lon: NDArray[np.float64]
    track_ids: NDArray[np.str_]
    rejected: dict[str, int]

    @property
    def events(self) -> list[AlertEvent]:
        """The first lane's events (scenario clock)."""
        return next(iter(self.lanes.values())).events


@dataclass
class _Lane:
    name: str
    policy: Policy
    store: EventStore
    state: LifecycleState
    result: LaneResult


def _resolve(scenario: str | Scenario | SimulationResult) -> SimulationResult:
    if isinstance(scenario, SimulationResult):
        return scenario
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    return simulate(scenario)


def run(
    scenario: str | Scenario | SimulationResult,
    *,
    policy: str | Policy = "predicted",
    store: EventStore | None = None,
    speed: float | None = None,
    start_unix_s: float | None = None,
    on_events: Callable[[list[AlertEvent]], None] | None = None,
    progress: ProgressCallback | None = None,
    hold_s: float = DEFAULT_HOLD_S,
) -> RunResult:
    """Run one policy end to end; see :func:`run_lanes` (this is its one-lane form).

    ``speed`` None runs as fast as possible; otherwise at ``speed`` x real time, sleeping.
    """
    callback = None if on_events is None else (lambda _name, events: on_events(events))
    return run_lanes(
        scenario,
        [policy],
        stores=None if store is None else [store],
        speed=speed,
        start_unix_s=start_unix_s,
        on_events=callback,
        progress=progress,
        hold_s=hold_s,
    )


def run_lanes(
    scenario: str | Scenario | SimulationResult,
    policies: Sequence[str | Policy],
    *,
    stores: Sequence[EventStore] | None = None,
    speed: float | None = None,
    start_unix_s: float | None = None,
    on_events: EventsCallback | None = None,
    progress: ProgressCallback | None = None,
    hold_s: float = DEFAULT_HOLD_S,
    index: AreaIndex | None = None,
) -> RunResult:
    """Run several policies side by side on one simulation and one tracker.

    Parameters
    ----------
    scenario : built-in name, TOML path, loaded scenario or finished simulation.
    policies : names (see :func:`redcolor.pipeline.policies.make_policy`) or policy objects;
        the first is the one whose latency is measured.
    stores : one event store per policy (default: a fresh in-memory SQLite store each).
    speed, start_unix_s, on_events, progress, hold_s : see the module docstring; ``progress``
        is called with (scans done, total scans or None).
    """
    sim = _resolve(scenario)
    index = index or load_areas()
    offset_s = 0.0 if start_unix_s is None else start_unix_s - sim.start_unix_s
    run_id = f"{sim.scenario.name}-{int(sim.start_unix_s + offset_s)}"
    config = LifecycleConfig({a.id: a.shelter_s for a in index.areas}, hold_s, run_id)
    if stores is not None and len(stores) != len(policies):
        raise ValueError("give one store per policy")
    lanes = []
    for i, spec in enumerate(policies):
        policy = make_policy(spec, index, sim) if isinstance(spec, str) else spec
        name = spec if isinstance(spec, str) else policy.name
        store = stores[i] if stores is not None else SQLiteEventStore(":memory:")
        lanes.append(_Lane(name, policy, store, initial_state(config), LaneResult(name)))
    core = TrackPredict(sim.registrations, ground_alt_m=sim.scenario.ground_alt_m)
    pacer = _Pacer(speed)
    latency: list[float] = []
    track: list[float] = []
    latest: dict[str, ImpactPrediction] = {}
    history = TrackHistory()
    scans = sim.scans
    total = len(scans) if hasattr(scans, "__len__") else None
    for n, scan in enumerate(scans, start=1):
        pacer.wait(scan.t)
        arrival = time.perf_counter()
        out = core.step(scan)
        track.append((time.perf_counter() - arrival) * 1e3)
        fresh = [p for p in out.predictions if latest.get(p.track_id) is not p]
        for i, lane in enumerate(lanes):
            _step(lane, fresh, out.t_unix_s, offset_s, on_events)
            if i == 0:
                latency.append((time.perf_counter() - arrival) * 1e3)
        for p in fresh:
            latest[p.track_id] = p
        _record(history, out.tracks)
        if progress is not None:
            progress(n, total)
    _drain(lanes, pacer, offset_s, on_events)
    lat, lon, ids = _track_geodetic(history, core)
    return RunResult(
        scenario=sim.scenario.name,
        sim=sim,
        lanes={lane.name: lane.result for lane in lanes},
        latency_ms=np.asarray(latency, dtype=np.float64),
        track_ms=np.asarray(track, dtype=np.float64),
        offset_s=offset_s,
        last_predictions=latest,
        track_lat=lat,
        track_lon=lon,
        track_ids=ids,
        rejected=dict(core.tracker.rejected),
    )


def _step(
    lane: _Lane,
    predictions: Sequence[ImpactPrediction],
    now_unix_s: float,
    offset_s: float,
    on_events: EventsCallback | None,
) -> None:
    decisions: list[ThreatDecision] = lane.policy.decide(predictions, now_unix_s)
    lane.state, events = apply(lane.state, decisions, now_unix_s)
    if not events:
        return
    stored = lane.store.append([_shift(e, offset_s) for e in events])
    lane.state = record_stored(lane.state, stored)
    lane.result.events.extend(
        msgspec.structs.replace(e, seq=s.seq) for e, s in zip(events, stored, strict=True)
    )
    if on_events is not None:
        on_events(lane.name, stored)


def _drain(
    lanes: Sequence[_Lane], pacer: _Pacer, offset_s: float, on_events: EventsCallback | None
) -> None:
    """Run the lifecycles on past the last scan until every area has had its all-clear."""
    while True:
        due = [t for t in (next_due_unix_s(lane.state) for lane in lanes) if t is not None]
        if not due:
            return
        now = min(due)
        pacer.wait(now)
        for lane in lanes:
            _step(lane, [], now, offset_s, on_events)


def _shift(event: AlertEvent, offset_s: float) -> AlertEvent:
    if offset_s == 0.0:
        return event
    expires = event.expires_at_unix_s
    return msgspec.structs.replace(
        event,
        issued_at_unix_s=event.issued_at_unix_s + offset_s,
        expires_at_unix_s=None if expires is None else expires + offset_s,
    )


class _Pacer:
    """Sleeps so that scenario time ``t`` happens at ``t / speed`` after the first call."""

    def __init__(self, speed: float | None) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._origin: tuple[float, float] | None = None

    def wait(self, t_unix_s: float) -> None:
        if self.speed is None:
            return
        if self._origin is None:
            self._origin = (t_unix_s, time.monotonic())
            return
        t0, wall0 = self._origin
        delay = wall0 + (t_unix_s - t0) / self.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def _record(history: TrackHistory, tracks: TrackSnapshot) -> None:
    if len(tracks) == 0:
        return
    history.track_id.extend(str(i) for i in tracks.ids)
    history.enu_m.append(np.asarray(tracks.x)[:, :3])


def _track_geodetic(
    history: TrackHistory, core: TrackPredict
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    if not history.enu_m:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=str)
    enu = np.concatenate(history.enu_m)
    lat, lon, _ = core.setup.frame.geodetic_from_enu(enu[:, 0], enu[:, 1], enu[:, 2])
    return lat, lon, np.asarray(history.track_id)
