"""Which areas are under alert now: a fold over the event log, no clock, no I/O.

Stage semantics (DESIGN.md "Alert model"): ``pre_alert`` and ``alert`` open an alert over their
areas, ``update`` adds areas to it, ``ended`` is the all-clear for the areas it names (or for the
whole alert when it names none), and ``cancelled`` releases them the same way (the alert was sent
in error). Every event's ``expires_at_unix_s`` is the alert's end as of that event, a partial
release's included (the lifecycle computes it after the call's decisions, which may have
prolonged the remaining areas with no other event). An area may be under several alerts at
once (two threats); the view shows, per area, the most urgent entry (a real alert outranks an
exercise, an alert a pre-alert), then the newest.
An alert whose ``expires_at_unix_s`` has passed is no longer active.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from redcolor.model import RELEASES, AlertEvent, is_exercise

_RANK = {"pre_alert": 0, "alert": 1, "update": 1}


class ActiveArea(msgspec.Struct, frozen=True):
    """One area under alert, as ``GET /v1/alerts/active`` lists it (``status`` ``exercise``
    for a drill, which channels must never show as a real alert), with the predicted impact
    window the last event naming it gave (None: unknown)."""

    area_id: int
    alert_id: str
    stage: str
    category: str
    since_unix_s: float
    shelter_s: int
    seq: int
    status: str = "actual"
    impact_earliest_unix_s: float | None = None
    impact_latest_unix_s: float | None = None


@dataclass(slots=True)
class _Alert:
    expires_at_unix_s: float | None
    areas: dict[int, ActiveArea]


class ActiveAlerts:
    """The active alerts after applying events in ``seq`` order.

    Examples
    --------
    >>> from redcolor.model import AlertArea, AlertEvent
    >>> e = AlertEvent("a1", 1, "missiles", "alert", (AlertArea(7, 15),), 100.0, None, (), {})
    >>> view = ActiveAlerts()
    >>> view.apply(e)
    >>> [a.area_id for a in view.areas(now_unix_s=101.0)]
    [7]
    """

    def __init__(self) -> None:
        self._alerts: dict[str, _Alert] = {}
        self.last_seq = 0

    def apply(self, event: AlertEvent) -> None:
        """Fold one event in (events must come in ``seq`` order).

        Alerts that expired before this event was issued are forgotten here (log time, not the
        clock), so the view does not grow without bound.
        """
        self.last_seq = max(self.last_seq, event.seq)
        expired = [
            alert_id
            for alert_id, alert in self._alerts.items()
            if alert.expires_at_unix_s is not None
            and alert.expires_at_unix_s <= event.issued_at_unix_s
        ]
        for alert_id in expired:
            del self._alerts[alert_id]
        alert = self._alerts.get(event.id)
        if event.stage in RELEASES:
            if alert is None:
                return
            for area in event.areas:
                alert.areas.pop(area.id, None)
            if not event.areas or not alert.areas:
                del self._alerts[event.id]
            elif event.expires_at_unix_s is not None:
                # a partial end says when the rest ends too (a threat may have prolonged it)
                alert.expires_at_unix_s = event.expires_at_unix_s
            return
        if alert is None:
            alert = self._alerts[event.id] = _Alert(event.expires_at_unix_s, {})
        elif event.expires_at_unix_s is not None:
            alert.expires_at_unix_s = event.expires_at_unix_s
        for area in event.areas:
            before = alert.areas.get(area.id)
            since = event.issued_at_unix_s
            if before is not None and _RANK[before.stage] >= _RANK[event.stage]:
                since = before.since_unix_s
            alert.areas[area.id] = ActiveArea(
                area_id=area.id,
                alert_id=event.id,
                stage=event.stage,
                category=event.category,
                since_unix_s=since,
                shelter_s=area.shelter_s,
                seq=event.seq,
                status="exercise" if is_exercise(event) else "actual",
                impact_earliest_unix_s=area.impact_earliest_unix_s,
                impact_latest_unix_s=area.impact_latest_unix_s,
            )

    def apply_all(self, events: Iterable[AlertEvent]) -> None:
        for event in events:
            self.apply(event)

    def alert_areas(self, alert_id: str) -> list[ActiveArea]:
        """The areas of one alert as the log last left them, by area id, whatever the clock
        (what a CAP Update of that alert carries: it replaces the alert's earlier message)."""
        alert = self._alerts.get(alert_id)
        return [] if alert is None else [alert.areas[k] for k in sorted(alert.areas)]

    def alert_expires(self, alert_id: str) -> float | None:
        """When one alert stops being active, as the log last said it (None: no end given)."""
        alert = self._alerts.get(alert_id)
        return None if alert is None else alert.expires_at_unix_s

    def areas(self, now_unix_s: float) -> list[ActiveArea]:
        """One entry per active area, sorted by area id."""
        best: dict[int, ActiveArea] = {}
        for alert in self._alerts.values():
            if alert.expires_at_unix_s is not None and alert.expires_at_unix_s <= now_unix_s:
                continue
            for entry in alert.areas.values():
                cur = best.get(entry.area_id)
                if cur is None or _urgency(entry) > _urgency(cur):
                    best[entry.area_id] = entry
        return [best[k] for k in sorted(best)]


def _urgency(entry: ActiveArea) -> tuple[bool, int, int]:
    return entry.status != "exercise", _RANK[entry.stage], entry.seq
