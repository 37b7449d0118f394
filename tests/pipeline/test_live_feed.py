"""The runner on a live feed: scans off the wire (``Received``), ticks while the radars are quiet,
no drain at the end of a live feed, latency from the datagram's arrival."""

from __future__ import annotations

import time

import numpy as np
import pytest

from redcolor.geo import load_areas
from redcolor.model import AlertEvent
from redcolor.pipeline import Feed, run_lanes
from redcolor.sensors.ingest import Received
from redcolor.sensors.live import Tick
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import load_scenario

pytestmark = pytest.mark.slow

CUT_S = 25.0
"""Scenario seconds after which the radars fall quiet: Meron's alerts (from ~3 s) are open."""


@pytest.fixture(scope="module")
def sim() -> SimulationResult:
    return simulate(load_scenario("meron-2024-01-06"))


@pytest.fixture(scope="module")
def index():
    return load_areas()


def _feed(sim: SimulationResult, items: list, *, live: bool) -> Feed:
    return Feed(
        sim.scenario.name,
        sim.registrations,
        items,
        sim.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
        live=live,
    )


def _received(sim: SimulationResult, age_s: float = 0.0) -> list[Received]:
    cut = sim.start_unix_s + CUT_S
    return [Received(s, time.monotonic() - age_s) for s in sim.scans if s.t <= cut]


def _open_areas(events: list[AlertEvent]) -> set[int]:
    open_: set[int] = set()
    for e in events:
        ids = {a.id for a in e.areas}
        open_ = open_ - ids if e.stage == "ended" else open_ | ids
    return open_


def test_a_live_feed_is_not_drained(sim, index) -> None:
    """The feed ends (the server stops) with an alert open: a live run leaves it open for the
    keeper; the same scans as a finished feed are drained to the all-clear."""
    live = run_lanes(_feed(sim, _received(sim), live=True), ["predicted"], hold_s=5.0, index=index)
    assert live.events and _open_areas(live.events)
    assert all(e.stage != "ended" for e in live.events)
    assert len(live.latency_ms) == 0 and len(live.track_ms) == 0  # a live run keeps none
    done = run_lanes(_feed(sim, _received(sim), live=False), ["predicted"], hold_s=5.0, index=index)
    assert not _open_areas(done.events)
    assert [(e.id, e.stage) for e in done.events[: len(live.events)]] == [
        (e.id, e.stage) for e in live.events
    ]


def test_ticks_issue_all_clears_while_the_radars_are_quiet(sim, index) -> None:
    """After the last scan only ticks come (one a second); the all-clear is issued at the first
    tick at or after it falls due (the drained run says when), with nothing tracked on a tick."""
    drained = run_lanes(
        _feed(sim, _received(sim), live=False), ["predicted"], hold_s=5.0, index=index
    )
    last = sim.start_unix_s + CUT_S
    ended = max((e for e in drained.events if e.stage == "ended"), key=lambda e: e.seq)
    assert ended.issued_at_unix_s > last
    ticks = [Tick(last + k) for k in range(1, 121)]
    seen: list[float] = []
    result = run_lanes(
        _feed(sim, [*_received(sim), *ticks], live=True),
        ["predicted"],
        hold_s=5.0,
        index=index,
        on_latency=seen.append,
    )
    assert not _open_areas(result.events)
    got = max((e for e in result.events if e.stage == "ended"), key=lambda e: e.seq)
    first_tick = min(t.t_unix_s for t in ticks if t.t_unix_s >= ended.issued_at_unix_s)
    assert got.issued_at_unix_s == first_tick and got.id == ended.id
    assert len(seen) == len(_received(sim))  # one latency per scan, none per tick


def test_ticks_between_scans_leave_the_lifecycle_to_the_scans(index) -> None:
    """Two ticks after every scan of the Sderot salvo (the receiver ticks far more often than
    radars scan): while the radars scan, their decisions drive the lifecycle, so the events are
    exactly those of the same scans without ticks (a tick between two scans ending an area the
    next scan alerts again would add events: 49 -> 52 here if ticks stepped the lanes at once)."""
    sim = simulate(load_scenario("sderot-gaza"))
    plain = [Received(s, time.monotonic()) for s in sim.scans]
    ticked: list = []
    for r in plain:
        ticked += [r, Tick(r.scan.t + 0.05), Tick(r.scan.t + 0.5)]
    without = run_lanes(_feed(sim, plain, live=True), ["predicted"], hold_s=5.0, index=index)
    with_ticks = run_lanes(_feed(sim, ticked, live=True), ["predicted"], hold_s=5.0, index=index)
    key = [(e.id, e.stage, e.areas, e.issued_at_unix_s) for e in without.events]
    assert len(key) > 40
    assert [(e.id, e.stage, e.areas, e.issued_at_unix_s) for e in with_ticks.events] == key


def test_ticks_never_move_the_lanes_backwards(sim, index) -> None:
    """A tick older than the scans already decided is ignored; a scan older than a tick is
    decided at the tick's time (the lanes' clock only runs forwards)."""
    items: list = _received(sim)
    ahead = sim.start_unix_s + CUT_S + 1000.0
    early = [i for i, r in enumerate(items) if r.scan.t < sim.start_unix_s + 2.5]
    items.insert(early[-1] + 1, Tick(ahead))  # before the first alert (~3 s): then old scans
    items.append(Tick(sim.start_unix_s))
    # the radius baseline alerts on every confirmed track at once, whatever the lanes' time
    result = run_lanes(_feed(sim, items, live=True), ["radius:3000"], hold_s=5.0, index=index)
    assert result.events
    assert all(e.issued_at_unix_s == ahead for e in result.events)


def test_latency_runs_from_the_datagram_arrival(sim, index) -> None:
    """A Received whose datagram arrived 3 s before the runner took it has >= 3 s latency; a
    Scan read from memory is timed from when the runner takes it."""
    seen: list[float] = []
    result = run_lanes(
        _feed(sim, _received(sim, age_s=3.0), live=False),
        ["predicted"],
        hold_s=5.0,
        index=index,
        on_latency=seen.append,
    )
    assert min(seen) >= 3.0 and np.all(result.latency_ms >= 3000.0)
    scans = [r.scan for r in _received(sim)]
    fresh = run_lanes(_feed(sim, scans, live=False), ["predicted"], hold_s=5.0, index=index)
    assert np.median(fresh.latency_ms) < 1000.0
