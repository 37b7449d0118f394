"""Slow, readable reference of what the live map shows for each area (issue 7).

The page folds AlertEvents into per-area state in JavaScript (``static/js/alertstate.js``, driven
through ``static/js/history.js`` ``Replay.seek``). This module states the same rules one event
and one area at a time, from scratch for every query, so the browser's result can be compared
with it on random event sequences.

Rules
-----
* An area is *covered* by an alert from the first event of that alert naming it, until an
  ``ended`` or ``cancelled`` event of that alert names it (one naming no area ends all of the
  alert's).
* A cover's stage is ``alert`` once any ``alert`` event (or an ``update`` while the alert is at
  the alert stage) named the area; before that ``pre_alert``. An ``update`` adds areas at the
  alert's current stage: ``pre_alert`` while the alert has only pre-alerted, else ``alert``.
* The shelter countdown of a cover starts when the area first reaches the ``alert`` stage and
  runs for the area's ``shelter_s`` (never below 0).
* Covers of real alerts outrank covers of exercises (``status`` ``exercise`` or the ``drill``
  category): only when an area has no real cover do its exercise covers decide what it shows.
* An area shows ``alert`` if any (deciding) cover is at the alert stage (the soonest deadline
  wins), else ``pre_alert`` if covered, else ``ended`` for ``ended_hold_s`` after its last cover
  ended by an ``ended`` event, else nothing (a ``cancelled`` alert leaves no trace on the map).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Cover:
    stage: str
    since_s: float
    shelter_s: int
    exercise: bool = False


def view_at(
    events: list[dict], area_id: int, now_s: float, ended_hold_s: float
) -> tuple[str, float | None] | None:
    """(stage, remaining shelter s or None) the page should show for ``area_id`` at ``now_s``.

    Folds every event issued at or before ``now_s`` from scratch, in issue-time order (ties by
    seq) as the replay does; an event whose seq was already applied is skipped.
    """
    covers: dict[int, dict[str, Cover]] = {}  # area id -> alert id -> cover
    alert_stage: dict[str, str] = {}  # alert id -> "pre_alert" | "alert" | "ended"
    alert_areas: dict[str, set[int]] = {}  # every area an alert ever named
    ended_at_s: dict[int, float] = {}
    seen: set[int] = set()
    for event in sorted(events, key=lambda e: (e["issued_at_unix_s"], e["seq"])):
        if event["issued_at_unix_s"] > now_s or event["seq"] in seen:
            continue
        seen.add(event["seq"])
        alert_id, stage, t = event["id"], event["stage"], event["issued_at_unix_s"]
        named = {a["id"]: a["shelter_s"] for a in event["areas"]}
        current = alert_stage.setdefault(alert_id, "pre_alert")
        ever = alert_areas.setdefault(alert_id, set())
        exercise = event.get("status") == "exercise" or event["category"] == "drill"
        if stage in ("ended", "cancelled"):
            for area in named or set(ever):
                if alert_id in covers.get(area, {}):
                    del covers[area][alert_id]
                    if not covers[area] and stage == "ended":
                        ended_at_s[area] = t
            if not any(alert_id in covers.get(area, {}) for area in ever):
                alert_stage[alert_id] = "ended"
            continue
        if stage == "update":
            stage = "pre_alert" if current == "pre_alert" else "alert"
        if stage == "alert":
            alert_stage[alert_id] = "alert"
        elif current != "alert":
            alert_stage[alert_id] = "pre_alert"
        for area, shelter_s in named.items():
            ever.add(area)
            previous = covers.setdefault(area, {}).get(alert_id)
            if previous is None:
                covers[area][alert_id] = Cover(stage, t, shelter_s, exercise)
            elif previous.stage == "alert" or stage == "pre_alert":
                previous.shelter_s = shelter_s  # same stage, or the countdown already runs
                previous.exercise = exercise
            else:  # pre_alert -> alert: the countdown starts now
                covers[area][alert_id] = Cover("alert", t, shelter_s, exercise)
            ended_at_s.pop(area, None)
    mine = list(covers.get(area_id, {}).values())
    if mine:
        mine = [c for c in mine if not c.exercise] or mine
        alerting = [c for c in mine if c.stage == "alert"]
        if alerting:
            deadline = min(c.since_s + c.shelter_s for c in alerting)
            return "alert", max(0.0, deadline - now_s)
        return "pre_alert", None
    if area_id in ended_at_s and now_s - ended_at_s[area_id] < ended_hold_s:
        return "ended", None
    return None
