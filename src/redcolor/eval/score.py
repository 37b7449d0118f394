"""Scoring a run's alert events against the ground truth.

Definitions (issue 5)
---------------------
* An area is *needed* when a true impact lands inside it or within the projectile's
  ``danger_radius_m`` of it.
* An area is *warned* while an interval of warning covers it: from the first ``pre_alert`` or
  ``alert`` event naming it to the ``ended`` event naming it. The area *shelters* from the first
  ``alert`` (or ``update``, which only names sheltering areas) inside that interval.
* ``missed``: a needed area with an impact not covered by a warning that began before it.
* ``lead_time_s``: per needed, warned area, its first impact minus the start of the warning
  interval covering it (pre-alert included); ``alert_lead_time_s`` the same from the start of
  sheltering. Median and 10th percentile over needed areas; null when there are none.
* ``late``: a needed area whose shelter alert came with less lead than its shelter time (or
  never came before the impact). ``late_unavoidable``: late for the *causal* oracle too.
* The two yardsticks. The *oracle* warns exactly the needed areas at a projectile's first radar
  plot: no system can (one plot cannot be told from clutter), but it bounds the lead time, so
  ``lead_time_ratio`` is taken against it. The *causal* oracle knows the same areas but acts
  only at the projectile's second radar plot, the first moment a track of it can exist: an
  area late for it was late for any system with those radars, so ``late_unavoidable`` is
  judged against it.
* ``late_beyond_causal`` (extra): per area late but not late for the causal oracle, its
  slack: its alert lead less the shelter time, i.e. how long after the projectile's second
  radar plot any system had to warn the area in time.
* ``needless``: warned, not needed. ``precision``: needed and warned / warned.
* ``shelter_area_minutes``: the sum over areas of the minutes spent sheltering.
* ``pre_alert_only`` (extra): warned areas that were only ever pre-alerted, never told to
  shelter (they count in ``warned`` and, if not needed, in ``needless``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from redcolor.geo import AreaIndex
from redcolor.model import RELEASES, AlertEvent


@dataclass(frozen=True, slots=True)
class TrueImpact:
    """One projectile's ground truth as scoring needs it (times in Unix s, scenario clock)."""

    id: str
    impact_t_unix_s: float
    lat: float
    lon: float
    danger_radius_m: float


@dataclass(slots=True)
class _Interval:
    start_unix_s: float
    shelter_unix_s: float | None = None
    end_unix_s: float = np.inf


@dataclass(frozen=True, slots=True)
class Score:
    """A run's score: the figures and the per-area sets behind them."""

    needed: frozenset[int]
    warned: frozenset[int]
    missed: frozenset[int]
    late: frozenset[int]
    lead_time_s: dict[int, float]
    alert_lead_time_s: dict[int, float]
    shelter_area_minutes: float
    first_warning_unix_s: dict[int, float] = field(default_factory=dict)
    pre_alert_only: frozenset[int] = frozenset()
    shelter_s: dict[int, float] = field(default_factory=dict)

    def figures(
        self, oracle: Score | None = None, causal: Score | None = None, nest: bool = True
    ) -> dict[str, Any]:
        """The issue's keys as a JSON-ready dict; with ``causal``, also ``late_unavoidable``
        and ``late_beyond_causal``; with ``oracle``, ``lead_time_ratio`` (median / oracle's)
        and, if ``nest``, ``oracle`` (its figures)."""
        warned_needed = len(self.warned & self.needed)
        out: dict[str, Any] = {
            "needed": len(self.needed),
            "warned": len(self.warned),
            "missed": len(self.missed),
            "late": len(self.late),
        }
        if causal is not None:
            out["late_unavoidable"] = len(self.late & causal.late)
            out["late_beyond_causal"] = {
                str(a): _slack(causal, a) for a in sorted(self.late - causal.late)
            }
        out |= {
            "needless": len(self.warned - self.needed),
            "precision": round(warned_needed / len(self.warned), 4) if self.warned else None,
            "lead_time_s": _stats(self.lead_time_s),
            "alert_lead_time_s": _stats(self.alert_lead_time_s),
            "shelter_area_minutes": round(self.shelter_area_minutes, 2),
            "pre_alert_only": len(self.pre_alert_only),
        }
        if oracle is not None:
            mine, best = out["lead_time_s"]["median"], _stats(oracle.lead_time_s)["median"]
            out["lead_time_ratio"] = round(mine / best, 4) if mine is not None and best else None
            if nest:
                out["oracle"] = oracle.figures()
        return out


def _slack(yardstick: Score, area: int) -> float | None:
    lead = yardstick.alert_lead_time_s.get(area)
    return None if lead is None else round(lead - yardstick.shelter_s[area], 2)


def _stats(values: dict[int, float]) -> dict[str, float | None]:
    if not values:
        return {"median": None, "p10": None}
    arr = np.fromiter(values.values(), dtype=np.float64)
    return {
        "median": round(float(np.median(arr)), 2),
        "p10": round(float(np.percentile(arr, 10)), 2),
    }


def needed_areas(impacts: Sequence[TrueImpact], index: AreaIndex) -> dict[int, list[float]]:
    """Needed area id -> sorted impact times (Unix s) of the projectiles that needed it."""
    needed: dict[int, list[float]] = {}
    for imp in impacts:
        for area in index.within_m(imp.lat, imp.lon, imp.danger_radius_m).tolist():
            needed.setdefault(area, []).append(imp.impact_t_unix_s)
    return {a: sorted(ts) for a, ts in needed.items()}


def warning_intervals(events: Sequence[AlertEvent]) -> dict[int, list[_Interval]]:
    """Per area, the warning intervals the events describe, in time order (events in seq order)."""
    open_: dict[int, _Interval] = {}
    done: dict[int, list[_Interval]] = {}
    for event in events:
        t = event.issued_at_unix_s
        for area in (a.id for a in event.areas):
            if event.stage in RELEASES:
                interval = open_.pop(area, None)
                if interval is not None:
                    interval.end_unix_s = t
                continue
            interval = open_.get(area)
            if interval is None:
                interval = open_[area] = _Interval(t)
                done.setdefault(area, []).append(interval)
            if event.stage in ("alert", "update") and interval.shelter_unix_s is None:
                interval.shelter_unix_s = t
    return done


def score_events(
    events: Sequence[AlertEvent], impacts: Sequence[TrueImpact], index: AreaIndex
) -> Score:
    """Score one run's events (scenario clock, ``seq`` order) against the true impacts."""
    needed = needed_areas(impacts, index)
    intervals = warning_intervals(events)
    last_t = max((e.issued_at_unix_s for e in events), default=0.0)
    missed: set[int] = set()
    late: set[int] = set()
    lead: dict[int, float] = {}
    alert_lead: dict[int, float] = {}
    for area, times in needed.items():
        covering = [_covering(intervals.get(area, []), t) for t in times]
        if any(c is None for c in covering):
            missed.add(area)
        first = covering[0]
        if first is None:
            continue
        lead[area] = times[0] - first.start_unix_s
        shelter = first.shelter_unix_s
        if shelter is not None and shelter < times[0]:
            alert_lead[area] = times[0] - shelter
        if alert_lead.get(area, -1.0) < index.get(area).shelter_s:
            late.add(area)
    minutes = sum(
        (min(iv.end_unix_s, last_t) - iv.shelter_unix_s) / 60.0
        for ivs in intervals.values()
        for iv in ivs
        if iv.shelter_unix_s is not None
    )
    return Score(
        needed=frozenset(needed),
        warned=frozenset(intervals),
        missed=frozenset(missed),
        late=frozenset(late - missed),
        lead_time_s=lead,
        alert_lead_time_s=alert_lead,
        shelter_area_minutes=float(minutes),
        first_warning_unix_s={a: ivs[0].start_unix_s for a, ivs in intervals.items()},
        pre_alert_only=frozenset(
            a for a, ivs in intervals.items() if all(iv.shelter_unix_s is None for iv in ivs)
        ),
        shelter_s={a: float(index.get(a).shelter_s) for a in needed},
    )


def _covering(intervals: list[_Interval], t: float) -> _Interval | None:
    for interval in intervals:
        if interval.start_unix_s < t < interval.end_unix_s:
            return interval
    return None
