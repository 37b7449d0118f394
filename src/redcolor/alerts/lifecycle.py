"""The alert lifecycle as a pure core: ``apply(state, decisions, now) -> (state, events)``.

Rules
-----
* One active alert per area. A threat that endangers an area already under alert joins that
  alert (its ``source`` grows) instead of opening a second one.
* A threat's new areas go to the alert it first joined; threats with no alert yet open one new
  alert per category per call (a salvo seen in one scan is one alert).
* An area is never dropped before its all-clear. Its ``until`` is the latest ``until`` of any
  decision that named it (so a threat's later, smaller estimate never shortens it), except
  that a decision naming it only for a pre-alert does not prolong a shelter alert; it is
  ``ended`` at ``max(until, since) + hold`` (hold default 600 s): after the last threat to it is
  over, and never sooner than the hold after it was first warned.
* Alerts are scheduled: an area whose ``alert_at`` lies ahead is alerted at that time (the
  latest decision of the threat sets or cancels it), even if the track is lost in between. For
  long flights (``ThreatDecision.pre_alert``) it is pre-alerted meanwhile; otherwise it is not
  announced before its time. An infinite ``alert_at`` is a pre-alert with nothing scheduled.
* Every change is a new event. Per alert and call, in this order: ``pre_alert`` (areas entering
  pre-alert, or pre-alerted areas a further threat joined), ``alert`` (areas that must shelter
  now: new or raised from pre-alert), ``update`` (sheltering areas a further threat joined),
  ``ended`` (areas released). Each event lists only the areas it changes, so folding events in
  ``seq`` order (the stage of an area is that of the last event naming it, ``update`` keeping
  ``alert``) gives the state of every area. ``expires_at_unix_s`` is the expected end of the
  whole alert (the latest end of its areas) as of that event; ``references``
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
    """An area under alert: which alert, at which stage, since when, until when, for whom."""

    alert_id: str
    stage: AreaStage
    since_unix_s: float
    until_unix_s: float
    threats: frozenset[str]

    @property
    def end_unix_s(self) -> float:
        """When the area's threats are over; the all-clear comes a hold time later."""
        return max(self.until_unix_s, self.since_unix_s)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An open alert: category, every threat that joined it, its latest stored ``seq``."""

    alert_id: str
    category: Category
    sources: tuple[str, ...]
    last_seq: int = 0


@dataclass(frozen=True, slots=True, order=True)
class Scheduled:
    """An alert due later for one (threat, area): when, until when, in which category."""

    alert_at_unix_s: float
    until_unix_s: float
    category: Category


@dataclass(frozen=True, slots=True)
class LifecycleState:
    """Everything the lifecycle remembers between calls (immutable; each call returns a new one)."""

    config: LifecycleConfig
    areas: Mapping[int, AreaAlert] = field(default_factory=dict)
    alerts: Mapping[str, AlertRecord] = field(default_factory=dict)
    threat_alert: Mapping[str, str] = field(default_factory=dict)
    schedule: Mapping[str, Mapping[int, Scheduled]] = field(default_factory=dict)
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
        self.schedule.pop(threat, None)
        later: dict[int, Scheduled] = {}
        for area_np, at_np in zip(decision.area_ids, decision.alert_at_unix_s, strict=True):
            area, alert_at = int(area_np), float(at_np)
            stage: AreaStage = "alert" if alert_at <= self.now else "pre_alert"
            if stage == "pre_alert":
                if np.isfinite(alert_at):
                    later[area] = Scheduled(alert_at, decision.until_unix_s, decision.category)
                if not decision.pre_alert:
                    continue
            current = self.areas.get(area)
            if current is not None:
                # a pre-alert keeps a pre-alerted area open; it never prolongs a shelter alert
                longer = decision.until_unix_s > current.until_unix_s
                if longer and (stage == "alert" or current.stage == "pre_alert"):
                    current = replace(current, until_unix_s=decision.until_unix_s)
                self._merge(area, current, threat, stage)
            else:
                self._add(area, threat, stage, decision.category, decision.until_unix_s)
        if later:
            self.schedule[threat] = later

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

    def _add(
        self, area: int, threat: str, stage: AreaStage, category: Category, until: float
    ) -> None:
        home = self.threat_alert.get(threat)
        alert_id = home if home in self.alerts else self.open_alert(category)
        if home not in self.alerts:
            self.threat_alert[threat] = alert_id
        self.join(alert_id, threat)
        self.areas[area] = AreaAlert(alert_id, stage, self.now, until, frozenset({threat}))
        getattr(self.touched(alert_id), stage).add(area)

    def raise_due(self) -> None:
        due: list[tuple[str, int, Scheduled]] = []
        for threat, items in list(self.schedule.items()):
            if min(i.alert_at_unix_s for i in items.values()) > self.now:
                continue
            due.extend((threat, a, i) for a, i in items.items() if i.alert_at_unix_s <= self.now)
            rest = {a: i for a, i in items.items() if i.alert_at_unix_s > self.now}
            if rest:
                self.schedule[threat] = rest
            else:
                del self.schedule[threat]
        for threat, area, item in sorted(due, key=lambda d: (d[2].alert_at_unix_s, d[0], d[1])):
            current = self.areas.get(area)
            if current is None:
                self._add(area, threat, "alert", item.category, item.until_unix_s)
                continue
            if item.until_unix_s > current.until_unix_s:
                current = replace(current, until_unix_s=item.until_unix_s)
            self._merge(area, current, threat, "alert")

    def end_due(self) -> None:
        hold = self.config.hold_s
        ending = sorted(a for a, cur in self.areas.items() if self.now >= cur.end_unix_s + hold)
        if not ending:
            return
        for area in ending:
            current = self.areas.pop(area)
            changes = self.touched(current.alert_id)
            for stage_set in (changes.pre_alert, changes.alert, changes.update):
                stage_set.discard(area)
            changes.ended.add(area)
        open_ids = {a.alert_id for a in self.areas.values()}
        for alert_id in [a for a in self.alerts if a not in open_ids]:
            del self.alerts[alert_id]
        self.threat_alert = {t: a for t, a in self.threat_alert.items() if a in open_ids}

    def events(self, closed: Mapping[str, AlertRecord]) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        hold = self.config.hold_s
        until: dict[str, float] = {}
        for area in self.areas.values():
            until[area.alert_id] = max(until.get(area.alert_id, -np.inf), area.end_unix_s)
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
    times = [i.alert_at_unix_s for items in state.schedule.values() for i in items.values()]
    for area in state.areas.values():
        times.append(area.end_unix_s + state.config.hold_s)
    return min(times) if times else None
