"""The end-to-end runner: scans -> tracking -> prediction -> warning -> lifecycle -> store.

The scans come from a :class:`Feed`: any time-ordered source of scans with the registrations of
the radars that made them (a receiver, a recording). A scenario name, a loaded scenario or a
finished simulation is flown and fed the same way; only the ``oracle`` policy needs more than
scans (the simulation's ground truth). A feed's items are

* :class:`~redcolor.model.Scan`: a scan read from memory (a recording, a simulation), paced
  with ``speed``; it arrives when the runner takes it;
* :class:`~redcolor.sensors.ingest.Received`: a scan off the wire, with the
  ``time.monotonic()`` its last datagram arrived at; it is never paced (it came in real time);
* :class:`~redcolor.sensors.live.Tick`: no data up to its time. Nothing is tracked. Once no
  scan has come for a whole scan period (the longest of the feed's radars), every lane steps
  with no predictions at the tick's time, so scheduled alerts and all-clears are issued while
  the radars are quiet (or silent). While scans keep coming they drive the lifecycle, as
  without ticks: a scan's decisions may extend an area just before its all-clear would fall
  due, and a tick between two scans must not end (and the next scan alert again) that area.

Each scan, in time order: the tracker and predictor take it (``TrackPredict.step``),
every policy lane decides on the predictions that changed, its lifecycle turns decisions into
events, and the events are appended to the lane's store (durable) before ``on_events`` sees
them. Latency is measured per scan on the first lane: from the scan's arrival to its events
being durable (``on_latency`` gets each, in seconds). A continued run (``live_from_unix_s``)
goes live on its first scan from then, whose lanes decide on every current prediction, not
only the changed ones: the lifecycle missed every decision made while the run was down, so it
is brought up to date before any all-clear is judged (else an area whose threat still flies
could be ended there and alerted again at the next scan). The lanes' time never runs backwards: an
item older than the latest one is decided at the latest time (a scan from a radar whose data
came late). After the last scan the lifecycles run on to their last all-clear, except on a
``live`` feed: it ends only when the server stops it, and whatever is still open is the
lifecycle keeper's (``redcolor.serve.keeper``). A live run keeps no track history and only the
current tracks' predictions, so its memory does not grow with time.

All lanes see the same predictions, so ``--policy all`` compares policies on the same inputs.
Times inside the lifecycle are the scenario's; with ``start_unix_s`` the events written to the
store (and given to ``on_events``) are shifted to start then, while :attr:`LaneResult.events`
keep the scenario clock for scoring.

Each lane drives its store's lifecycle through :class:`~redcolor.alerts.durable.DurableLifecycle`:
it starts from the store's checkpoint (so open alerts of an earlier run on that store carry on
and alert ids never repeat) and writes each step's events with the checkpoint after them. A
file store's lifecycle has one writer at a time: pass the :class:`LifecycleLock` you hold in
``locks``, or the run takes (and at the end releases) one itself, refusing a store another
process is writing. ``live_from_unix_s`` continues a run that was interrupted: scans before it
are tracked but nothing is decided or written, the checkpoint standing for what they did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from redcolor.alerts.checkpoint import Clock
from redcolor.alerts.durable import DurableLifecycle, LifecycleLock
from redcolor.alerts.lifecycle import DEFAULT_HOLD_S, LifecycleConfig, next_due_unix_s
from redcolor.alerts.store import EventStore, SQLiteEventStore
from redcolor.alerts.term import TermWriter
from redcolor.errors import StoreError
from redcolor.geo import AreaIndex, load_areas
from redcolor.model import AlertEvent, Scan, SensorRegistration
from redcolor.pipeline.policies import make_policy
from redcolor.prediction import ImpactPrediction
from redcolor.prediction.launch import LaunchCue, LaunchCues
from redcolor.prediction.runner import TrackPredict
from redcolor.sensors.ingest import Received
from redcolor.sensors.live import Tick
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import Scenario, load_scenario
from redcolor.tracking.state import TrackSnapshot
from redcolor.warning.base import Policy, ThreatDecision

EventsCallback = Callable[[str, list[AlertEvent]], None]
ProgressCallback = Callable[[int, int | None], None]
LatencyCallback = Callable[[float], None]
FeedItem = Scan | Received | Tick
"""What a :class:`Feed` yields (module docstring)."""


@dataclass(frozen=True)
class Feed:
    """A source of scans for a run.

    ``scans`` in time order (an iterator is consumed once), :data:`FeedItem` s;
    ``registrations`` the radars that made them; ``start_unix_s`` where the run's clock starts
    (its first scan or before); ``ground_alt_m`` the flat terrain the predictor lands tracks
    on; ``total`` the number of scans when known (passed to the progress callback); ``name`` the
    run's name (the prefix of its alert ids, with the start time). ``live``: the feed ends only
    when the server stops, and the run is not drained after it (module docstring).
    """

    name: str
    registrations: Sequence[SensorRegistration]
    scans: Iterable[FeedItem]
    start_unix_s: float
    ground_alt_m: float = 0.0
    total: int | None = None
    live: bool = False


def feed_of(sim: SimulationResult) -> Feed:
    """A finished simulation's scans (a fresh lazy stream) as a :class:`Feed`."""
    return Feed(
        sim.scenario.name,
        sim.registrations,
        sim.scans,
        sim.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
    )


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
    spent in tracking and prediction (a live run keeps neither: ``on_latency`` sees them).
    ``sim`` is the simulation that was fed, None for any other :class:`Feed`; ``start_unix_s``
    the feed's start (scenario clock).
    """

    scenario: str
    sim: SimulationResult | None
    start_unix_s: float
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
    lifecycle: DurableLifecycle
    result: LaneResult
    writer: TermWriter | None = None


def run_id_for(scenario: str, start_unix_s: float) -> str:
    """The id of a run of ``scenario`` whose store clock starts at ``start_unix_s``: the prefix
    of its alert ids."""
    return f"{scenario}-{int(start_unix_s)}"


Source = str | Scenario | SimulationResult | Feed
"""What a run consumes: a feed of scans, or a scenario (name, TOML path, loaded, or flown)."""


def _resolve(source: Source) -> tuple[Feed, SimulationResult | None]:
    if isinstance(source, Feed):
        return source, None
    if isinstance(source, str):
        source = load_scenario(source)
    sim = source if isinstance(source, SimulationResult) else simulate(source)
    return feed_of(sim), sim


def run(
    scenario: Source,
    *,
    policy: str | Policy = "predicted",
    store: EventStore | None = None,
    speed: float | None = None,
    start_unix_s: float | None = None,
    on_events: Callable[[list[AlertEvent]], None] | None = None,
    progress: ProgressCallback | None = None,
    hold_s: float = DEFAULT_HOLD_S,
    lock: LifecycleLock | None = None,
    live_from_unix_s: float | None = None,
    clock: Clock | None = None,
    on_latency: LatencyCallback | None = None,
    writer: TermWriter | None = None,
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
        locks=None if lock is None else [lock],
        live_from_unix_s=live_from_unix_s,
        clock=clock,
        on_latency=on_latency,
        writer=writer,
    )


def run_lanes(
    scenario: Source,
    policies: Sequence[str | Policy],
    *,
    stores: Sequence[EventStore] | None = None,
    speed: float | None = None,
    start_unix_s: float | None = None,
    on_events: EventsCallback | None = None,
    progress: ProgressCallback | None = None,
    hold_s: float = DEFAULT_HOLD_S,
    index: AreaIndex | None = None,
    locks: Sequence[LifecycleLock] | None = None,
    live_from_unix_s: float | None = None,
    clock: Clock | None = None,
    on_latency: LatencyCallback | None = None,
    writer: TermWriter | None = None,
) -> RunResult:
    """Run several policies side by side on one feed of scans and one tracker.

    Parameters
    ----------
    scenario : a :class:`Feed`, or a built-in name, TOML path, loaded scenario or finished
        simulation (flown and fed).
    policies : names (see :func:`redcolor.pipeline.policies.make_policy`) or policy objects;
        the first is the one whose latency is measured.
    stores : one event store per policy (default: a fresh in-memory SQLite store each).
    speed, start_unix_s, on_events, progress, hold_s : see the module docstring; ``progress``
        is called with (scans done, total scans or None).
    locks, live_from_unix_s : see the module docstring (``live_from_unix_s`` on the
        scenario clock; with ``speed`` the run goes live no sooner than the scenario time the
        clock says it is now, so a continued run catches up with the wall clock).
    clock : the store clock against the wall clock (:class:`Clock`); a continued run passes
        the one its checkpoint recorded, a new run gets one starting at its first scan.
    on_latency : called with each scan's latency (s) from its arrival (a ``Received``'s
        ``arrival_mono_s``) to the first lane's events durable.
    writer : one of a group of active/standby cores (one lane only): the lane writes only
        while ``writer`` admits it (:class:`~redcolor.alerts.term.TermWriter`); otherwise its
        policy still decides (warm standby) and nothing is written. A write the store refuses
        (fenced, or the store unreachable) makes the core a standby at once.
    """
    feed, sim = _resolve(scenario)
    index = index or load_areas()
    offset_s = 0.0 if start_unix_s is None else start_unix_s - feed.start_unix_s
    run_id = run_id_for(feed.name, feed.start_unix_s + offset_s)
    config = LifecycleConfig({a.id: a.shelter_s for a in index.areas}, hold_s, run_id)
    if stores is not None and len(stores) != len(policies):
        raise ValueError("give one store per policy")
    if writer is not None and len(policies) != 1:
        raise ValueError("a standby core runs one policy")
    stores = stores or [SQLiteEventStore(":memory:") for _ in policies]
    taken = [] if locks is not None else [LifecycleLock(store.path) for store in stores]
    try:
        for held in taken:
            held.acquire()
        made = [make_policy(p, index, sim) if isinstance(p, str) else p for p in policies]
        if clock is None:
            clock = Clock(time.time(), feed.start_unix_s + offset_s, speed) if speed else Clock()
        lanes = []
        for spec, policy, store in zip(policies, made, stores, strict=True):
            name = spec if isinstance(spec, str) else policy.name
            lifecycle = DurableLifecycle(
                store, config.shelter_s, config=config, clock=clock, offset_s=offset_s
            )
            lanes.append(_Lane(name, policy, lifecycle, LaneResult(name), writer))
        pacer = _Pacer(speed, (clock.origin_unix_s - offset_s, clock.wall_origin_unix_s))
        callbacks = _Callbacks(on_events, progress, on_latency)
        return _run((feed, sim), lanes, pacer, offset_s, live_from_unix_s, callbacks)
    finally:
        for held in taken:
            held.release()


@dataclass(frozen=True)
class _Callbacks:
    on_events: EventsCallback | None
    progress: ProgressCallback | None
    on_latency: LatencyCallback | None


def _run(
    source: tuple[Feed, SimulationResult | None],
    lanes: list[_Lane],
    pacer: _Pacer,
    offset_s: float,
    live_from_unix_s: float | None,
    callbacks: _Callbacks,
) -> RunResult:
    feed, sim = source
    on_events = callbacks.on_events
    core = TrackPredict(feed.registrations, ground_alt_m=feed.ground_alt_m)
    live = live_from_unix_s is None
    floor = -np.inf if live_from_unix_s is None else live_from_unix_s
    lanes_t = -np.inf  # the lanes' time: it never runs backwards
    scan_t = -np.inf  # the latest scan's time
    quiet_s = max((r.scan_period_s for r in feed.registrations), default=0.0)
    latency: list[float] = []
    track: list[float] = []
    latest: dict[str, ImpactPrediction] = {}
    history = TrackHistory()
    n = 0
    for item in feed.scans:
        if isinstance(item, Tick):  # a run goes live on a scan, never on a tick
            if live and item.t_unix_s > lanes_t and item.t_unix_s - scan_t >= quiet_s:
                lanes_t = item.t_unix_s
                for lane in lanes:
                    _step(lane, [], None, lanes_t, on_events, list(latest.values()))
            continue
        was_live = live
        if isinstance(item, Received):
            scan, arrival_mono_s = item.scan, item.arrival_mono_s
            live = live or scan.t >= floor
        else:
            scan = item
            live = live or scan.t >= max(floor, pacer.now())
            if live:
                pacer.wait(scan.t)
            arrival_mono_s = time.monotonic()
        started_mono_s = time.monotonic()
        scan_t = max(scan_t, scan.t)
        out = core.step(scan)
        track_ms = (time.monotonic() - started_mono_s) * 1e3
        fresh = [p for p in out.predictions if latest.get(p.track_id) is not p]
        if live and not was_live:  # going live: decide on every current prediction
            fresh = list(out.predictions)
        if live:
            lanes_t = max(lanes_t, out.t_unix_s)
        for i, lane in enumerate(lanes if live else ()):
            _step(lane, fresh, out.cues, lanes_t, on_events, out.predictions)
            if i == 0:
                latency_s = time.monotonic() - arrival_mono_s
                if callbacks.on_latency is not None:
                    callbacks.on_latency(latency_s)
                if not feed.live:
                    latency.append(latency_s * 1e3)
        if feed.live:  # only the current tracks: a live run's memory must not grow
            latest = {p.track_id: p for p in out.predictions}
        else:
            track.append(track_ms)
            for p in fresh:
                latest[p.track_id] = p
            _record(history, out.tracks)
        n += 1
        if callbacks.progress is not None:
            callbacks.progress(n, feed.total)
    if not feed.live:
        _drain(lanes, pacer, on_events, live_from_unix_s, lanes_t)
    lat, lon, ids = _track_geodetic(history, core)
    return RunResult(
        scenario=feed.name,
        sim=sim,
        start_unix_s=feed.start_unix_s,
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
    cues: LaunchCues | None,
    now_unix_s: float,
    on_events: EventsCallback | None,
    current: Sequence[ImpactPrediction] = (),
) -> None:
    """Decide on ``predictions`` (the changed ones; ``current`` are all the live ones) and the
    scan's launch cues (None: a tick) and write the lifecycle's events, if this lane may write
    (``writer``)."""
    writer = lane.writer
    try:
        if writer is not None and not writer.admit(lane.lifecycle):
            # a warm standby: not applied
            lane.policy.decide(predictions, now_unix_s, _cues_for(cues, predictions))
            return
        if writer is not None and writer.taking_over():
            predictions = current
        decisions: list[ThreatDecision] = lane.policy.decide(
            predictions, now_unix_s, _cues_for(cues, predictions)
        )
        events, stored = lane.lifecycle.step(decisions, now_unix_s)
    except StoreError as exc:  # Fenced (a newer leader writes) or the store is unreachable
        if writer is None:
            raise
        writer.failed(exc)  # a standby now; the next term rebuilds from the log
        return
    if not events:
        return
    lane.result.events.extend(events)
    if on_events is not None:
        on_events(lane.name, stored)


def _cues_for(
    cues: LaunchCues | None, predictions: Sequence[ImpactPrediction]
) -> tuple[LaunchCue, ...]:
    """The cues a policy can use with ``predictions`` (``Policy.decide``): every tentative
    track's, and a confirmed track's with its prediction."""
    return () if cues is None else cues.select({p.track_id for p in predictions})


def _drain(
    lanes: Sequence[_Lane],
    pacer: _Pacer,
    on_events: EventsCallback | None,
    live_from_unix_s: float | None,
    lanes_t: float,
) -> None:
    """Run the lifecycles on past the last scan (the lanes at ``lanes_t``) until every area has
    had its all-clear (a continued run issues what fell due while it was down now, not
    back-dated)."""
    while True:
        states = (lane.lifecycle.state for lane in lanes)
        due = [t for t in (next_due_unix_s(s) for s in states) if t is not None]
        if not due:
            return
        now = max(min(due), lanes_t)
        if live_from_unix_s is not None:
            now = max(now, live_from_unix_s, pacer.now())
        pacer.wait(now)
        for lane in lanes:
            _step(lane, [], None, now, on_events)


class _Pacer:
    """Sleeps so that scenario time ``t`` happens ``(t - t0) / speed`` after wall time ``w0``,
    where ``origin = (t0, w0)`` (from the run's :class:`Clock`, so an interrupted run that
    continues keeps its original pace)."""

    def __init__(self, speed: float | None, origin: tuple[float, float]) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        t0, wall0_unix_s = origin
        self._origin = (t0, time.monotonic() - (time.time() - wall0_unix_s))

    def now(self) -> float:
        """The scenario time it is now (-inf when not paced)."""
        if self.speed is None:
            return -np.inf
        t0, mono0 = self._origin
        return t0 + (time.monotonic() - mono0) * self.speed

    def wait(self, t_unix_s: float) -> None:
        if self.speed is None:
            return
        t0, mono0 = self._origin
        delay = mono0 + (t_unix_s - t0) / self.speed - time.monotonic()
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
