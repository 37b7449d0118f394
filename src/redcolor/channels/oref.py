"""Home Front Command style feeds, so existing apps and integrations read redcolor unchanged.

Three files, in the shapes the public feed has (REFERENCE.md; the open-source clients cited below):

- the live file ``/warningMessages/alert/Alerts.json``: one JSON object while alerts are
  active, an empty body when none is (:func:`live_file`);
- the recent history ``/warningMessages/alert/History/AlertsHistory.json``: a JSON list, newest
  first, ``alertDate`` in Israel local time, one row per area, at most 3,000 rows
  (:func:`history_rows`);
- the archive ``/Shared/Ajax/GetAlarmsHistory.aspx``: a JSON list, newest first, one row per
  area with ``data, date, time, alertDate, category, category_desc, matrix_id, rid`` and names
  in the requested language (:func:`archive_rows`). The row shape and its types are those of the
  real endpoint's answers quoted by open clients: pyckle/oref-alerts
  ``oref-integration/src/test/resources/.../testHistory.json`` and its ``HistoryEvent`` record
  (``date`` ``dd.mm.yyyy``, ``time`` ``HH:MM:SS``, ``alertDate`` ISO 8601 local time rounded
  to the minute, ``category`` the history code, ``matrix_id`` the live code, ``rid`` an
  increasing counter), and the rows in eladnava/pikud-haoref-api pull request #35 (2025-06-14:
  category 14, matrix_id 10) and its 2026-03-09 comment (category 14 with the pre-alert text as
  ``category_desc``).

Category codes come from :data:`CATEGORY_CODES`, a table versioned by the date the real feed
started using them; :data:`SERVED_CODES_VERSION` is the one served. In June 2025 the feed moved
its early-warning and end codes (pikud-haoref-api #35 and 4.0.0, which renamed category 13
``earlyWarning`` to ``newsFlash``; amitfin/oref_alert #216, where a pre-alert shown under live
``cat`` 10 reached the history as 14; oref_alert's ``records_schema`` classing history 14 as
pre-alert and 13 as end): before, history 13 was the early warning and 14 the news flash; since,
14 is the pre-alert ("בדקות הקרובות צפויות להתקבל התרעות באזורך") and 13 the end of an event
("האירוע הסתיים"). The live file shows both under ``cat`` 10, told apart by ``title`` (the real
feed does the same: pikud-haoref-api #36). The drill codes follow the site's own list (oref_alert
``categories.py``, from alertCategories.json): live 101-113 (the real code plus 100) and
history 15-28, 27 the drill of 13 and 28 the drill of 14.

Exercises never appear under a real category: an exercise event (``status`` ``exercise``, or the
``drill`` category) is shown under the drill code of its kind. The feed has no live drill code
for a pre-alert or an all-clear: those of an exercise go under the general drill code 102 (an
assumption, labelled here), so no client takes them for real ones. The drill titles are
"תרגיל - " and the real title (an assumption: the feed's own drill titles are not published). A
``cancelled`` event releases its areas like an all-clear (they leave the live file at once) and
its history rows say the alert was sent in error, under the end code.

The live file is one message: one ``id``, one ``cat``, one ``title`` and the areas of that
message only. The real feed publishes each alert message on its own, replacing the file's content
with the newest message (its content lasts seconds: oref_alert #216); it never lists under one
``cat`` areas alerted for different threats. :func:`live_file` does the same from the set of
active areas (see there); the areas it leaves out are in both history files.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from redcolor.channels.active import ActiveArea
from redcolor.model import RELEASES, AlertEvent, is_exercise

ISRAEL_TZ = ZoneInfo("Asia/Jerusalem")
HISTORY_CAP_ROWS = 3000
LANGS = ("he", "en", "ar", "ru")
"""The languages of the archive (``GetAlarmsHistory.aspx?lang=``)."""

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
"""The live file's ``cat`` per kind (unchanged in 2025; the archive's ``matrix_id`` too)."""
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
_THREAT_HISTORY = {
    "missiles": 1,
    "hostile_aircraft": 2,
    "general": 4,
    "earthquake": 7,
    "radiological": 9,
    "infiltration": 10,
    "tsunami": 11,
    "hazmat": 12,
    "drill": 17,
}
_THREAT_DRILL_HISTORY = {
    "missiles": 15,
    "hostile_aircraft": 16,
    "general": 17,
    "earthquake": 21,
    "radiological": 23,
    "infiltration": 24,
    "tsunami": 25,
    "hazmat": 26,
}


@dataclass(frozen=True)
class CategoryCodes:
    """The history codes of one version of the real feed (the live codes did not change)."""

    version: str
    """The month the feed started using these codes."""
    history: Mapping[str, int]
    """History ``category`` per kind (threat categories, ``pre_alert``, ``all_clear``)."""
    drill_history: Mapping[str, int]
    """History drill code per kind; kinds not listed use the general drill code."""


def _codes(version: str, pre_alert: int, all_clear: int) -> CategoryCodes:
    return CategoryCodes(
        version,
        {**_THREAT_HISTORY, "pre_alert": pre_alert, "all_clear": all_clear},
        {**_THREAT_DRILL_HISTORY, "pre_alert": pre_alert + 14, "all_clear": all_clear + 14},
    )


CATEGORY_CODES: dict[str, CategoryCodes] = {
    codes.version: codes
    for codes in (
        _codes("2024-01", pre_alert=13, all_clear=14),  # early warning 13, news flash 14
        _codes("2025-06", pre_alert=14, all_clear=13),  # pre-alert 14, end of event 13
    )
}
SERVED_CODES_VERSION = "2025-06"
CODES = CATEGORY_CODES[SERVED_CODES_VERSION]
HISTORY_CATEGORY: Mapping[str, int] = CODES.history
DRILL_HISTORY_CATEGORY: Mapping[str, int] = CODES.drill_history

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

CATEGORY_DESC: dict[str, dict[str, str]] = {
    "missiles": {"en": "Missiles", "ar": "اطلاق قذائف وصواريخ", "ru": "Ракетный обстрел"},
    "hostile_aircraft": {
        "en": "Hostile aircraft intrusion",
        "ar": "اختراق طائرة معادية",
        "ru": "Нарушение воздушного пространства",
    },
    "earthquake": {"en": "Earthquake", "ar": "هزّة أرضية", "ru": "Землетрясение"},
    "radiological": {
        "en": "Radiological event",
        "ar": "حدث إشعاعي",
        "ru": "Радиоактивная опасность",
    },
    "tsunami": {"en": "Fear of a tsunami", "ar": "تحسبا للتسونامي", "ru": "Угроза цунами"},
    "hazmat": {
        "en": "Hazardous Materials Event",
        "ar": "حدث مواد خطرة",
        "ru": "Утечка опасных веществ",
    },
    "infiltration": {
        "en": "Terrorist infiltration",
        "ar": "تسلل مخربين",
        "ru": "Проникновение террористов",
    },
    "general": {"en": "Alert", "ar": "إنذار", "ru": "Тревога"},
    "drill": {"en": "Drill", "ar": "تمرين", "ru": "Учения"},
    "pre_alert": {
        "en": "Alerts are expected in your area in the coming minutes",
        "ar": "من المتوقع صدور إنذارات في منطقتك خلال الدقائق القادمة",
        "ru": "В ближайшие минуты в вашем районе ожидаются тревоги",
    },
    "all_clear": {"en": "The event has ended", "ar": "انتهى الحدث", "ru": "Событие завершено"},
    "sent_in_error": {
        "en": "The alert was sent in error",
        "ar": "تم إرسال الإنذار عن طريق الخطأ",
        "ru": "Тревога была отправлена по ошибке",
    },
}
"""The archive's ``category_desc`` in en/ar/ru (Hebrew: :data:`TITLE_HE`). The threat names are
the real site's (English "Missiles" and "Hostile aircraft intrusion" from the archive rows quoted
above, the others from its alertCategories.json ``alertName`` as pyckle/oref-alerts keeps it);
``general``, ``drill``, ``pre_alert``, ``all_clear`` and ``sent_in_error`` outside Hebrew are
redcolor's own translations (the sources consulted do not quote the site's)."""
DRILL_PREFIX = {"he": DRILL_PREFIX_HE, "en": "Drill - ", "ar": "تمرين - ", "ru": "Учения - "}

AreaValue = Callable[[int], str]
"""Maps an area id to the string the feed carries for it (the Hebrew ``value``, or the area's
name in the archive's language)."""

_FILETIME_EPOCH_S = 11_644_473_600  # 1601-01-01 to 1970-01-01
_TICKS_PER_S = 10_000_000


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


class ArchiveRow(msgspec.Struct, frozen=True):
    """One row of ``GetAlarmsHistory.aspx`` (field names and types fixed by the real feed)."""

    data: str
    date: str
    time: str
    alertDate: str
    category: int
    category_desc: str
    matrix_id: int
    rid: int


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


def live_message(active: Sequence[ActiveArea]) -> list[ActiveArea]:
    """The active areas the live file lists: one message, of one kind.

    Real alerts take precedence over exercises (an exercise must never be listed under a real
    code), then areas under alert (stage ``alert``/``update``) over pre-alerts; of those, the
    file is the newest message, as the real feed's is: the areas whose kind (threat category, or
    pre-alert) is that of the newest entry (highest ``seq``). Areas alerted for another threat
    at the same time are never labelled with this one's category; they show again once this
    message's areas leave the file.
    """
    real = [a for a in active if a.status != "exercise"]
    group = real or list(active)
    alerting = [a for a in group if a.stage != "pre_alert"]
    shown = alerting or group
    if not shown:
        return []
    newest = max(shown, key=lambda a: (a.seq, a.area_id))
    kind = _kind(newest.category, newest.stage)
    return [a for a in shown if _kind(a.category, a.stage) == kind]


def live_id(log_id: str, seq: int, t_unix_s: float) -> str:
    """The live file's ``id``: a Windows FILETIME, as the real feed's ids are (100 ns ticks since
    1601, e.g. ``133947391580000000``; pyckle/oref-alerts reads the alert time from it).

    The real ids are whole seconds; here the sub-second ticks carry ``(h + seq) mod 10**7``,
    ``h`` a hash of the store's log id. Within one log two messages never share an id (their
    ``seq`` differ, by less than ten million); a fresh store (even one replaying the same
    scenario at the same times) has another log id, so its ids differ from the old store's
    except with odds of one in ten million per pair of messages issued in the same second.
    """
    salt = int.from_bytes(hashlib.blake2b(log_id.encode(), digest_size=8).digest(), "big")
    seconds = math.floor(t_unix_s) + _FILETIME_EPOCH_S
    return str(seconds * _TICKS_PER_S + (salt + seq) % _TICKS_PER_S)


def live_file(active: Sequence[ActiveArea], area_value: AreaValue, *, log_id: str) -> bytes:
    """The live file body (UTF-8 JSON) for the message :func:`live_message` picks, or ``b""``
    when nothing is active.

    ``cat`` and ``title`` are those of the message's kind (an exercise's drill code). ``id`` is
    :func:`live_id` of the message's newest entry, so it changes when a newer event contributes
    and is never reused for another message, also after a store reset (``log_id`` is the store's
    :meth:`~redcolor.alerts.store.SQLiteEventStore.log_id`). ``desc`` is the feed's standard
    instruction (the public feed's fixed text, not the event's own instructions).
    """
    shown = live_message(active)
    if not shown:
        return b""
    exercise = shown[0].status == "exercise"
    newest = max(shown, key=lambda a: (a.seq, a.area_id))
    kind = _kind(newest.category, newest.stage)
    desc = PRE_ALERT_DESC_HE if kind == "pre_alert" else DESC_HE
    body = LiveAlert(
        id=live_id(log_id, newest.seq, newest.since_unix_s),
        cat=_cat(kind, exercise),
        title=_title(kind, exercise),
        data=[area_value(a.area_id) for a in shown],
        desc=desc,
    )
    return msgspec.json.encode(body)


def _local(t_unix_s: float) -> datetime:
    return datetime.fromtimestamp(t_unix_s, tz=UTC).astimezone(ISRAEL_TZ)


def israel_local(t_unix_s: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Israel local time (IST/IDT), as the history file writes it."""
    return _local(t_unix_s).strftime("%Y-%m-%d %H:%M:%S")


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


def category_desc(event: AlertEvent, lang: str) -> str:
    """The archive's ``category_desc`` of an event in ``lang`` (one of :data:`LANGS`)."""
    kind = _kind(event.category, event.stage)
    key = "sent_in_error" if event.stage == "cancelled" else kind
    if lang == "he":
        text = SENT_IN_ERROR_TITLE_HE if key == "sent_in_error" else TITLE_HE[key]
    else:
        text = CATEGORY_DESC[key][lang]
    exercise = is_exercise(event) and kind != "drill"
    return DRILL_PREFIX[lang] + text if exercise else text


def archive_rid(seq: int, log_id: str, t_unix_s: float, index: int) -> int:
    """The archive's ``rid``: an integer that grows with time, as the real one does.

    Whole seconds in the high bits, then ``(h + seq) mod 1024`` (``h`` a hash of the log id:
    events of one second in one log differ, and a fresh log replaying the same times differs
    too, but for one chance in 1,024), then the area's index in its event (an event names at
    most 2,048 areas). Fits in 53 bits until 2038, so a JavaScript client reads it exactly.
    """
    salt = int.from_bytes(hashlib.blake2b(log_id.encode(), digest_size=8).digest(), "big")
    return (math.floor(t_unix_s) << 21) | (((salt + seq) % 1024) << 11) | (index % 2048)


def archive_rows(
    events_newest_first: Iterable[AlertEvent],
    area_name: AreaValue,
    lang: str,
    *,
    log_id: str,
    since_unix_s: float | None = None,
    until_unix_s: float | None = None,
) -> list[ArchiveRow]:
    """The ``GetAlarmsHistory.aspx`` rows: one per (event, area), newest first, of the events
    issued in ``[since_unix_s, until_unix_s)``, at most :data:`HISTORY_CAP_ROWS`.

    Reading stops at the first event older than ``since_unix_s`` (the log is in issue order), so
    a short window reads only its own end of the log. ``area_name`` gives the area's name in
    ``lang`` (the feed's Hebrew ``value`` for ``he``).
    """
    rows: list[ArchiveRow] = []
    for event in events_newest_first:
        t = event.issued_at_unix_s
        if since_unix_s is not None and t < since_unix_s:
            break
        if until_unix_s is not None and t >= until_unix_s:
            continue
        kind = _kind(event.category, event.stage)
        exercise = is_exercise(event)
        local = _local(t)
        date, clock = local.strftime("%d.%m.%Y"), local.strftime("%H:%M:%S")
        # the real alertDate is the time rounded to the nearest minute (19:18:34 -> 19:19:00)
        alert_date = _local(math.floor(t / 60 + 0.5) * 60).strftime("%Y-%m-%dT%H:%M:00")
        category = _history_category(kind, exercise)
        desc = category_desc(event, lang)
        matrix_id = int(_cat(kind, exercise))
        for index, area in enumerate(event.areas):
            rid = archive_rid(event.seq, log_id, t, index)
            name = area_name(area.id)
            rows.append(ArchiveRow(name, date, clock, alert_date, category, desc, matrix_id, rid))
            if len(rows) == HISTORY_CAP_ROWS:
                return rows
    return rows
    return rows


ARCHIVE_WINDOW_S = {"1": 86_400.0, "2": 7 * 86_400.0, "3": 30 * 86_400.0}
"""``mode`` 1, 2, 3: the last day, week and month (pyckle/oref-alerts ``OrefApiUris``)."""


@dataclass(frozen=True)
class ArchiveQuery:
    """A valid ``GetAlarmsHistory.aspx`` query: the language, the ``mode`` and the window of
    issue times it asks for (``until`` ``None``: up to now)."""

    lang: str
    mode: str
    since_unix_s: float
    until_unix_s: float | None


def _local_day_start(text: str) -> float | None:
    """The Unix time of 00:00 Israel time on a ``dd.mm.yyyy`` date, ``None`` if it is not one."""
    try:
        day = datetime.strptime(text.strip(), "%d.%m.%Y")
    except ValueError:
        return None
    return day.replace(tzinfo=ISRAEL_TZ).timestamp()


def archive_query(params: Mapping[str, str], now_unix_s: float) -> ArchiveQuery | None:
    """The query ``params`` (names lower-cased) ask for, or ``None`` when they ask for nothing
    the real endpoint defines; the route then answers an empty list, never an error object,
    because every client of this endpoint parses the answer as a list.

    - ``lang``: ``he``, ``en``, ``ar`` or ``ru`` (any case); absent: ``he``.
    - ``mode``: ``1``/``2``/``3`` for the last day/week/month before now, ``0`` for the days
      ``fromDate`` to ``toDate`` (both ``dd.mm.yyyy``, Israel local days, inclusive; both
      required, as the clients that use mode 0 send them); absent: ``1``. ``fromDate``/``toDate``
      with mode 1-3 are ignored (the windows are fixed).
    - anything else (an unknown ``lang`` or ``mode``, a bad or missing date with mode 0,
      ``fromDate`` after ``toDate``): ``None``.
    """
    lang = params.get("lang", "he").strip().lower()
    mode = params.get("mode", "1").strip()
    if lang not in LANGS:
        return None
    if mode in ARCHIVE_WINDOW_S:
        return ArchiveQuery(lang, mode, now_unix_s - ARCHIVE_WINDOW_S[mode], None)
    if mode != "0":
        return None
    first = _local_day_start(params.get("fromdate", ""))
    last = _local_day_start(params.get("todate", ""))
    if first is None or last is None or first > last:
        return None
    # the end of the last day: the next local midnight (a day is 23 or 25 hours at a DST change)
    end = datetime.fromtimestamp(last, tz=ISRAEL_TZ).date().toordinal() + 1
    next_midnight = datetime.fromordinal(end).replace(tzinfo=ISRAEL_TZ).timestamp()
    return ArchiveQuery(lang, mode, first, next_midnight)
