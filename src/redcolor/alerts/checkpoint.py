"""The lifecycle's memory across a restart: checkpoint encoding and the rebuild, a pure core.

Why a checkpoint and not the log alone
--------------------------------------
The log says what was announced, not everything the lifecycle remembers: an area's ``until``
grows silently as a threat's estimate moves, alerts scheduled for later are announced only when
due, and which threat belongs to which alert is implied only by ``source``. Folding the log back
would lose the schedules (an area due to shelter later would never be told to) and could end
areas early. So every lifecycle writer stores, in the same transaction as the events a step
produced, a compact msgspec encoding of :class:`~redcolor.alerts.lifecycle.LifecycleState`
(:meth:`~redcolor.alerts.store.SQLiteEventStore.append_checkpointed`): the checkpoint and the
log can never disagree, and after a kill -9 the state is exactly the one after the last stored
event. A step that changes the state without an event writes the checkpoint alone.

:func:`rebuild` takes that checkpoint and folds in, conservatively, any event stored after it by
a writer that keeps no checkpoint (an older version, a hand-written event); with no checkpoint
at all it folds the whole log that way. The conservative fold holds every area of an open alert
until that alert's last ``expires_at_unix_s`` (never sooner than announced) and knows of no
schedules; an event without an expiry is left to whoever wrote it to end. The impact window an
event names for an area is kept as its threats' (``source``) and as announced. The lifecycle keeps
one alert per area, so a foreign alert naming an area already under another alert takes the
area over: that area is then ended under the foreign alert's id only.

Operators' alerts, suppressed threats and excluded areas are in the checkpoint too. The
conservative fold recognises an operator-made event by its ``source`` (``operator:<name>``): one
of an alert the state does not know opens a manual alert (its expiry the event's, None kept
open), and an operator's ``ended``/``cancelled`` of a threat alert suppresses that alert's
threats when it closes it, or excludes the areas it names. Operator sources never become
threats.

Times in a checkpoint are the store's (the events' clock). :class:`Clock` maps wall time to it,
for a simulation run at ``speed`` x real time, so a keeper that takes over gives the all-clears
when the run would have. Alert ids continue the checkpoint's counter, so they never repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import msgspec

from redcolor.alerts.commands import is_operator_source
from redcolor.alerts.lifecycle import (
    DEFAULT_HOLD_S,
    AlertRecord,
    AreaAlert,
    AreaStage,
    LifecycleConfig,
    LifecycleState,
    ManualAlert,
    Scheduled,
    Window,
)
from redcolor.model import RELEASES, AlertEvent, Category, Status


class Clock(msgspec.Struct, frozen=True):
    """Lifecycle time as a function of wall time: ``origin + (wall - wall_origin) * speed``.

    The identity (the default) for anything running in real time.
    """

    wall_origin_unix_s: float = 0.0
    origin_unix_s: float = 0.0
    speed: float = 1.0

    def now(self, wall_unix_s: float) -> float:
        return self.origin_unix_s + (wall_unix_s - self.wall_origin_unix_s) * self.speed

    def wall(self, t_unix_s: float) -> float:
        """The wall time at which lifecycle time ``t_unix_s`` comes."""
        return self.wall_origin_unix_s + (t_unix_s - self.origin_unix_s) / self.speed


class _Impact(msgspec.Struct, frozen=True, array_like=True):
    threat_id: str
    earliest_unix_s: float
    latest_unix_s: float


class _Area(msgspec.Struct, frozen=True, array_like=True):
    area_id: int
    alert_id: str
    stage: AreaStage
    since_unix_s: float
    until_unix_s: float
    threats: tuple[str, ...]
    # since issue 16 (defaults: checkpoints of older versions still decode); ``impacts`` is
    # only read (the first versions wrote the windows as structs), ``windows`` is written: a
    # map msgspec encodes whole, which in a salvo's checkpoints is most of the state
    impacts: tuple[_Impact, ...] = ()
    shown_earliest_unix_s: float | None = None
    windows: dict[str, Window] = {}


class _Alert(msgspec.Struct, frozen=True, array_like=True):
    alert_id: str
    category: Category
    sources: tuple[str, ...]
    last_seq: int


class _Due(msgspec.Struct, frozen=True, array_like=True):
    threat_id: str
    area_id: int
    alert_at_unix_s: float
    until_unix_s: float
    category: Category
    impact: Window | None = None  # since issue 16


class _Manual(msgspec.Struct, frozen=True, array_like=True):
    alert_id: str
    category: Category
    status: Status
    stage: AreaStage
    areas: tuple[int, ...]
    expires_at_unix_s: float | None
    sources: tuple[str, ...]
    instructions: dict[str, str] | None
    last_seq: int


class _Body(msgspec.Struct, frozen=True):
    run_id: str
    hold_s: float
    next_alert: int
    clock: Clock
    areas: tuple[_Area, ...]
    alerts: tuple[_Alert, ...]
    threat_alert: dict[str, str]
    schedule: tuple[_Due, ...]
    # since issue 13 (defaults: checkpoints of older versions still decode)
    manual: tuple[_Manual, ...] = ()
    suppressed: tuple[str, ...] = ()
    excluded: dict[str, tuple[int, ...]] = {}


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(_Body)


def encode(state: LifecycleState, clock: Clock) -> bytes:
    """The checkpoint body of ``state`` (msgpack; shelter times are not kept: they are data)."""
    body = _Body(
        run_id=state.config.run_id,
        hold_s=state.config.hold_s,
        next_alert=state.next_alert,
        clock=clock,
        areas=tuple(
            _Area(
                a,
                x.alert_id,
                x.stage,
                x.since_unix_s,
                x.until_unix_s,
                tuple(x.threats),
                (),
                x.shown_earliest_unix_s,
                x.impacts,  # type: ignore[arg-type]  # a Mapping; encoded as is, never kept
            )
            for a, x in sorted(state.areas.items())
        ),
        alerts=tuple(
            _Alert(r.alert_id, r.category, r.sources, r.last_seq) for r in state.alerts.values()
        ),
        threat_alert=dict(state.threat_alert),
        schedule=tuple(
            _Due(t, a, i.alert_at_unix_s, i.until_unix_s, i.category, i.impact)
            for t, items in state.schedule.items()
            for a, i in items.items()
        ),
        manual=tuple(
            _Manual(
                m.alert_id,
                m.category,
                m.status,
                m.stage,
                tuple(sorted(m.areas)),
                m.expires_at_unix_s,
                m.sources,
                None if m.instructions is None else dict(m.instructions),
                m.last_seq,
            )
            for m in state.manual.values()
        ),
        suppressed=tuple(sorted(state.suppressed)),
        excluded={t: tuple(sorted(a)) for t, a in state.excluded.items()},
    )
    return _ENCODER.encode(body)


def decode(body: bytes, shelter_s: Mapping[int, int]) -> tuple[LifecycleState, Clock]:
    """The state and clock a checkpoint holds; ``shelter_s`` comes from the area data."""
    b = _DECODER.decode(body)
    schedule: dict[str, dict[int, Scheduled]] = {}
    for d in b.schedule:
        item = Scheduled(d.alert_at_unix_s, d.until_unix_s, d.category, d.impact)
        schedule.setdefault(d.threat_id, {})[d.area_id] = item
    state = LifecycleState(
        config=LifecycleConfig(shelter_s, b.hold_s, b.run_id),
        areas={
            a.area_id: AreaAlert(
                a.alert_id,
                a.stage,
                a.since_unix_s,
                a.until_unix_s,
                frozenset(a.threats),
                _windows(a),
                a.shown_earliest_unix_s,
            )
            for a in b.areas
        },
        alerts={
            r.alert_id: AlertRecord(r.alert_id, r.category, r.sources, r.last_seq) for r in b.alerts
        },
        threat_alert=dict(b.threat_alert),
        schedule=schedule,
        next_alert=b.next_alert,
        manual={
            m.alert_id: ManualAlert(
                m.alert_id,
                m.category,
                m.status,
                m.stage,
                frozenset(m.areas),
                m.expires_at_unix_s,
                m.sources,
                m.instructions,
                m.last_seq,
            )
            for m in b.manual
        },
        suppressed=frozenset(b.suppressed),
        excluded={t: frozenset(a) for t, a in b.excluded.items()},
    )
    return state, b.clock


def checkpoint_clock(body: bytes, run_id: str) -> Clock | None:
    """The clock a checkpoint recorded, if run ``run_id`` wrote it (else None)."""
    b = _DECODER.decode(body)
    return b.clock if b.run_id == run_id else None


def _windows(area: _Area) -> dict[str, Window]:
    """An area's impact windows, written by this version or by the first ones with windows."""
    return {i.threat_id: (i.earliest_unix_s, i.latest_unix_s) for i in area.impacts} | area.windows


def shift(state: LifecycleState, offset_s: float) -> LifecycleState:
    """``state`` with every time moved by ``offset_s`` (scenario clock <-> store clock)."""
    if offset_s == 0.0:
        return state

    def moved(window: Window | None) -> Window | None:
        return None if window is None else (window[0] + offset_s, window[1] + offset_s)

    return replace(
        state,
        areas={
            a: replace(
                x,
                since_unix_s=x.since_unix_s + offset_s,
                until_unix_s=x.until_unix_s + offset_s,
                impacts={t: (w[0] + offset_s, w[1] + offset_s) for t, w in x.impacts.items()},
                shown_earliest_unix_s=None
                if x.shown_earliest_unix_s is None
                else x.shown_earliest_unix_s + offset_s,
            )
            for a, x in state.areas.items()
        },
        schedule={
            t: {
                a: replace(
                    i,
                    alert_at_unix_s=i.alert_at_unix_s + offset_s,
                    until_unix_s=i.until_unix_s + offset_s,
                    impact=moved(i.impact),
                )
                for a, i in items.items()
            }
            for t, items in state.schedule.items()
        },
        manual={
            k: replace(
                m,
                expires_at_unix_s=None
                if m.expires_at_unix_s is None
                else m.expires_at_unix_s + offset_s,
            )
            for k, m in state.manual.items()
        },
    )


def fold(state: LifecycleState, events: Iterable[AlertEvent]) -> LifecycleState:
    """Fold stored events (``seq`` order) into ``state`` conservatively (module docstring)."""
    f = _Fold(state)
    for event in events:
        f.event(event)
    return f.freeze()


class _Fold:
    """Mutable copies of a state while :func:`fold` walks the log."""

    def __init__(self, state: LifecycleState) -> None:
        self.state = state
        self.hold = state.config.hold_s
        self.areas = dict(state.areas)
        self.alerts = dict(state.alerts)
        self.threat_alert = dict(state.threat_alert)
        self.next_alert = state.next_alert
        self.manual = dict(state.manual)
        self.suppressed = set(state.suppressed)
        self.excluded = dict(state.excluded)
        self.prefix = f"{state.config.run_id}-"

    def event(self, event: AlertEvent) -> None:
        prefix = self.prefix
        if event.id.startswith(prefix) and event.id[len(prefix) :].isdigit():
            self.next_alert = max(self.next_alert, int(event.id[len(prefix) :]) + 1)
        by_hand = is_operator_source(event.source)
        threat_alert = event.id in self.alerts or any(
            x.alert_id == event.id for x in self.areas.values()
        )
        if event.id in self.manual or (by_hand and not threat_alert):
            self._manual(event)
            return
        named = {a.id for a in event.areas}
        if event.stage in RELEASES:
            mine = {a for a, x in self.areas.items() if x.alert_id == event.id}
            gone = mine if not named else mine & named
            for area_id in gone:
                del self.areas[area_id]
            if by_hand and event.id in self.alerts:
                self._by_hand(self.alerts[event.id], gone, closed=gone == mine)
        elif event.expires_at_unix_s is not None:
            self._threat_event(event, by_hand)
        if event.id in self.alerts:
            self.alerts[event.id] = replace(self.alerts[event.id], last_seq=event.seq)

    def _threat_event(self, event: AlertEvent, by_hand: bool) -> None:
        assert event.expires_at_unix_s is not None
        threats = () if by_hand else event.source
        record = self.alerts.get(event.id) or AlertRecord(event.id, event.category, ())
        sources = record.sources + tuple(s for s in threats if s not in record.sources)
        self.alerts[event.id] = replace(record, sources=sources, last_seq=event.seq)
        until = event.expires_at_unix_s - self.hold
        for source in threats:
            self.threat_alert.setdefault(source, event.id)
        stage: AreaStage = "pre_alert" if event.stage == "pre_alert" else "alert"
        for area_id, x in list(self.areas.items()):
            if x.alert_id == event.id and x.until_unix_s < until:
                self.areas[area_id] = replace(x, until_unix_s=until)
        for area in event.areas:
            x = self.areas.get(area.id)
            if x is None or x.alert_id != event.id:
                x = AreaAlert(event.id, stage, event.issued_at_unix_s, until, frozenset())
            elif stage == "alert" and x.stage == "pre_alert":
                x = replace(x, stage="alert", since_unix_s=event.issued_at_unix_s)
            longest = max(x.until_unix_s, until)
            impacts = dict(x.impacts)
            early, late = area.impact_earliest_unix_s, area.impact_latest_unix_s
            if early is not None and late is not None:
                impacts.update({t: (early, late) for t in threats})
            self.areas[area.id] = replace(
                x,
                until_unix_s=longest,
                threats=x.threats | set(threats),
                impacts=impacts,
                shown_earliest_unix_s=early,
            )

    def _by_hand(self, record: AlertRecord, gone: set[int], *, closed: bool) -> None:
        """An operator released areas of a threat alert: keep its threats off them (all of
        them, when the alert is closed: the threats it is home to are suppressed)."""
        homed = {t for t in record.sources if self.threat_alert.get(t) == record.alert_id}
        for threat in record.sources:
            if closed and threat in homed:
                self.suppressed.add(threat)
            else:
                self.excluded[threat] = self.excluded.get(threat, frozenset()) | gone

    def _manual(self, event: AlertEvent) -> None:
        named = frozenset(a.id for a in event.areas)
        alert = self.manual.get(event.id)
        if event.stage in RELEASES:
            if alert is not None:
                rest = alert.areas - named if named else frozenset()
                if rest:
                    self.manual[event.id] = replace(alert, areas=rest, last_seq=event.seq)
                else:
                    del self.manual[event.id]
            return
        if alert is None:
            stage: AreaStage = "pre_alert" if event.stage == "pre_alert" else "alert"
            alert = ManualAlert(
                event.id,
                event.category,
                event.status,
                stage,
                frozenset(),
                event.expires_at_unix_s,
                event.source,
                dict(event.instructions),
            )
        elif event.stage == "alert" and alert.stage == "pre_alert":
            alert = replace(alert, stage="alert")
        self.manual[event.id] = replace(alert, areas=alert.areas | named, last_seq=event.seq)

    def freeze(self) -> LifecycleState:
        open_ids = {x.alert_id for x in self.areas.values()}
        return replace(
            self.state,
            areas=self.areas,
            alerts={k: v for k, v in self.alerts.items() if k in open_ids},
            threat_alert={t: a for t, a in self.threat_alert.items() if a in open_ids},
            next_alert=self.next_alert,
            manual=self.manual,
            suppressed=frozenset(self.suppressed),
            excluded=self.excluded,
        )


def rebuild(
    shelter_s: Mapping[int, int],
    body: bytes | None,
    events_after: Iterable[AlertEvent],
    *,
    hold_s: float = DEFAULT_HOLD_S,
    run_id: str = "run",
) -> tuple[LifecycleState, Clock]:
    """The lifecycle after a restart: the checkpoint ``body`` (None: there is none; then
    ``hold_s`` and ``run_id`` configure the empty state) with ``events_after`` (the events
    stored after it) folded in conservatively."""
    if body is None:
        state, clock = LifecycleState(LifecycleConfig(shelter_s, hold_s, run_id)), Clock()
    else:
        state, clock = decode(body, shelter_s)
    return fold(state, events_after), clock
