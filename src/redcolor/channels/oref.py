"""Home Front Command style feeds, so existing apps and integrations read redcolor unchanged.

Formats as REFERENCE.md describes the public feed (``/warningMessages/alert/Alerts.json`` and
``/warningMessages/alert/History/AlertsHistory.json``): the live file is one JSON object while
alerts are active and an empty body when none is; the history file is a JSON list, newest first,
``alertDate`` in Israel local time, one row per area, capped at 3,000 rows as the original is.

The Hebrew titles are the ones the public feed shows for each kind of alert.

Exercises never appear under a real category: an exercise event (``status`` ``exercise``, or the
``drill`` category) is shown under the feed's drill code of its category. The codes are those
the open-source clients of the feed decode (eladnava/pikud-haoref-api ``lib/alerts.js`` at commit
03e9a78a, ``getAlertTypeByCategory`` and ``getAlertTypeByHistoricalCategory``; REFERENCE.md:
live 101-113, history 15-28): the drill code is the real code plus 100 in the live file (101
missiles ... 107 hazardous materials, 113 infiltration, 102 general) and 15-26 in the history.
The feed has no drill code for a pre-alert or an all-clear: those of an exercise go under the
general drill code (an assumption, labelled here), so no client takes them for real ones. The
drill titles are "תרגיל - " and the real title (an assumption: the feed's own drill titles are
not published). A ``cancelled`` event releases its areas like an all-clear (they leave the live
file at once) and its history rows say the alert was sent in error, under the event-ended code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from redcolor.channels.active import ActiveArea
from redcolor.model import RELEASES, AlertEvent, is_exercise

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
    "drill": "102",
}
DRILL_LIVE_CAT: dict[str, str] = {
    "missiles": "101",
    "general": "102",
    "earthquake": "103",
    "radiological": "104",
    "tsunami": "105",
    "hostile_aircraft": "106",
    "hazmat": "107",
    "infiltration": "113",
}
"""The live file's drill code per kind; kinds not listed use the general drill ``102``."""
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
    "drill": 17,
}
DRILL_HISTORY_CATEGORY: dict[str, int] = {
    "missiles": 15,
    "hostile_aircraft": 16,
    "general": 17,
    "earthquake": 21,
    "radiological": 23,
    "infiltration": 24,
    "tsunami": 25,
    "hazmat": 26,
}
"""The history file's drill code per kind; kinds not listed use the general drill ``17``."""
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
SENT_IN_ERROR_TITLE_HE = "ההתרעה נשלחה בטעות"
DRILL_PREFIX_HE = "תרגיל - "
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
    if stage in RELEASES or category == "all_clear":
        return "all_clear"
    return category


def _cat(kind: str, exercise: bool) -> str:
    return DRILL_LIVE_CAT.get(kind, DRILL_LIVE_CAT["general"]) if exercise else LIVE_CAT[kind]


def _title(kind: str, exercise: bool) -> str:
    return DRILL_PREFIX_HE + TITLE_HE[kind] if exercise and kind != "drill" else TITLE_HE[kind]


def _history_category(kind: str, exercise: bool) -> int:
    if exercise:
        return DRILL_HISTORY_CATEGORY.get(kind, DRILL_HISTORY_CATEGORY["general"])
    return HISTORY_CATEGORY[kind]


def live_file(active: Sequence[ActiveArea], area_value: AreaValue) -> bytes:
    """The live file body (UTF-8 JSON), or ``b""`` when nothing is active.

    Real alerts take precedence over exercises (the file has one category, and an exercise
    must never be listed under a real one), then areas under alert (stage ``alert``/``update``)
    over pre-alerts: the file lists exactly the areas of the first of those groups that is not
    empty, with the category of the newest of them (an exercise's drill code). Pre-alerts alone
    are listed under ``cat`` 10. ``id`` is the newest contributing ``seq`` (digits), so it
    changes exactly when the content does. ``desc`` is the feed's standard instruction (the
    public feed's fixed text, not the event's own instructions).
    """
    real = [a for a in active if a.status != "exercise"]
    group = real or list(active)
    alerting = [a for a in group if a.stage != "pre_alert"]
    shown = alerting or group
    if not shown:
        return b""
    exercise = not real
    newest = max(shown, key=lambda a: a.seq)
    kind = _kind(newest.category, newest.stage)
    desc = PRE_ALERT_DESC_HE if kind == "pre_alert" else DESC_HE
    body = LiveAlert(
        id=str(newest.seq),
        cat=_cat(kind, exercise),
        title=_title(kind, exercise),
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
        exercise = is_exercise(event)
        title = _title(kind, exercise)
        if event.stage == "cancelled":
            title = (DRILL_PREFIX_HE if exercise else "") + SENT_IN_ERROR_TITLE_HE
        category = _history_category(kind, exercise)
        date = israel_local(event.issued_at_unix_s)
        for area in event.areas:
            rows.append(HistoryRow(date, title, area_value(area.id), category))
            if len(rows) == HISTORY_CAP_ROWS:
                return rows
    return rows


def history_file(events_newest_first: Iterable[AlertEvent], area_value: AreaValue) -> bytes:
    """The history file body (UTF-8 JSON list)."""
    return msgspec.json.encode(history_rows(events_newest_first, area_value))
