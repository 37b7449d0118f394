"""Home Front Command style feeds, so existing apps and integrations read redcolor unchanged.

Formats as REFERENCE.md describes the public feed (``/warningMessages/alert/Alerts.json`` and
``/warningMessages/alert/History/AlertsHistory.json``): the live file is one JSON object while
alerts are active and an empty body when none is; the history file is a JSON list, newest first,
``alertDate`` in Israel local time, one row per area, capped at 3,000 rows as the original is.

The Hebrew titles are the ones the public feed shows for each kind of alert. Where redcolor has a
category the public feed has no live ``cat`` for (``general``, ``drill``), the nearest published
code is used (``2`` general, ``101`` the first drill code) — an assumption, labelled here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from redcolor.channels.active import ActiveArea
from redcolor.model import AlertEvent

ISRAEL_TZ = ZoneInfo("Asia/Jerusalem")
HISTORY_CAP_ROWS = 3000

LIVE_CAT: dict[str, str] = {
    "missiles": "1",
    "general": "2",
    "earthquake": "3",
    "radiological": "4",
    "tsunami": "5",
    "hostile_aircraft": "6",
    "hazmat": "7",
    "pre_alert": "10",
    "all_clear": "10",
    "infiltration": "13",
    "drill": "101",
}
HISTORY_CATEGORY: dict[str, int] = {
    "missiles": 1,
    "hostile_aircraft": 2,
    "general": 4,
    "earthquake": 7,
    "radiological": 9,
    "infiltration": 10,
    "tsunami": 11,
    "hazmat": 12,
    "all_clear": 13,
    "pre_alert": 14,
    "drill": 15,
}
TITLE_HE: dict[str, str] = {
    "missiles": "ירי רקטות וטילים",
    "hostile_aircraft": "חדירת כלי טיס עוין",
    "earthquake": "רעידת אדמה",
    "radiological": "חשש לאירוע רדיולוגי",
    "tsunami": "חשש לצונאמי",
    "hazmat": "חשש לאירוע חומרים מסוכנים",
    "infiltration": "חדירת מחבלים",
    "general": "התרעה",
    "drill": "תרגיל",
    "pre_alert": "בדקות הקרובות צפויות להתקבל התרעות באזורך",
    "all_clear": "האירוע הסתיים",
}
DESC_HE = "היכנסו למרחב המוגן ושהו בו 10 דקות"
PRE_ALERT_DESC_HE = "על תושבי האזורים הבאים לשפר את המיקום למיגון המיטבי בקרבתך"

AreaValue = Callable[[int], str]
"""Maps an area id to the Hebrew ``value`` string the feed carries."""


class LiveAlert(msgspec.Struct, frozen=True):
    id: str
    cat: str
    title: str
    data: list[str]
    desc: str


class HistoryRow(msgspec.Struct, frozen=True):
    alertDate: str  # field name fixed by the public feed
    title: str
    data: str
    category: int


def _kind(category: str, stage: str) -> str:
    """The feed's notion of the message: pre-alert, all-clear or the threat category."""
    if stage == "pre_alert" or category == "pre_alert":
        return "pre_alert"
    if stage == "ended" or category == "all_clear":
        return "all_clear"
    return category


def live_file(active: Sequence[ActiveArea], area_value: AreaValue) -> bytes:
    """The live file body (UTF-8 JSON), or ``b""`` when nothing is active.

    Areas under alert (stage ``alert``/``update``) take precedence: the file then lists exactly
    those areas with the category of the newest of them. With only pre-alerts active it lists the
    pre-alerted areas under ``cat`` 10. ``id`` is the newest contributing ``seq`` (digits), so it
    changes exactly when the content does. ``desc`` is the feed's standard instruction (the
    public feed's fixed text, not the event's own instructions).
    """
    alerting = [a for a in active if a.stage != "pre_alert"]
    shown = alerting or list(active)
    if not shown:
        return b""
    newest = max(shown, key=lambda a: a.seq)
    kind = _kind(newest.category, newest.stage)
    desc = PRE_ALERT_DESC_HE if kind == "pre_alert" else DESC_HE
    body = LiveAlert(
        id=str(newest.seq),
        cat=LIVE_CAT[kind],
        title=TITLE_HE[kind],
        data=[area_value(a.area_id) for a in shown],
        desc=desc,
    )
    return msgspec.json.encode(body)


def israel_local(t_unix_s: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Israel local time (IST/IDT), as the history file writes it."""
    moment = datetime.fromtimestamp(t_unix_s, tz=UTC).astimezone(ISRAEL_TZ)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def history_rows(
    events_newest_first: Iterable[AlertEvent], area_value: AreaValue
) -> list[HistoryRow]:
    """One row per (event, area), newest event first, at most :data:`HISTORY_CAP_ROWS`."""
    rows: list[HistoryRow] = []
    for event in events_newest_first:
        kind = _kind(event.category, event.stage)
        date = israel_local(event.issued_at_unix_s)
        for area in event.areas:
            rows.append(
                HistoryRow(date, TITLE_HE[kind], area_value(area.id), HISTORY_CATEGORY[kind])
            )
            if len(rows) == HISTORY_CAP_ROWS:
                return rows
    return rows


def history_file(events_newest_first: Iterable[AlertEvent], area_value: AreaValue) -> bytes:
    """The history file body (UTF-8 JSON list)."""
    return msgspec.json.encode(history_rows(events_newest_first, area_value))
