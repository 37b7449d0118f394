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
schedules; an event without an expiry is left to whoever wrote it to end. The lifecycle keeps
one alert per area, so a foreign alert naming an area already under another alert takes the
area over: that area is then ended under the foreign alert's id only.

Times in a checkpoint are the store's (the events' clock). :class:`Clock` maps wall time to it,
for a simulation run at ``speed`` x real time, so a keeper that takes over gives the all-clears
when the run would have. Alert ids continue the checkpoint's counter, so they never repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import msgspec

from redcolor.alerts.lifecycle import (
    DEFAULT_HOLD_S,
    AlertRecord,
    AreaAlert,
    AreaStage,
    LifecycleConfig,
    LifecycleState,
    Scheduled,
)
from redcolor.model import AlertEvent, Category


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


class _Area(msgspec.Struct, frozen=True, array_like=True):
    area_id: int
    alert_id: str
    stage: AreaStage
    since_unix_s: float
    until_unix_s: float
    threats: tuple[str, ...]


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


class _Body(msgspec.Struct, frozen=True):
    run_id: str
    hold_s: float
    next_alert: int
    clock: Clock
    areas: tuple[_Area, ...]
    alerts: tuple[_Alert, ...]
    threat_alert: dict[str, str]
    schedule: tuple[_Due, ...]


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
            _Area(a, x.alert_id, x.stage, x.since_unix_s, x.until_unix_s, tuple(sorted(x.threats)))
            for a, x in sorted(state.areas.items())
        ),
        alerts=tuple(
            _Alert(r.alert_id, r.category, r.sources, r.last_seq) for r in state.alerts.values()
        ),
        threat_alert=dict(state.threat_alert),
        schedule=tuple(
            _Due(t, a, i.alert_at_unix_s, i.until_unix_s, i.category)
            for t, items in state.schedule.items()
            for a, i in items.items()
        ),
    )
    return _ENCODER.encode(body)


def decode(body: bytes, shelter_s: Mapping[int, int]) -> tuple[LifecycleState, Clock]:
    """The state and clock a checkpoint holds; ``shelter_s`` comes from the area data."""
    b = _DECODER.decode(body)
    schedule: dict[str, dict[int, Scheduled]] = {}
    for d in b.schedule:
        item = Scheduled(d.alert_at_unix_s, d.until_unix_s, d.category)
        schedule.setdefault(d.threat_id, {})[d.area_id] = item
    state = LifecycleState(
        config=LifecycleConfig(shelter_s, b.hold_s, b.run_id),
        areas={
            a.area_id: AreaAlert(
                a.alert_id, a.stage, a.since_unix_s, a.until_unix_s, frozenset(a.threats)
            )
            for a in b.areas
        },
        alerts={
            r.alert_id: AlertRecord(r.alert_id, r.category, r.sources, r.last_seq) for r in b.alerts
        },
        threat_alert=dict(b.threat_alert),
        schedule=schedule,
        next_alert=b.next_alert,
    )
    return state, b.clock


def checkpoint_clock(body: bytes, run_id: str) -> Clock | None:
    """The clock a checkpoint recorded, if run ``run_id`` wrote it (else None)."""
    b = _DECODER.decode(body)
    return b.clock if b.run_id == run_id else None


def shift(state: LifecycleState, offset_s: float) -> LifecycleState:
    """``state`` with every time moved by ``offset_s`` (scenario clock <-> store clock)."""
    if offset_s == 0.0:
        return state
    return replace(
        state,
        areas={
            a: replace(
                x, since_unix_s=x.since_unix_s + offset_s, until_unix_s=x.until_unix_s + offset_s
            )
            for a, x in state.areas.items()
        },
        schedule={
            t: {
                a: replace(
                    i,
                    alert_at_unix_s=i.alert_at_unix_s + offset_s,
                    until_unix_s=i.until_unix_s + offset_s,
                )
                for a, i in items.items()
            }
            for t, items in state.schedule.items()
        },
    )


def fold(state: LifecycleState, events: Iterable[AlertEvent]) -> LifecycleState:
    """Fold stored events (``seq`` order) into ``state`` conservatively (module docstring)."""
    hold = state.config.hold_s
    areas = dict(state.areas)
    alerts = dict(state.alerts)
    threat_alert = dict(state.threat_alert)
    next_alert = state.next_alert
    prefix = f"{state.config.run_id}-"
    for event in events:
        if event.id.startswith(prefix) and event.id[len(prefix) :].isdigit():
            next_alert = max(next_alert, int(event.id[len(prefix) :]) + 1)
        if event.stage == "ended":
            named = {a.id for a in event.areas}
            for area_id in [a for a, x in areas.items() if x.alert_id == event.id]:
                if not named or area_id in named:
                    del areas[area_id]
        elif event.expires_at_unix_s is not None:
            record = alerts.get(event.id) or AlertRecord(event.id, event.category, ())
            sources = record.sources + tuple(s for s in event.source if s not in record.sources)
            alerts[event.id] = replace(record, sources=sources, last_seq=event.seq)
            until = event.expires_at_unix_s - hold
            for source in event.source:
                threat_alert.setdefault(source, event.id)
            stage: AreaStage = "pre_alert" if event.stage == "pre_alert" else "alert"
            for area_id, x in list(areas.items()):
                if x.alert_id == event.id and x.until_unix_s < until:
                    areas[area_id] = replace(x, until_unix_s=until)
            for area in event.areas:
                x = areas.get(area.id)
                if x is None or x.alert_id != event.id:
                    x = AreaAlert(event.id, stage, event.issued_at_unix_s, until, frozenset())
                elif stage == "alert" and x.stage == "pre_alert":
                    x = replace(x, stage="alert", since_unix_s=event.issued_at_unix_s)
                longest = max(x.until_unix_s, until)
                threats = x.threats | set(event.source)
                areas[area.id] = replace(x, until_unix_s=longest, threats=threats)
        if event.id in alerts:
            alerts[event.id] = replace(alerts[event.id], last_seq=event.seq)
    open_ids = {x.alert_id for x in areas.values()}
    return replace(
        state,
        areas=areas,
        alerts={k: v for k, v in alerts.items() if k in open_ids},
        threat_alert={t: a for t, a in threat_alert.items() if a in open_ids},
        next_alert=next_alert,
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
