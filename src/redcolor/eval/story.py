"""The story of a run, for a person: what was fired, what was warned and when, and (where the
scenario names one) what the real alert system did in the event it models.

Plain data built from a finished :class:`~redcolor.eval.compare.Evaluation`; the CLI renders it
(``redcolor simulate``, which ``make demo`` runs). Times are seconds after the scenario's start.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely

from redcolor.errors import DataFileError, NotFoundError
from redcolor.eval.compare import Evaluation
from redcolor.geo import AreaIndex, LocalFrame, load_areas
from redcolor.physics.catalogue import get_projectile
from redcolor.sim.run import SimulationResult
from redcolor.sim.scenario import RealAlertsSpec

# The real feed's history category codes in the files under data/real_alerts, in English.
HISTORY_CATEGORIES = {"1": "rockets and missiles", "2": "hostile aircraft intrusion"}


@dataclass(frozen=True)
class Place:
    """A point and the alert area holding it, else the nearest one and how far it is."""

    lat: float
    lon: float
    area: str
    inside: bool
    distance_m: float


@dataclass(frozen=True)
class Fired:
    """One salvo as fired (ground truth)."""

    count: int
    projectile: str
    description: str
    over_s: float
    launch: Place
    target: Place
    flight_time_s: tuple[float, float]


@dataclass(frozen=True)
class Timeline:
    """What one policy did, in scenario seconds; None where it never happened."""

    policy: str
    first_plot_s: float | None
    first_warning_s: float | None
    first_warning_areas: tuple[str, ...]
    first_impact_s: float | None
    last_impact_s: float | None
    all_clear_s: float | None
    warned: tuple[str, ...]
    impacts_in_areas: int
    impacts: int


@dataclass(frozen=True)
class RealComparison:
    """The real system's alerts in the event, beside each policy's warned areas (by area id,
    the real list resolved in the edition of its day)."""

    source: str
    first_local: str
    last_local: str
    time_zone: str
    areas: int
    by_category: dict[str, int]
    # policy -> (warned, of them in the real list); names of predicted's warned areas in it
    overlap: dict[str, tuple[int, int]]
    warned_in_real: tuple[str, ...]
    warned_not_real: tuple[str, ...]
    nearest_to_target: Place


@dataclass(frozen=True)
class Story:
    """What ``redcolor simulate`` tells before its tables."""

    scenario: str
    description: str
    fired: tuple[Fired, ...]
    timeline: Timeline
    real: RealComparison | None = None


def tell(sim: SimulationResult, evaluation: Evaluation, index: AreaIndex) -> Story:
    """The story of ``evaluation`` (a run of ``sim``), its timeline from the first policy."""
    scenario = sim.scenario
    fired = []
    for n, salvo in enumerate(scenario.salvos):
        times = [r.flight_time_s for r in sim.truth if r.salvo == n]
        fired.append(
            Fired(
                count=salvo.count,
                projectile=salvo.projectile,
                description=get_projectile(salvo.projectile).description,
                over_s=salvo.over_s,
                launch=_place(index, salvo.launch.lat_deg, salvo.launch.lon_deg),
                target=_place(index, salvo.target.lat_deg, salvo.target.lon_deg),
                flight_time_s=(min(times), max(times)),
            )
        )
    real = None
    if scenario.real_alerts is not None:
        target = scenario.salvos[0].target
        real = compare_real(scenario.real_alerts, evaluation, index, target.lat_deg, target.lon_deg)
    return Story(
        scenario=scenario.name,
        description=scenario.description,
        fired=tuple(fired),
        timeline=timeline(evaluation, index),
        real=real,
    )


def timeline(evaluation: Evaluation, index: AreaIndex, policy: str | None = None) -> Timeline:
    """First radar plot of a confirmed track, first warning (and its areas), impacts and the
    all-clear of ``policy`` (default the first one run)."""
    name = policy or next(iter(evaluation.outcomes))
    outcome = evaluation.outcomes[name]
    t0 = evaluation.run.start_unix_s
    plots = [p.first_detection_t_unix_s for p in evaluation.run.last_predictions.values()]
    warnings = [e for e in outcome.events if e.stage in ("alert", "pre_alert")]
    ends = [e for e in outcome.events if e.stage == "ended"]
    impact_t = [i.impact_t_unix_s for i in evaluation.impacts]
    first = warnings[0] if warnings else None
    return Timeline(
        policy=name,
        first_plot_s=min(plots) - t0 if plots else None,
        first_warning_s=first.issued_at_unix_s - t0 if first else None,
        first_warning_areas=tuple(index.get(a.id).name_en for a in first.areas) if first else (),
        first_impact_s=min(impact_t) - t0 if impact_t else None,
        last_impact_s=max(impact_t) - t0 if impact_t else None,
        all_clear_s=ends[-1].issued_at_unix_s - t0 if ends else None,
        warned=tuple(sorted(index.get(a).name_en for a in outcome.score.warned)),
        impacts_in_areas=sum(index.locate(i.lat, i.lon) is not None for i in evaluation.impacts),
        impacts=len(evaluation.impacts),
    )


@dataclass(frozen=True)
class RealAlert:
    """One row of a real-alerts file, its area resolved."""

    area_id: int
    name_en: str
    category: str
    local: dt.datetime


def read_real_alerts(spec: RealAlertsSpec) -> list[RealAlert]:
    """The rows of ``spec.file`` (in ``redcolor/data/real_alerts``), each area looked up in
    ``spec.edition``. DataFileError (one line) for a missing file, an unknown area or time zone."""
    path = resources.files("redcolor") / "data" / "real_alerts" / spec.file
    try:
        text = path.read_text(encoding="utf-8")
        zone = ZoneInfo(spec.time_zone)
    except (OSError, ZoneInfoNotFoundError, ValueError) as exc:
        raise DataFileError(f"cannot read real alerts {spec.file}: {exc}") from None
    areas = load_areas(spec.edition)
    rows = []
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            area = areas.find(row["data"])
            when = dt.datetime.strptime(f"{row['date']} {row['time']}", "%d.%m.%Y %H:%M:%S")
        except (NotFoundError, KeyError, ValueError) as exc:
            raise DataFileError(f"{spec.file} line {n}: {exc}") from None
        category = HISTORY_CATEGORIES.get(row["category"], f"category {row['category']}")
        rows.append(RealAlert(area.id, area.name_en, category, when.replace(tzinfo=zone)))
    if not rows:
        raise DataFileError(f"{spec.file}: no alerts")
    return rows


def compare_real(
    spec: RealAlertsSpec, evaluation: Evaluation, index: AreaIndex, lat: float, lon: float
) -> RealComparison:
    """Each policy's warned areas beside the real alerts of ``spec``; the real alerted area
    nearest the target (``lat``, ``lon``)."""
    rows = read_real_alerts(spec)
    real_ids = {r.area_id for r in rows}
    by_category: dict[str, set[int]] = {}
    for r in rows:
        by_category.setdefault(r.category, set()).add(r.area_id)
    overlap = {
        name: (len(o.score.warned), len(o.score.warned & real_ids))
        for name, o in evaluation.outcomes.items()
    }
    first = next(iter(evaluation.outcomes.values())).score.warned
    real_areas = load_areas(spec.edition)
    frame = LocalFrame(lat, lon)
    centre = shapely.Point(0.0, 0.0)
    dist, nearest = min(
        (frame.to_local(real_areas.get(i).polygon).distance(centre), real_areas.get(i).name_en)
        for i in real_ids
    )
    times = sorted(r.local for r in rows)
    return RealComparison(
        source=spec.source,
        first_local=times[0].strftime("%Y-%m-%d %H:%M:%S"),
        last_local=times[-1].strftime("%H:%M:%S"),
        time_zone=f"{spec.time_zone}, UTC{times[0].strftime('%z')[:3]}",
        areas=len(real_ids),
        by_category={k: len(v) for k, v in by_category.items()},
        overlap=overlap,
        warned_in_real=tuple(sorted(index.get(a).name_en for a in first & real_ids)),
        warned_not_real=tuple(sorted(index.get(a).name_en for a in first - real_ids)),
        nearest_to_target=Place(lat, lon, nearest, dist == 0.0, float(dist)),
    )


def _place(index: AreaIndex, lat: float, lon: float) -> Place:
    area, dist_m = index.nearest(lat, lon)
    return Place(lat, lon, area.name_en, dist_m == 0.0, float(dist_m))
