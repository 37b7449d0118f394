"""The HFC-style files as the real feed has them: one message per live file, the 2025 codes,
FILETIME ids that are never reused, the archive's rows (pure encoders, no server)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import msgspec
import pytest

from redcolor.channels import oref
from redcolor.channels.active import ActiveArea
from redcolor.model import AlertArea, AlertEvent

# A real archive row (pyckle/oref-alerts testHistory.json): names and JSON types of every field.
REAL_ROW = json.loads(
    '{"data":"Shamir","date":"11.05.2024","time":"19:18:34","alertDate":"2024-05-11T19:19:00",'
    '"category":2,"category_desc":"Hostile aircraft intrusion","matrix_id":6,"rid":30759}'
)
T_REAL_ROW = datetime.fromisoformat("2024-05-11T19:18:34+03:00").timestamp()


def _area(area_id, stage="alert", category="missiles", seq=1, status="actual", since=100.0):
    return ActiveArea(area_id, f"a{seq}", stage, category, since, 15, seq, status)


def _live(active, log_id="log-a") -> dict:
    return json.loads(oref.live_file(active, lambda i: f"v{i}", log_id=log_id))


def _ev(stage, category="missiles", seq=5, areas=(1, 2, 3), t=T_REAL_ROW, status="actual"):
    return AlertEvent(
        "a-1",
        seq,
        category,
        stage,
        tuple(AlertArea(a, 15) for a in areas),
        t,
        t + 600,
        ("track:3",),
        {},
        status=status,
    )


def test_mixed_categories_one_message_per_file_newest_first() -> None:
    missiles = [_area(1, seq=5), _area(2, seq=5)]
    aircraft = [_area(3, category="hostile_aircraft", seq=7)]
    body = _live(missiles + aircraft)
    assert (body["cat"], body["title"], body["data"]) == (
        "6",
        oref.TITLE_HE["hostile_aircraft"],
        ["v3"],
    )
    # once the newer message's areas leave, the older one shows under its own code
    body = _live(missiles)
    assert (body["cat"], body["data"]) == ("1", ["v1", "v2"])
    # two alerts of the same threat are one message (the feed accumulates its areas)
    body = _live([*missiles, _area(4, seq=9)])
    assert (body["cat"], body["data"]) == ("1", ["v1", "v2", "v4"])


KINDS = [
    ("alert", "missiles"),
    ("alert", "hostile_aircraft"),
    ("update", "hazmat"),
    ("alert", "earthquake"),
    ("pre_alert", "missiles"),
    ("pre_alert", "hostile_aircraft"),
]


@pytest.mark.parametrize("status", ["actual", "exercise"])
def test_no_area_is_ever_labelled_with_another_areas_category(status) -> None:
    """Over every mix of up to four areas of different kinds, each listed area's own kind
    gives the file's ``cat`` (pre-alerts of any threat are one kind: the feed's cat 10)."""
    for combo in itertools.product(range(len(KINDS)), repeat=4):
        active = [
            _area(i + 1, KINDS[k][0], KINDS[k][1], seq=10 + (i * 7) % 5, status=status)
            for i, k in enumerate(combo)
        ]
        body = _live(active)
        exercise = status == "exercise"
        for value in body["data"]:
            entry = active[int(value[1:]) - 1]
            kind = "pre_alert" if entry.stage == "pre_alert" else entry.category
            assert body["cat"] == oref._cat(kind, exercise), (combo, body)
        listed = {int(v[1:]) for v in body["data"]}
        alerting = [a for a in active if a.stage != "pre_alert"]
        if alerting:  # an alert is never hidden behind a pre-alert
            assert all(active[i - 1].stage != "pre_alert" for i in listed)


def test_a_real_alert_is_never_hidden_by_or_mixed_with_an_exercise() -> None:
    drill = [_area(1, seq=9, status="exercise")]
    real = [_area(2, category="hazmat", seq=3)]
    body = _live(drill + real)
    assert (body["cat"], body["data"]) == ("7", ["v2"])
    assert _live(drill)["cat"] == "101"


def test_pre_alerts_and_ends_use_the_2025_codes() -> None:
    assert oref.SERVED_CODES_VERSION == "2025-06"
    served, before = oref.CATEGORY_CODES["2025-06"], oref.CATEGORY_CODES["2024-01"]
    assert (served.history["pre_alert"], served.history["all_clear"]) == (14, 13)
    assert (before.history["pre_alert"], before.history["all_clear"]) == (13, 14)
    assert (served.drill_history["pre_alert"], served.drill_history["all_clear"]) == (28, 27)
    # the live pre-alert: cat 10 and the real title, telling it apart from an end
    body = _live([_area(1, "pre_alert", seq=4)])
    assert (body["cat"], body["title"], body["desc"]) == (
        "10",
        "בדקות הקרובות צפויות להתקבל התרעות באזורך",
        oref.PRE_ALERT_DESC_HE,
    )
    (pre,) = oref.history_rows([_ev("pre_alert", areas=(1,))], str)
    (end,) = oref.history_rows([_ev("ended", areas=(1,))], str)
    assert (pre.category, pre.title) == (14, oref.TITLE_HE["pre_alert"])
    assert (end.category, end.title) == (13, "האירוע הסתיים")
    (row,) = oref.archive_rows([_ev("pre_alert", areas=(1,))], str, "he", log_id="x")
    assert (row.category, row.matrix_id) == (14, 10)
    assert row.category_desc == "בדקות הקרובות צפויות להתקבל התרעות באזורך"
    (row,) = oref.archive_rows([_ev("ended", areas=(1,))], str, "en", log_id="x")
    assert (row.category, row.matrix_id, row.category_desc) == (13, 10, "The event has ended")
    drill = _ev("pre_alert", areas=(1,), status="exercise")
    (row,) = oref.archive_rows([drill], str, "he", log_id="x")
    assert row.category == 28 and row.category_desc.startswith(oref.DRILL_PREFIX_HE)


def test_live_ids_are_filetimes_and_never_reused() -> None:
    t = 1_750_000_000.7
    ids = {oref.live_id("log-a", seq, t) for seq in range(1, 20_001)}
    assert len(ids) == 20_000  # one second, twenty thousand messages, no two alike
    one = oref.live_id("log-a", 41, t)
    assert one.isdigit() and len(one) == 18
    assert int(one) // 10**7 - 11_644_473_600 == int(t)  # a FILETIME of the message's second
    # a fresh store replaying the very same events at the very same times: other ids
    fresh = {oref.live_id("log-b", seq, t) for seq in range(1, 20_001)}
    assert not ids & fresh
    # the same message keeps its id from poll to poll
    active = [_area(1, seq=41, since=t), _area(2, seq=40, since=t - 3)]
    assert _live(active)["id"] == _live(list(reversed(active)))["id"] == one


def test_archive_rows_have_the_real_shape_and_types() -> None:
    rows = oref.archive_rows(
        [_ev("alert", "hostile_aircraft", seq=9, areas=(1, 2))], lambda i: f"n{i}", "en", log_id="x"
    )
    got = msgspec.to_builtins(rows[0])
    assert list(got) == list(REAL_ROW)
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in REAL_ROW.items()}
    assert {k: got[k] for k in ("date", "time", "alertDate", "category", "matrix_id")} == {
        k: REAL_ROW[k] for k in ("date", "time", "alertDate", "category", "matrix_id")
    }
    assert got["category_desc"] == REAL_ROW["category_desc"] and got["data"] == "n1"
    assert rows[0].rid != rows[1].rid


@pytest.mark.parametrize(
    ("clock", "rounded"),
    [
        ("19:18:34", "19:19:00"),
        ("19:14:53", "19:15:00"),
        ("19:11:12", "19:11:00"),
        ("23:59:45", "00:00:00"),
    ],
)
def test_archive_alert_date_is_rounded_to_the_minute(clock, rounded) -> None:
    t = datetime.fromisoformat(f"2024-05-11T{clock}+03:00").timestamp()
    (row,) = oref.archive_rows([_ev("alert", t=t, areas=(1,))], str, "he", log_id="x")
    assert row.time == clock and row.alertDate.endswith("T" + rounded)


def test_archive_rids_grow_with_time_and_differ_per_row() -> None:
    events = [_ev("alert", seq=s, t=T_REAL_ROW + s, areas=(1, 2, 3)) for s in range(30, 0, -1)]
    rows = oref.archive_rows(events, str, "he", log_id="x")
    rids = [r.rid for r in rows]
    assert len(set(rids)) == len(rids) == 90
    assert [r.rid for r in rows[::3]] == sorted(rids[::3], reverse=True)  # newest first
    assert max(rids) < 2**53  # a JavaScript client reads it exactly


def test_archive_window_stops_at_its_start() -> None:
    def events():
        yield _ev("alert", seq=3, t=1000.0)
        yield _ev("alert", seq=2, t=500.0)
        raise AssertionError("read past the window")

    rows = oref.archive_rows(events(), str, "he", log_id="x", since_unix_s=900.0)
    assert len(rows) == 3
    assert (
        oref.archive_rows([_ev("alert", t=1000.0)], str, "he", log_id="x", until_unix_s=1000.0)
        == []
    )


NOW = datetime.fromisoformat("2025-03-30T12:00:00+03:00").timestamp()


@pytest.mark.parametrize("lang", ["he", "en", "ar", "ru", "HE", " En"])
@pytest.mark.parametrize("mode", ["1", "2", "3"])
def test_archive_query_modes(lang, mode) -> None:
    query = oref.archive_query({"lang": lang, "mode": mode}, NOW)
    assert query is not None and query.lang == lang.strip().lower() and query.until_unix_s is None
    assert NOW - query.since_unix_s == {"1": 1, "2": 7, "3": 30}[mode] * 86_400


def test_archive_query_dates_are_israel_days_inclusive() -> None:
    # 28.03.2025 is the day Israel moved to summer time (02:00 -> 03:00): 23 hours long
    query = oref.archive_query({"mode": "0", "fromdate": "28.03.2025", "todate": "28.03.2025"}, NOW)
    assert query is not None and query.lang == "he"
    assert query.since_unix_s == datetime.fromisoformat("2025-03-28T00:00:00+02:00").timestamp()
    assert query.until_unix_s == datetime.fromisoformat("2025-03-29T00:00:00+03:00").timestamp()
    assert query.until_unix_s - query.since_unix_s == 23 * 3600
    assert oref.archive_query({}, NOW) == oref.ArchiveQuery("he", "1", NOW - 86_400, None)


@pytest.mark.parametrize(
    "params",
    [
        {"lang": "fr", "mode": "1"},
        {"lang": "", "mode": "1"},
        {"mode": "4"},
        {"mode": "one"},
        {"mode": "0"},
        {"mode": "0", "fromdate": "01.10.2023"},
        {"mode": "0", "fromdate": "2023-10-01", "todate": "31.10.2023"},
        {"mode": "0", "fromdate": "31.02.2023", "todate": "31.10.2023"},
        {"mode": "0", "fromdate": "31.10.2023", "todate": "01.10.2023"},
    ],
)
def test_archive_query_refuses_what_the_feed_does_not_define(params) -> None:
    assert oref.archive_query(params, NOW) is None


def test_archive_names_and_descriptions_in_every_language() -> None:
    event = _ev("alert", "missiles", areas=(1,))
    descs = {
        lang: oref.archive_rows([event], str, lang, log_id="x")[0].category_desc
        for lang in oref.LANGS
    }
    assert descs == {
        "he": "ירי רקטות וטילים",
        "en": "Missiles",
        "ar": "اطلاق قذائف وصواريخ",
        "ru": "Ракетный обстрел",
    }
    cancelled = _ev("cancelled", areas=(1,))
    assert oref.archive_rows([cancelled], str, "he", log_id="x")[0].category_desc == (
        oref.SENT_IN_ERROR_TITLE_HE
    )
    for kind, texts in oref.CATEGORY_DESC.items():
        assert set(texts) == {"en", "ar", "ru"} and all(texts.values()), kind
