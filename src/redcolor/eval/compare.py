"""Run policies side by side on one scenario and score them: what ``redcolor simulate`` shows.

The oracle and the causal oracle always run (the oracle's figures sit beside each policy's and
set ``lead_time_ratio``; ``late_unavoidable`` is judged against the causal one). The
``radius`` baseline runs one lane per radius in ``RADIUS_CHOICES_M`` and keeps, with hindsight,
the smallest that misses nothing (the largest if every radius misses).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from redcolor.alerts.store import EventStore, SQLiteEventStore
from redcolor.errors import InputError
from redcolor.eval.score import Score, TrueImpact, score_events
from redcolor.geo import AreaIndex, load_areas
from redcolor.model import AlertEvent
from redcolor.pipeline import POLICY_NAMES, RADIUS_CHOICES_M, RunResult, run_lanes
from redcolor.pipeline.policies import ORACLE_PLOTS
from redcolor.pipeline.runner import ProgressCallback
from redcolor.sim.run import SimulationResult, TruthRecord, simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.base import Policy
from redcolor.warning.policies import PredictedPolicy, Staging, ZonePolicy


@dataclass
class PolicyOutcome:
    """One policy's events (scenario clock) and score."""

    name: str
    events: list[AlertEvent]
    score: Score
    radius_m: float | None = None

    def figures(self, oracle: Score, causal: Score) -> dict[str, Any]:
        """The policy's entry in ``simulate --json``'s ``policies`` (issue keys, the oracle's
        figures nested, ``radius_m`` for the radius baseline)."""
        nest = self.name not in ORACLE_PLOTS
        fig = self.score.figures(oracle, causal, nest=nest)
        if self.radius_m is not None:
            fig["radius_m"] = self.radius_m
        return fig


@dataclass
class Evaluation:
    """Everything ``redcolor simulate`` reports about one scenario."""

    scenario: str
    run: RunResult
    impacts: list[TrueImpact]
    outcomes: dict[str, PolicyOutcome]
    oracle: Score
    causal: Score

    def figures(self) -> dict[str, Any]:
        """The JSON document: ``policies`` (issue keys per policy) and ``latency_ms``."""
        policies = {name: o.figures(self.oracle, self.causal) for name, o in self.outcomes.items()}
        lat = self.run.latency_ms
        return {
            "scenario": self.scenario,
            "impacts": len(self.impacts),
            "policies": policies,
            "latency_ms": {
                "p50": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
                "p99": round(float(np.percentile(lat, 99)), 3) if lat.size else None,
                "scans": int(lat.size),
            },
        }


def parse_policies(spec: str) -> list[str]:
    """``all`` or a comma-separated list of policy names; InputError listing the choices."""
    names = list(POLICY_NAMES) if spec == "all" else [s.strip() for s in spec.split(",")]
    for name in names:
        if name not in POLICY_NAMES:
            choices = ", ".join((*POLICY_NAMES, "all"))
            raise InputError(f"unknown policy {name!r}; choose one of {choices}")
    return names


def true_impacts(sim: SimulationResult) -> list[TrueImpact]:
    """The simulation's ground truth as scoring needs it."""
    return impacts_of(sim.truth)


def impacts_of(records: Iterable[TruthRecord], offset_s: float = 0.0) -> list[TrueImpact]:
    """Ground-truth records (``truth.jsonl`` lines) as scoring needs them, their times less
    ``offset_s`` (the clock they were written on, less the scenario's)."""
    return [
        TrueImpact(
            id=rec.id,
            impact_t_unix_s=rec.impact.t - offset_s,
            lat=rec.impact.lat,
            lon=rec.impact.lon,
            danger_radius_m=rec.danger_radius_m,
        )
        for rec in records
    ]


def evaluate(
    scenario: str | SimulationResult,
    policies: Sequence[str],
    *,
    store: EventStore | None = None,
    progress: ProgressCallback | None = None,
    index: AreaIndex | None = None,
    staging: Staging | None = None,
) -> Evaluation:
    """Run ``policies`` (names) and both oracles on one scenario, score them against the truth.

    ``store`` receives the first policy's events (the others and the oracle stay in memory);
    ``staging`` overrides the ``predicted`` and ``zone`` policies' staging (for trade-off
    sweeps).
    """
    index = index or load_areas()
    sim = scenario if isinstance(scenario, SimulationResult) else simulate(load_scenario(scenario))
    lanes: list[str | Policy] = []
    for name in policies:
        if name == "radius":
            lanes.extend(f"radius:{r:g}" for r in RADIUS_CHOICES_M)
        elif staging is not None and name in ("predicted", "zone"):
            lanes.append(_staged_policy(name, index, staging))
        else:
            lanes.append(name)
    lanes.extend(name for name in ORACLE_PLOTS if name not in policies)
    stores = None
    if store is not None:
        stores = [store, *(SQLiteEventStore(":memory:") for _ in lanes[1:])]
    run = run_lanes(sim, lanes, stores=stores, progress=progress, index=index)
    impacts = true_impacts(sim)
    scores = {name: score_events(r.events, impacts, index) for name, r in run.lanes.items()}
    outcomes: dict[str, PolicyOutcome] = {}
    for name in policies:
        if name == "radius":
            outcomes[name] = _pick_radius(run, scores)
        else:
            outcomes[name] = PolicyOutcome(name, run.lanes[name].events, scores[name])
    return Evaluation(sim.scenario.name, run, impacts, outcomes, scores["oracle"], scores["causal"])


def _staged_policy(name: str, index: AreaIndex, staging: Staging) -> Policy:
    inner = PredictedPolicy(index, staging)
    return inner if name == "predicted" else ZonePolicy(inner)


def _pick_radius(run: RunResult, scores: dict[str, Score]) -> PolicyOutcome:
    for radius_m in RADIUS_CHOICES_M:
        lane = f"radius:{radius_m:g}"
        if not scores[lane].missed or radius_m == RADIUS_CHOICES_M[-1]:
            return PolicyOutcome("radius", run.lanes[lane].events, scores[lane], radius_m)
    raise AssertionError("unreachable")
