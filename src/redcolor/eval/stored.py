"""Scoring a run from its alert store: what ``redcolor score --db STORE --truth DIR`` reports.

A run over the wire (``sim emit`` into ``serve --sensors --asterix``), a ``serve --simulate``
run or ``simulate --db`` leaves its alert events in a store; the ground truth of what was flown
is in a directory written by ``sim emit --truth-out`` or ``sim run --out`` (``truth.jsonl`` and
``run.json``, :class:`~redcolor.sim.run.RunInfo`). The events are scored exactly as ``simulate``
scores its lanes (:func:`~redcolor.eval.score.score_events`,
:meth:`~redcolor.eval.compare.PolicyOutcome.figures`), so the figures carry the keys of
``simulate --json`` for the policy that ran.

Clocks
------
Scoring runs on the scenario clock. The truth's times are the scenario's plus ``offset_s`` from
its ``run.json`` (0 when it has none: ``sim run --out``). The store's events are on the clock of
the run that wrote them:

* truth from ``sim emit --truth-out``: the store is the one the emitted scans fed, whose times
  came from the data, so its clock is the emitter's: the store's offset is the truth's;
* truth from ``sim run --out``: the store's newest ``serve --simulate`` run record of that
  scenario gives its offset (its wall-clock start less the scenario's start); a store with no
  such record was written on the scenario clock (``simulate --db``), offset 0.

Events issued before the run's start (on the aligned clock) belong to earlier runs on the same
store and are left out. If no event of the store falls within the run at all, the two do not
belong together (or the clocks cannot be aligned) and the score is refused in one line.

The oracles (``lead_time_ratio`` and the nested ``oracle`` figures; ``late_unavoidable`` from
the causal oracle) need each projectile's first and second radar plots, so the scenario is
flown again from ``run.json``'s ``source`` (deterministic: same seed, same scans; checked
against ``truth.jsonl``) and the two oracle lanes run through
:func:`~redcolor.pipeline.runner.run_lanes` at the same scan times as the run. The oracles decide
on the scan times and their hindsight alone, never on the tracker's predictions, so their lanes
are fed the scan times without their plots: the same events as ``simulate``'s oracle lanes
without tracking every plot again.

``simulate --json``'s ``latency_ms`` is not in a store (a live core reports it in
``/metrics``), so it is not among the figures.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from redcolor.alerts.store import SQLiteEventStore
from redcolor.errors import InputError
from redcolor.eval.compare import PolicyOutcome, impacts_of
from redcolor.eval.score import Score, TrueImpact, score_events
from redcolor.geo import AreaIndex, load_areas
from redcolor.model import AlertEvent, Scan
from redcolor.pipeline import POLICY_NAMES
from redcolor.pipeline.policies import ORACLE_PLOTS, oracle_policy
from redcolor.pipeline.resume import RunRecord
from redcolor.pipeline.runner import Feed, ProgressCallback, run_lanes
from redcolor.sim.run import RunInfo, SimulationResult, TruthRecord, simulate
from redcolor.sim.scenario import load_scenario

MATCH_TOLERANCE_S = 1e-3
"""How far a truth file's impact time may lie from the re-flown scenario's (they are written
to 1e-6 s, on a clock up to ~2e9 s)."""


@dataclass(frozen=True)
class Truth:
    """A truth directory: its ``run.json`` and ``truth.jsonl`` (times on the file's clock)."""

    path: Path
    info: RunInfo
    records: list[TruthRecord]

    @property
    def offset_s(self) -> float:
        """The file's clock less the scenario's."""
        return self.info.offset_s or 0.0


@dataclass(frozen=True)
class Alignment:
    """How the store's clock was put on the scenario's: ``offset_s`` (store less scenario) and
    where it came from (``"truth"``, ``"store_run"`` or ``"scenario_clock"``)."""

    offset_s: float
    source: str
    run_id: str | None = None


def read_truth(path: Path) -> Truth:
    """Read a truth directory; InputError in one line naming the file and what is wrong."""
    info_path, truth_path = path / "run.json", path / "truth.jsonl"
    try:
        info = msgspec.json.decode(info_path.read_bytes(), type=RunInfo)
        decoder = msgspec.json.Decoder(TruthRecord)
        with truth_path.open("rb") as f:
            records = [decoder.decode(line) for line in f if line.strip()]
    except OSError as exc:
        raise InputError(f"cannot read truth {exc.filename}: {exc.strerror}") from None
    except msgspec.DecodeError as exc:
        raise InputError(f"truth {path}: bad run.json or truth.jsonl: {exc}") from None
    return Truth(path, info, records)


@dataclass(frozen=True)
class StoredRun:
    """A store's events and the truth of the run that wrote them, on the scenario clock.

    ``events`` in ``seq`` order, those issued from the run's start on; ``impacts`` from the
    truth file; ``sim`` the scenario flown again (for the oracle); ``policy`` the name the
    figures go under.
    """

    truth: Truth
    sim: SimulationResult
    impacts: list[TrueImpact]
    events: list[AlertEvent]
    alignment: Alignment
    policy: str


def load_stored_run(db: Path, truth_dir: Path, *, policy: str = "predicted") -> StoredRun:
    """Read the truth in ``truth_dir`` and the events in store ``db`` and put them on one clock
    (module docstring); everything that can be wrong with the input is found here.

    Raises
    ------
    InputError
        Bad policy name, unreadable truth, a truth that does not match its scenario flown
        again, or a store whose events do not fall within the run.
    StoreError
        The store cannot be opened.
    """
    _check_policy(policy)
    truth = read_truth(truth_dir)
    sim = simulate(load_scenario(truth.info.source or truth.info.scenario))
    impacts = impacts_of(truth.records, truth.offset_s)
    _check_same_flight(truth, impacts, sim)
    store = SQLiteEventStore(db, readonly=True)
    try:
        align = _alignment(truth, store, sim)
        events = _events_on_scenario_clock(store, align.offset_s)
    finally:
        store.close()
    within = [sim.start_unix_s <= e.issued_at_unix_s <= sim.end_unix_s for e in events]
    if events and not any(within):
        raise InputError(
            f"store {db}: no alert event falls within the run of {truth.info.scenario} in "
            f"{truth_dir} (clock offset {align.offset_s:.3f} s from {align.source}); is this "
            "the store that run wrote?"
        )
    events = [e for e in events if e.issued_at_unix_s >= sim.start_unix_s]
    return StoredRun(truth, sim, impacts, events, align, policy)


def score_stored(
    run: StoredRun, *, index: AreaIndex | None = None, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """Score a stored run as ``simulate`` scores its lanes.

    Returns ``{"scenario", "impacts", "policies": {policy: figures}, "events", "alignment"}``:
    ``policies`` as in ``simulate --json``; ``events`` how many events were scored;
    ``alignment`` the store's offset from the scenario clock and where it came from (module
    docstring). ``progress`` follows the oracle lane's scans.
    """
    index = index or load_areas()
    oracle, causal = oracle_scores(run.sim, run.impacts, index, progress)
    outcome = PolicyOutcome(run.policy, run.events, score_events(run.events, run.impacts, index))
    align = run.alignment
    alignment: dict[str, Any] = {"offset_s": align.offset_s, "source": align.source}
    if align.run_id is not None:
        alignment["run_id"] = align.run_id
    return {
        "scenario": run.truth.info.scenario,
        "impacts": len(run.impacts),
        "policies": {run.policy: outcome.figures(oracle, causal)},
        "events": len(run.events),
        "alignment": alignment,
    }


def oracle_scores(
    sim: SimulationResult,
    impacts: list[TrueImpact],
    index: AreaIndex,
    progress: ProgressCallback | None = None,
) -> tuple[Score, Score]:
    """The oracle's and the causal oracle's scores on ``sim``: their lanes run at ``sim``'s
    scan times (module docstring)."""
    policies = [oracle_policy(name, sim, index) for name in ORACLE_PLOTS]
    feed = Feed(
        sim.scenario.name,
        sim.registrations,
        _scan_times(sim),
        sim.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
        total=sim.scan_count(),
    )
    run = run_lanes(feed, policies, index=index, progress=progress)
    oracle, causal = (score_events(run.lanes[n].events, impacts, index) for n in ORACLE_PLOTS)
    return oracle, causal


def _scan_times(sim: SimulationResult) -> Iterator[Scan]:
    """``sim.scans`` without their plots: the same sensors and times (to the microsecond, as
    :meth:`~redcolor.sim.radar.RadarModel.scan` gives them) in the same order."""
    ids = [reg.id for reg in sim.registrations]
    tagged = [((float(t), j) for t in sim.scan_times(j)) for j in range(len(ids))]
    for t, j in heapq.merge(*tagged):
        yield Scan(ids[j], round(t, 6), [])


def _check_policy(policy: str) -> None:
    base, _, arg = policy.partition(":")
    if base not in POLICY_NAMES or (arg and base != "radius"):
        raise InputError(f"unknown policy {policy!r}; choose one of {', '.join(POLICY_NAMES)}")


def _check_same_flight(truth: Truth, impacts: list[TrueImpact], sim: SimulationResult) -> None:
    flown = {rec.id: rec.impact.t for rec in sim.truth}
    far = [
        imp.id
        for imp in impacts
        if abs(flown.get(imp.id, float("inf")) - imp.impact_t_unix_s) > MATCH_TOLERANCE_S
    ]
    if far or len(flown) != len(impacts):
        raise InputError(
            f"truth {truth.path} does not match scenario {truth.info.source!r} flown again "
            f"({len(impacts)} impacts in the file, {len(flown)} flown, {len(far)} differ)"
        )


def _alignment(truth: Truth, store: SQLiteEventStore, sim: SimulationResult) -> Alignment:
    if truth.info.offset_s is not None:
        return Alignment(truth.info.offset_s, "truth")
    for run_id, body, _ in reversed(store.runs()):
        try:
            record = msgspec.json.decode(body, type=RunRecord)
        except msgspec.DecodeError:  # another kind of run: not a simulated one
            continue
        if record.scenario == truth.info.scenario:
            return Alignment(record.start_unix_s - sim.start_unix_s, "store_run", run_id)
    return Alignment(0.0, "scenario_clock")


def _events_on_scenario_clock(store: SQLiteEventStore, offset_s: float) -> list[AlertEvent]:
    return [
        msgspec.structs.replace(e, issued_at_unix_s=e.issued_at_unix_s - offset_s)
        for e in store.iter_all()
    ]
