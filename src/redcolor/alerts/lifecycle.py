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
* Impact time windows: a decision's per-area window (earliest, latest predicted impact) is kept
  per area and threat; an area's window spans those of its threats, less any a later decision
  finds wholly past. Every ``pre_alert``/``alert``/``update`` event carries each named area's
  window (none for operator alerts and released areas). A window that moves alone is announced
  only when the countdown it gives (the earliest time, taken as now once it has passed) moves
  by more than :data:`WINDOW_STEP_S`, so a refined estimate each scan, or a drone already
  within reach, does not flood the channels: for a pre-alerted area either way (a
  ``pre_alert``, which sounds no siren), for a sheltering area only earlier (an ``update``,
  which sounds its sirens again: the danger comes sooner than announced). A sheltering area's
  countdown moving later is not announced: the one announced stays on the early, safe side,
  and its sirens are not re-sounded for a correction. A window first known is announced too.
* Every change is a new event. Per alert and call, in this order: ``pre_alert`` (areas entering
  pre-alert, or pre-alerted areas a further threat joined), ``alert`` (areas that must shelter
  now: new or raised from pre-alert), ``update`` (sheltering areas a further threat joined),
  ``ended`` (areas released). Each event lists only the areas it changes, so folding events in
  ``seq`` order (the stage of an area is that of the last event naming it, ``update`` keeping
  ``alert``) gives the state of every area. ``expires_at_unix_s`` is the expected end of the
  whole alert (the latest end of its areas) as of that event; ``references``
  holds the alert's latest stored ``seq``.

Operator commands (:mod:`redcolor.alerts.commands`) come after a call's decisions:

* A manual alert (``IssueAlert``) lives beside the threat-driven areas in its own mapping: the
  one-alert-per-area rule is for threats, so an earthquake alert may cover an area a rocket
  alert covers too. Its areas all share its stage; an update adds areas at that stage and
  removes areas with ``ended``; it ends by itself (``ended``, no hold) at its expiry, if it has
  one, and otherwise only by hand.
* Ending or cancelling an automatic alert releases its areas at once (``ended`` or
  ``cancelled``) and suppresses the threats it belongs to: their later decisions are ignored and
  their schedules dropped, so a live track does not re-open what a person ended. (A threat that
  belongs to another alert and only joined this one has this alert's areas excluded instead.)
  Removing areas from an automatic alert excludes those areas for its threats; adding areas
  shelters them (``alert``) until the alert's latest ``until`` plus the hold.
* ``cancelled`` releases like ``ended`` and says the alert was sent in error.
* Events a command causes carry the command's ``source`` (the people behind it); events of a
  manual alert carry its ``status`` (``exercise`` for a drill), and every text of an exercise
  (or of the ``drill`` category) begins with the EXERCISE mark of its language.

Events come out with ``seq = 0``; the store numbers them. Feed the stored events back with
:func:`record_stored` so later events can reference them. No clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import msgspec
import numpy as np

from redcolor.alerts.commands import (
    CancelAlert,
    Command,
    EndAlert,
    IssueAlert,
    ManualStage,
    OpenAlert,
    OpenArea,
    UpdateAlert,
)
from redcolor.alerts.instructions import instructions_for, marked_exercise
from redcolor.errors import ConflictError, InputError, NotFoundError
from redcolor.model import (
    LANGUAGES,
    STATUSES,
    AlertArea,
    AlertEvent,
    Category,
    Stage,
    Status,
    is_exercise,
)
from redcolor.warning.base import ThreatDecision

AreaStage = ManualStage
DEFAULT_HOLD_S = 600.0
WINDOW_STEP_S = 2.0
"""An area's announced impact countdown is corrected once it is off by more than this, seconds
(an assumption: about a scan period, below the shelter times' 15 s resolution)."""
Window = tuple[float, float]
"""An impact time window, (earliest, latest) Unix seconds."""


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """Settings of one lifecycle: shelter times per area, hold time and the alert id prefix."""

    shelter_s: Mapping[int, int]
    hold_s: float = DEFAULT_HOLD_S
    run_id: str = "run"


@dataclass(frozen=True, slots=True)
class AreaAlert:
    """An area under alert: which alert, at which stage, since when, until when, for whom;
    ``impacts`` the predicted impact window per threat that gave one, ``shown_earliest_unix_s``
    the earliest impact time last announced (None: none announced)."""

    alert_id: str
    stage: AreaStage
    since_unix_s: float
    until_unix_s: float
    threats: frozenset[str]
    impacts: Mapping[str, Window] = field(default_factory=dict)
    shown_earliest_unix_s: float | None = None

    @property
    def end_unix_s(self) -> float:
        """When the area's threats are over; the all-clear comes a hold time later."""
        return max(self.until_unix_s, self.since_unix_s)

    @property
    def impact_window(self) -> Window | None:
        """The area's window: from its threats' earliest to their latest (None: none known)."""
        return _span(self.impacts)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An open alert: category, every threat that joined it, its latest stored ``seq``."""

    alert_id: str
    category: Category
    sources: tuple[str, ...]
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An alert due later for one (threat, area): when, until when, in which category, with
    which predicted impact window."""

    alert_at_unix_s: float
    until_unix_s: float
    category: Category
    impact: Window | None = None


@dataclass(frozen=True, slots=True)
class ManualAlert:
    """An open alert an operator issued: its areas share ``stage``; ``instructions`` None means
    the prepared texts of its category; ``sources`` are those of the issuing command."""

    alert_id: str
    category: Category
    status: Status
    stage: AreaStage
    areas: frozenset[int]
    expires_at_unix_s: float | None
    sources: tuple[str, ...]
    instructions: Mapping[str, str] | None = None
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class LifecycleState:
    """Everything the lifecycle remembers between calls (immutable; each call returns a new one).

    ``manual`` holds the operators' alerts; ``suppressed`` the threats whose alert a person
    ended or cancelled; ``excluded`` per threat the areas a person took out of its alert.
    """

    config: LifecycleConfig
    areas: Mapping[int, AreaAlert] = field(default_factory=dict)
    alerts: Mapping[str, AlertRecord] = field(default_factory=dict)
    threat_alert: Mapping[str, str] = field(default_factory=dict)
    schedule: Mapping[str, Mapping[int, Scheduled]] = field(default_factory=dict)
    next_alert: int = 1
    manual: Mapping[str, ManualAlert] = field(default_factory=dict)
    suppressed: frozenset[str] = frozenset()
    excluded: Mapping[str, frozenset[int]] = field(default_factory=dict)


def initial_state(config: LifecycleConfig) -> LifecycleState:
    """A lifecycle with nothing active."""
    return LifecycleState(config=config)


@dataclass
class _Changes:
    pre_alert: set[int] = field(default_factory=set)
    alert: set[int] = field(default_factory=set)
    update: set[int] = field(default_factory=set)
    ended: set[int] = field(default_factory=set)


_Own = tuple[dict[str, Window], Window | None]
"""An area's impacts as one ``apply`` call changes them, and their span."""


class _Work:
    """Mutable copies of one state, changed by one ``apply`` call and frozen again at the end."""

    def __init__(self, state: LifecycleState, now_unix_s: float | None) -> None:
        self.config = state.config
        self.now: float = math.nan if now_unix_s is None else now_unix_s  # nan: checks only
        self.areas = dict(state.areas)
        self.alerts = dict(state.alerts)
        self.threat_alert = dict(state.threat_alert)
        self.schedule = dict(state.schedule)
        self.next_alert = state.next_alert
        self.manual = dict(state.manual)
        self.suppressed = set(state.suppressed)
        self.excluded = dict(state.excluded)
        self.changes: dict[str, _Changes] = {}
        self.new_for_category: dict[str, str] = {}
        self.order: list[str] = []
        # per area, the impacts dict this call made (pruned at now, so later merges of the call
        # change it in place instead of copying it) and its span: a salvo's threats all merging
        # into one area cost one copy a call, not one each
        self.own: dict[int, _Own] = {}

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
        if threat in self.suppressed:
            return
        excluded = self.excluded.get(threat, frozenset())
        later: dict[int, Scheduled] = {}
        for area, alert_at, window in zip(
            decision.area_ids.tolist(),
            decision.alert_at_unix_s.tolist(),
            _windows(decision),
            strict=True,
        ):
            if area in excluded:
                continue
            stage: AreaStage = "alert" if alert_at <= self.now else "pre_alert"
            if stage == "pre_alert":
                if math.isfinite(alert_at):
                    later[area] = Scheduled(
                        alert_at, decision.until_unix_s, decision.category, window
                    )
                if not decision.pre_alert:
                    continue
            current = self.areas.get(area)
            if current is not None:
                # a pre-alert keeps a pre-alerted area open; it never prolongs a shelter alert
                longer = decision.until_unix_s > current.until_unix_s
                if longer and (stage == "alert" or current.stage == "pre_alert"):
                    current = replace(current, until_unix_s=decision.until_unix_s)
                self._merge(area, current, threat, stage, window)
            else:
                self._add(area, threat, stage, decision.category, decision.until_unix_s, window)
        if later:
            self.schedule[threat] = later

    def _merge(
        self, area: int, current: AreaAlert, threat: str, stage: AreaStage, window: Window | None
    ) -> None:
        changes = self.touched(current.alert_id)
        impacts, span = self._own_impacts(area, current)
        # the threat's window replaces its last one
        replaced = impacts.pop(threat, None)
        if window is not None:
            impacts[threat] = window
        if (
            replaced is not None
            and span is not None
            and (replaced[0] == span[0] or replaced[1] == span[1])
        ):
            span = _span(impacts)
        elif window is not None:
            span = window if span is None else (min(span[0], window[0]), max(span[1], window[1]))
        if window is not None and window[1] < self.now:
            self.own.pop(area, None)  # wholly past already: the next merge drops it
        else:
            self.own[area] = impacts, span
        if impacts is not current.impacts:
            current = replace(current, impacts=impacts)
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
        named = area in changes.pre_alert or area in changes.alert or area in changes.update
        if not named and self._countdown_moved(current, span):
            (changes.update if current.stage == "alert" else changes.pre_alert).add(area)
        self.areas[area] = current

    def _own_impacts(self, area: int, current: AreaAlert) -> _Own:
        """The area's impacts as a dict this call may change, with their span: a copy without
        the windows wholly past (other threats' estimates that are over), made once a call."""
        own = self.own.get(area)
        if own is not None and own[0] is current.impacts:
            return own
        impacts = {t: w for t, w in current.impacts.items() if w[1] >= self.now}
        return impacts, _span(impacts)

    def _window(self, area: int, x: AreaAlert) -> Window | None:
        """``x.impact_window`` of area ``area`` (from this call's span when it has one)."""
        own = self.own.get(area)
        return own[1] if own is not None and own[0] is x.impacts else x.impact_window

    def _countdown_moved(self, area: AreaAlert, window: Window | None) -> bool:
        """Whether the area's impact countdown (its ``window``) moved by more than
        WINDOW_STEP_S since it was announced (either way for a pre-alerted area, only earlier
        for a sheltering one), or became known. A window lost is not announced: its impacts
        are past."""
        shown = area.shown_earliest_unix_s
        if window is None or shown is None:
            return window is not None
        moved_s = max(window[0], self.now) - max(shown, self.now)
        return moved_s < -WINDOW_STEP_S or (area.stage == "pre_alert" and moved_s > WINDOW_STEP_S)

    def _add(
        self,
        area: int,
        threat: str,
        stage: AreaStage,
        category: Category,
        until: float,
        window: Window | None,
    ) -> None:
        home = self.threat_alert.get(threat)
        alert_id = home if home in self.alerts else self.open_alert(category)
        if home not in self.alerts:
            self.threat_alert[threat] = alert_id
        self.join(alert_id, threat)
        impacts = {} if window is None else {threat: window}
        self.areas[area] = AreaAlert(alert_id, stage, self.now, until, frozenset({threat}), impacts)
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
                self._add(area, threat, "alert", item.category, item.until_unix_s, item.impact)
                continue
            if item.until_unix_s > current.until_unix_s:
                current = replace(current, until_unix_s=item.until_unix_s)
            self._merge(area, current, threat, "alert", item.impact)

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
                windows = {} if stage == "ended" else self._announce(ids)
                out.append(self._event(record, stage, ids, expires, refs, windows))
        return out

    def _announce(self, ids: list[int]) -> dict[int, Window | None]:
        """The windows of areas an event names, remembered as announced."""
        out: dict[int, Window | None] = {}
        for area in ids:
            x = self.areas[area]
            out[area] = window = self._window(area, x)
            shown = None if window is None else window[0]
            self.areas[area] = replace(x, shown_earliest_unix_s=shown)
        return out

    def _event(
        self,
        record: AlertRecord,
        stage: Stage,
        ids: list[int],
        expires: float,
        refs: tuple[int, ...],
        windows: Mapping[int, Window | None],
    ) -> AlertEvent:
        return self._make(
            record.alert_id,
            record.category,
            stage,
            frozenset(ids),
            expires,
            record.sources,
            None,
            refs,
            "actual",
            windows,
        )

    def freeze(self) -> LifecycleState:
        return LifecycleState(
            config=self.config,
            areas=self.areas,
            alerts=self.alerts,
            threat_alert=self.threat_alert,
            schedule=self.schedule,
            next_alert=self.next_alert,
            manual=self.manual,
            suppressed=frozenset(self.suppressed),
            excluded=self.excluded,
        )

    # ---- manual alerts and operator commands -----------------------------------------------

    def expire_manual(self) -> list[AlertEvent]:
        """End every manual alert whose expiry has come (no hold: the operator chose it)."""
        out = []
        for alert_id in sorted(self.manual):
            alert = self.manual[alert_id]
            expires = alert.expires_at_unix_s
            if expires is not None and self.now >= expires:
                del self.manual[alert_id]
                out.append(self._manual_event(alert, "ended", alert.areas, alert.sources, False))
        return out

    def check(self, command: Command, known: frozenset[int]) -> None:
        """Raise the error ``command`` would meet in this state; change nothing."""
        if isinstance(command, IssueAlert):
            _check_issue(command, known)
            expires = command.expires_at_unix_s
            if expires is not None and expires <= self.now:
                raise InputError("the expiry must lie ahead")
            if command.alert_id in self.manual or command.alert_id in self.alerts:
                raise ConflictError(f"alert {command.alert_id} exists already")
            return
        current = self._open_areas(command.alert_id)
        if isinstance(command, UpdateAlert):
            _check_known(command.add_area_ids | command.remove_area_ids, known)
            if both := command.add_area_ids & command.remove_area_ids:
                raise InputError(f"areas {sorted(both)} are both added and removed")
            _check_member(command.remove_area_ids, current, command.alert_id)
            added = command.add_area_ids - current
            if not added and not command.remove_area_ids:
                raise ConflictError(f"nothing to change in alert {command.alert_id}")
            if command.alert_id not in self.manual:
                for area in sorted(added):
                    if area in self.areas:
                        other = self.areas[area].alert_id
                        raise ConflictError(
                            f"area {area} is under alert {other} already; one threat alert per area"
                        )
        elif isinstance(command, EndAlert) and command.area_ids is not None:
            if not command.area_ids:
                raise InputError("give the areas to end, or none to end the whole alert")
            _check_known(command.area_ids, known)
            _check_member(command.area_ids, current, command.alert_id)

    def _open_areas(self, alert_id: str) -> frozenset[int]:
        if alert_id in self.manual:
            return self.manual[alert_id].areas
        if alert_id in self.alerts:
            return frozenset(a for a, x in self.areas.items() if x.alert_id == alert_id)
        raise NotFoundError(f"no open alert {alert_id}")

    def command(self, command: Command) -> list[AlertEvent]:
        """Carry out a checked command; return its events."""
        if isinstance(command, IssueAlert):
            alert = ManualAlert(
                command.alert_id,
                command.category,
                command.status,
                command.stage,
                command.area_ids,
                command.expires_at_unix_s,
                command.source,
                None if command.instructions is None else dict(command.instructions),
            )
            self.manual[alert.alert_id] = alert
            return [self._manual_event(alert, alert.stage, alert.areas, alert.sources, True)]
        if command.alert_id in self.manual:
            return self._manual_command(self.manual[command.alert_id], command)
        return self._automatic_command(command)

    def _manual_command(self, alert: ManualAlert, command: Command) -> list[AlertEvent]:
        src = command.source
        if isinstance(command, CancelAlert):
            del self.manual[alert.alert_id]
            return [self._manual_event(alert, "cancelled", alert.areas, src, False)]
        if isinstance(command, EndAlert):
            gone = alert.areas if command.area_ids is None else command.area_ids
            added: frozenset[int] = frozenset()
        else:
            assert isinstance(command, UpdateAlert)
            gone, added = command.remove_area_ids, command.add_area_ids - alert.areas
        after = replace(alert, areas=(alert.areas | added) - gone)
        if after.areas:
            self.manual[alert.alert_id] = after
        else:
            del self.manual[alert.alert_id]
        out = []
        if added:
            out.append(self._manual_event(alert, alert.stage, added, src, True))
        if gone:
            out.append(self._manual_event(alert, "ended", gone, src, bool(after.areas)))
        return out

    def _manual_event(
        self,
        alert: ManualAlert,
        stage: Stage,
        ids: frozenset[int],
        source: tuple[str, ...],
        still_open: bool,
    ) -> AlertEvent:
        own = alert.instructions is not None and stage in ("pre_alert", "alert")
        return self._make(
            alert.alert_id,
            alert.category,
            stage,
            ids,
            alert.expires_at_unix_s if still_open else self.now,
            source,
            dict(alert.instructions) if own and alert.instructions is not None else None,
            (alert.last_seq,) if alert.last_seq else (),
            alert.status,
        )

    def _automatic_command(self, command: Command) -> list[AlertEvent]:
        record = self.alerts[command.alert_id]
        current = self._open_areas(record.alert_id)
        out: list[AlertEvent] = []
        if isinstance(command, CancelAlert):
            gone, stage, added = current, "cancelled", frozenset[int]()
        elif isinstance(command, EndAlert):
            gone, stage = current if command.area_ids is None else command.area_ids, "ended"
            added = frozenset()
        else:
            assert isinstance(command, UpdateAlert)
            gone, stage = command.remove_area_ids, "ended"
            added = command.add_area_ids - current
        if added:
            until = max(self.areas[a].end_unix_s for a in current)
            for area in added:
                self.areas[area] = AreaAlert(record.alert_id, "alert", self.now, until, frozenset())
            out.append(self._automatic_event(record, "alert", added, command.source))
        for area in gone:
            del self.areas[area]
        if gone == current and not added:
            self._close_automatic(record, gone)
        else:
            self._exclude(record.sources, gone)
        if gone:
            out.append(self._automatic_event(record, stage, gone, command.source))
        return out

    def _close_automatic(self, record: AlertRecord, areas: frozenset[int]) -> None:
        """Forget a closed automatic alert; suppress the threats it is home to and exclude its
        areas for the others that joined it."""
        del self.alerts[record.alert_id]
        homed = {t for t in record.sources if self.threat_alert.get(t) == record.alert_id}
        for threat in homed:
            self.suppressed.add(threat)
            self.schedule.pop(threat, None)
            del self.threat_alert[threat]
        self._exclude(tuple(t for t in record.sources if t not in homed), areas)

    def _exclude(self, threats: Sequence[str], areas: frozenset[int]) -> None:
        if not areas:
            return
        for threat in threats:
            self.excluded[threat] = self.excluded.get(threat, frozenset()) | areas
            if threat in self.schedule:
                rest = {a: i for a, i in self.schedule[threat].items() if a not in areas}
                if rest:
                    self.schedule[threat] = rest
                else:
                    del self.schedule[threat]

    def _automatic_event(
        self, record: AlertRecord, stage: Stage, ids: frozenset[int], source: tuple[str, ...]
    ) -> AlertEvent:
        ends = [x.end_unix_s for x in self.areas.values() if x.alert_id == record.alert_id]
        expires = max(ends) + self.config.hold_s if ends else self.now
        refs = (record.last_seq,) if record.last_seq else ()
        return self._make(
            record.alert_id, record.category, stage, ids, expires, source, None, refs, "actual"
        )

    def _make(
        self,
        alert_id: str,
        category: Category,
        stage: Stage,
        ids: frozenset[int],
        expires: float | None,
        source: tuple[str, ...],
        instructions: dict[str, str] | None,
        refs: tuple[int, ...],
        status: Status,
        windows: Mapping[int, Window | None] | None = None,
    ) -> AlertEvent:
        shelter = self.config.shelter_s
        known = windows or {}
        event = AlertEvent(
            id=alert_id,
            seq=0,
            category=category,
            stage=stage,
            areas=tuple(_area(a, int(shelter.get(a, 0)), known.get(a)) for a in sorted(ids)),
            issued_at_unix_s=self.now,
            expires_at_unix_s=expires,
            source=source,
            instructions=instructions or instructions_for(category, stage),
            references=refs,
            status=status,
        )
        if is_exercise(event):
            event = msgspec.structs.replace(event, instructions=marked_exercise(event.instructions))
        return event


def _span(impacts: Mapping[str, Window]) -> Window | None:
    """From the earliest to the latest of ``impacts`` (None: none)."""
    if not impacts:
        return None
    windows = impacts.values()
    return min(w[0] for w in windows), max(w[1] for w in windows)


def _windows(decision: ThreatDecision) -> list[Window | None]:
    """A decision's window per area, in its area order (None where it gives none)."""
    n = decision.area_ids.size
    earliest, latest = decision.impact_earliest_unix_s, decision.impact_latest_unix_s
    if earliest is None or latest is None:
        return [None] * n
    return [
        (e, lt) if math.isfinite(e) and math.isfinite(lt) else None
        for e, lt in zip(earliest.tolist(), latest.tolist(), strict=True)
    ]


def _area(area_id: int, shelter_s: int, window: Window | None) -> AlertArea:
    """An event's area entry; its window to 0.1 s (the feeds need no finer)."""
    if window is None:
        return AlertArea(id=area_id, shelter_s=shelter_s)
    return AlertArea(area_id, shelter_s, round(window[0], 1), round(window[1], 1))


def _check_known(area_ids: frozenset[int], known: frozenset[int]) -> None:
    if unknown := area_ids - known:
        raise InputError(f"unknown area id(s) {sorted(unknown)[:10]}")


def _check_member(area_ids: frozenset[int], current: frozenset[int], alert_id: str) -> None:
    if outside := area_ids - current:
        raise InputError(f"area(s) {sorted(outside)[:10]} are not in alert {alert_id}")


def _check_issue(command: IssueAlert, known: frozenset[int]) -> None:
    if command.category in ("pre_alert", "all_clear"):
        raise InputError(f"a manual alert cannot be of category {command.category}; use a stage")
    if command.stage not in ("pre_alert", "alert"):
        raise InputError(f"a manual alert starts at stage pre_alert or alert, not {command.stage}")
    if command.status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    if not command.area_ids:
        raise InputError("a manual alert needs at least one area")
    _check_known(command.area_ids, known)
    expires = command.expires_at_unix_s
    if expires is not None and not math.isfinite(expires):
        raise InputError("the expiry must be a finite time, or none")
    if command.instructions is not None:
        given = command.instructions
        if set(given) != set(LANGUAGES) or not all(
            isinstance(t, str) and t.strip() for t in given.values()
        ):
            raise InputError(f"instructions need a text in each of {', '.join(LANGUAGES)}")


def apply(
    state: LifecycleState,
    decisions: Sequence[ThreatDecision],
    now_unix_s: float,
    commands: Sequence[Command] = (),
) -> tuple[LifecycleState, list[AlertEvent]]:
    """Apply one scan's decisions, then ``commands``, at ``now_unix_s``; return the new state
    and the new events.

    Call it at every scan (with an empty ``decisions`` when nothing was decided) so scheduled
    alerts and all-clears happen on time; :func:`next_due_unix_s` says when the next one is due.
    A command that fails :func:`check_command` (against the state its predecessors left; area
    ids known to the config's shelter times) raises its error and nothing is returned.
    """
    work = _Work(state, now_unix_s)
    for decision in sorted(decisions, key=lambda d: d.threat_id):
        work.take(decision)
    work.raise_due()
    before = dict(work.alerts)
    work.end_due()
    events = work.events(before)
    events.extend(work.expire_manual())
    known = frozenset(state.config.shelter_s)
    for command in commands:
        work.check(command, known)
        events.extend(work.command(command))
    return work.freeze(), events


def check_command(
    state: LifecycleState,
    command: Command,
    area_ids: frozenset[int],
    *,
    now_unix_s: float | None = None,
) -> None:
    """Raise NotFoundError (no open alert of that id), ConflictError (issue of an id in use,
    nothing to change, an area under another threat alert) or InputError (unknown area id,
    empty areas, bad category, stage, status or instructions; with ``now_unix_s``, an expiry
    not ahead of it) without changing ``state``; ``area_ids`` are the known areas."""
    _Work(state, now_unix_s).check(command, area_ids)


def open_alerts(state: LifecycleState) -> list[OpenAlert]:
    """Every open alert (automatic and manual), by id: what the operator console lists."""
    shelter = state.config.shelter_s
    areas: dict[str, list[OpenArea]] = {}
    ends: dict[str, float] = {}
    for area_id, x in sorted(state.areas.items()):
        areas.setdefault(x.alert_id, []).append(
            OpenArea(area_id, x.stage, int(shelter.get(area_id, 0)))
        )
        ends[x.alert_id] = max(ends.get(x.alert_id, -math.inf), x.end_unix_s)
    out = [
        OpenAlert(
            r.alert_id,
            r.category,
            "actual",
            False,
            tuple(areas.get(r.alert_id, ())),
            r.sources,
            ends[r.alert_id] + state.config.hold_s if r.alert_id in ends else None,
        )
        for r in state.alerts.values()
    ]
    out.extend(
        OpenAlert(
            m.alert_id,
            m.category,
            m.status,
            True,
            tuple(OpenArea(a, m.stage, int(shelter.get(a, 0))) for a in sorted(m.areas)),
            m.sources,
            m.expires_at_unix_s,
        )
        for m in state.manual.values()
    )
    return sorted(out, key=lambda a: a.alert_id)


def record_stored(state: LifecycleState, stored: Sequence[AlertEvent]) -> LifecycleState:
    """Remember the ``seq`` the store gave each event, for the ``references`` of later events."""
    alerts = dict(state.alerts)
    manual = dict(state.manual)
    for event in stored:
        if event.id in alerts:
            alerts[event.id] = replace(alerts[event.id], last_seq=event.seq)
        elif event.id in manual:
            manual[event.id] = replace(manual[event.id], last_seq=event.seq)
    return replace(state, alerts=alerts, manual=manual)


def next_due_unix_s(state: LifecycleState) -> float | None:
    """The earliest time a scheduled alert, an all-clear or a manual alert's expiry falls due;
    None when nothing is due (a manual alert without expiry never is: only a person ends it)."""
    times = [i.alert_at_unix_s for items in state.schedule.values() for i in items.values()]
    for area in state.areas.values():
        times.append(area.end_unix_s + state.config.hold_s)
    times.extend(
        m.expires_at_unix_s for m in state.manual.values() if m.expires_at_unix_s is not None
    )
    return min(times) if times else None
