"""The alert lifecycle as a pure core: ``apply(state, decisions, now) -> (state, events)``.

Rules
-----
* One active alert per area. A threat that endangers an area already under alert joins that
  alert (its ``source`` grows) instead of opening a second one.
* A threat's new areas go to the alert it first joined; threats with no alert yet open one new
  alert per category per call (a salvo seen in one scan is one alert).
* An area is never dropped before its all-clear. It is ``ended`` once every threat to it is over
  (its ``until``) plus the hold time (default 600 s).
* Long flights are staged: an area whose ``alert_at`` lies ahead is pre-alerted now and raised
  to ``alert`` at that time (the latest decision of the threat sets it), even if the track is
  lost in between.
* Every change is a new event. Per alert and call, in this order: ``pre_alert`` (areas entering
  pre-alert, or pre-alerted areas a further threat joined), ``alert`` (areas that must shelter
  now: new or raised from pre-alert), ``update`` (sheltering areas a further threat joined),
  ``ended`` (areas released). Each event lists only the areas it changes, so folding events in
  ``seq`` order (the stage of an area is that of the last event naming it, ``update`` keeping
  ``alert``) gives the state of every area. ``expires_at_unix_s`` is the expected end of the
  whole alert (its last threat's ``until`` plus the hold) as of that event; ``references``
  holds the alert's latest stored ``seq``.

Events come out with ``seq = 0``; the store numbers them. Feed the stored events back with
:func:`record_stored` so later events can reference them. No clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from redcolor.alerts.instructions import instructions_for
from redcolor.model import AlertArea, AlertEvent, Category, Stage
from redcolor.warning.base import ThreatDecision

AreaStage = Literal["pre_alert", "alert"]
DEFAULT_HOLD_S = 600.0


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """Settings of one lifecycle: shelter times per area, hold time and the alert id prefix."""

    shelter_s: Mapping[int, int]
    hold_s: float = DEFAULT_HOLD_S
    run_id: str = "run"


@dataclass(frozen=True, slots=True)
class AreaAlert:
    """An area under alert: which alert, at which stage, since when, for which threats."""

    alert_id: str
    stage: AreaStage
    since_unix_s: float
    threats: frozenset[str]


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An open alert: category, every threat that joined it, its latest stored ``seq``."""

    alert_id: str
    category: Category
    sources: tuple[str, ...]
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class LifecycleState:
    """Everything the lifecycle remembers between calls (immutable; each call returns a new one)."""

    config: LifecycleConfig
    areas: Mapping[int, AreaAlert] = field(default_factory=dict)
    alerts: Mapping[str, AlertRecord] = field(default_factory=dict)
    threat_until: Mapping[str, float] = field(default_factory=dict)
    threat_alert: Mapping[str, str] = field(default_factory=dict)
    schedule: Mapping[tuple[str, int], float] = field(default_factory=dict)
    next_alert: int = 1


def initial_state(config: LifecycleConfig) -> LifecycleState:
    """A lifecycle with nothing active."""
    return LifecycleState(config=config)


@dataclass
class _Changes:
    pre_alert: set[int] = field(default_factory=set)
    alert: set[int] = field(default_factory=set)
    update: set[int] = field(default_factory=set)
    ended: set[int] = field(default_factory=set)


class _Work:
    """Mutable copies of one state, changed by one ``apply`` call and frozen again at the end."""

    def __init__(self, state: LifecycleState, now_unix_s: float) -> None:
        self.config = state.config
        self.now = now_unix_s
        self.areas = dict(state.areas)
        self.alerts = dict(state.alerts)
        self.threat_until = dict(state.threat_until)
        self.threat_alert = dict(state.threat_alert)
        self.schedule = dict(state.schedule)
        self.next_alert = state.next_alert
        self.changes: dict[str, _Changes] = {}
        self.new_for_category: dict[str, str] = {}
        self.order: list[str] = []

    def touched(self, alert_id: str) -> _Changes:
        if alert_id not in self.changes:
            self.changes[alert_id] = _Changes()
            self.order.append(alert_id)
        return self.changes[alert_id]

    def open_alert(self, category: Category) -> str:
        if category not in self.new_for_category:
            alert_id = f"{self.config.run_id}-{self.next_alert:05d}"
            self.next_alert += 1
            self.alerts[alert_id] = AlertRecord(alert_id, category, ())
            self.new_for_category[category] = alert_id
        return self.new_for_category[category]

    def join(self, alert_id: str, threat_id: str) -> None:
        record = self.alerts[alert_id]
        if threat_id not in record.sources:
            self.alerts[alert_id] = replace(record, sources=(*record.sources, threat_id))
        self.threat_alert.setdefault(threat_id, alert_id)

    def take(self, decision: ThreatDecision) -> None:
        threat = decision.threat_id
        self.threat_until[threat] = decision.until_unix_s
        for key in [k for k in self.schedule if k[0] == threat]:
            del self.schedule[key]
        for area_np, at_np in zip(decision.area_ids, decision.alert_at_unix_s, strict=True):
            area, alert_at = int(area_np), float(at_np)
            stage: AreaStage = "alert" if alert_at <= self.now else "pre_alert"
            if stage == "pre_alert":
                self.schedule[(threat, area)] = alert_at
            current = self.areas.get(area)
            if current is not None:
                self._merge(area, current, threat, stage)
            else:
                self._add(area, threat, stage, decision.category)

    def _merge(self, area: int, current: AreaAlert, threat: str, stage: AreaStage) -> None:
        changes = self.touched(current.alert_id)
        if threat not in current.threats:
            current = replace(current, threats=current.threats | {threat})
            if area not in changes.pre_alert and area not in changes.alert:
                (changes.update if current.stage == "alert" else changes.pre_alert).add(area)
            self.join(current.alert_id, threat)
        if stage == "alert" and current.stage == "pre_alert":
            current = replace(current, stage="alert", since_unix_s=self.now)
            changes.pre_alert.discard(area)
            changes.update.discard(area)
            changes.alert.add(area)
        self.areas[area] = current

    def _add(self, area: int, threat: str, stage: AreaStage, category: Category) -> None:
        home = self.threat_alert.get(threat)
        alert_id = home if home in self.alerts else self.open_alert(category)
        if home not in self.alerts:
            self.threat_alert[threat] = alert_id
        self.join(alert_id, threat)
        self.areas[area] = AreaAlert(alert_id, stage, self.now, frozenset({threat}))
        getattr(self.touched(alert_id), stage).add(area)

    def raise_due(self) -> None:
        for key, alert_at in sorted(self.schedule.items()):
            if alert_at > self.now:
                continue
            del self.schedule[key]
            current = self.areas.get(key[1])
            if current is not None and key[0] in current.threats:
                self._merge(key[1], current, key[0], "alert")

    def area_until(self, area: AreaAlert) -> float:
        return max(self.threat_until.get(t, area.since_unix_s) for t in area.threats)

    def end_due(self) -> None:
        hold = self.config.hold_s
        for area, current in sorted(self.areas.items()):
            if self.now >= self.area_until(current) + hold:
                del self.areas[area]
                changes = self.touched(current.alert_id)
                for stage_set in (changes.pre_alert, changes.alert, changes.update):
                    stage_set.discard(area)
                changes.ended.add(area)
        open_ids = {a.alert_id for a in self.areas.values()}
        for alert_id in [a for a in self.alerts if a not in open_ids]:
            del self.alerts[alert_id]
        self.threat_alert = {t: a for t, a in self.threat_alert.items() if a in open_ids}
        live = {t for a in self.areas.values() for t in a.threats}
        self.threat_until = {t: u for t, u in self.threat_until.items() if t in live}
        self.schedule = {k: v for k, v in self.schedule.items() if k[0] in live}

    def events(self, closed: Mapping[str, AlertRecord]) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        hold = self.config.hold_s
        until: dict[str, float] = {}
        for area in self.areas.values():
            until[area.alert_id] = max(until.get(area.alert_id, -np.inf), self.area_until(area))
        for alert_id in self.order:
            record = self.alerts.get(alert_id) or closed[alert_id]
            changes = self.changes[alert_id]
            refs = (record.last_seq,) if record.last_seq else ()
            for stage in ("pre_alert", "alert", "update", "ended"):
                ids = sorted(getattr(changes, stage))
                if not ids:
                    continue
                expires = until[alert_id] + hold if alert_id in until else self.now
                out.append(self._event(record, stage, ids, expires, refs))
        return out

    def _event(
        self,
        record: AlertRecord,
        stage: Stage,
        ids: list[int],
        expires: float,
        refs: tuple[int, ...],
    ) -> AlertEvent:
        shelter = self.config.shelter_s
        return AlertEvent(
            id=record.alert_id,
            seq=0,
            category=record.category,
            stage=stage,
            areas=tuple(AlertArea(id=a, shelter_s=int(shelter.get(a, 0))) for a in ids),
            issued_at_unix_s=self.now,
            expires_at_unix_s=expires,
            source=record.sources,
            instructions=instructions_for(record.category, stage),
            references=refs,
        )

    def freeze(self) -> LifecycleState:
        return LifecycleState(
            config=self.config,
            areas=self.areas,
            alerts=self.alerts,
            threat_until=self.threat_until,
            threat_alert=self.threat_alert,
            schedule=self.schedule,
            next_alert=self.next_alert,
        )


def apply(
    state: LifecycleState, decisions: Sequence[ThreatDecision], now_unix_s: float
) -> tuple[LifecycleState, list[AlertEvent]]:
    """Apply one scan's decisions at ``now_unix_s``; return the new state and the new events.

    Call it at every scan (with an empty ``decisions`` when nothing was decided) so scheduled
    alerts and all-clears happen on time; :func:`next_due_unix_s` says when the next one is due.
    """
    work = _Work(state, now_unix_s)
    for decision in sorted(decisions, key=lambda d: d.threat_id):
        work.take(decision)
    work.raise_due()
    before = dict(work.alerts)
    work.end_due()
    return work.freeze(), work.events(before)


def record_stored(state: LifecycleState, stored: Sequence[AlertEvent]) -> LifecycleState:
    """Remember the ``seq`` the store gave each event, for the ``references`` of later events."""
    alerts = dict(state.alerts)
    for event in stored:
        if event.id in alerts:
            alerts[event.id] = replace(alerts[event.id], last_seq=event.seq)
    return replace(state, alerts=alerts)


def next_due_unix_s(state: LifecycleState) -> float | None:
    """The earliest time a scheduled alert or an all-clear falls due; None when nothing is open."""
    times = list(state.schedule.values())
    for area in state.areas.values():
        until = max(state.threat_until.get(t, area.since_unix_s) for t in area.threats)
        times.append(until + state.config.hold_s)
    return min(times) if times else None
