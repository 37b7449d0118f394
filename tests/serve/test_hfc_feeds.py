"""Every HFC-style URL through the real app (httpx ASGI transport, real store, real areas):
the archive in every language and mode, conditional GET on every file, ids across a reset."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.channels import oref
from redcolor.serve import conditional
from redcolor.serve.app import create_app
from redcolor.serve.feeds import ARCHIVE_PATH, HISTORY_PATH, LIVE_PATH

from .conftest import SalvoWriter, make_state

ROW_TYPES = {
    "data": str,
    "date": str,
    "time": str,
    "alertDate": str,
    "category": int,
    "category_desc": str,
    "matrix_id": int,
    "rid": int,
}
DAY_S = 86_400.0


class Clock:
    """The server's clock, moved by the test (``ServerState.now_unix_s``)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(writer) -> Clock:
    return Clock(writer.t)


@pytest.fixture
def state(store, areas, clock):
    s = make_state(store, areas)
    s.now_unix_s = clock  # type: ignore[method-assign]
    return s


@pytest.fixture
async def client(state):
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _assert_real_rows(rows) -> None:
    assert isinstance(rows, list)
    for row in rows:
        assert list(row) == list(ROW_TYPES)
        assert {k: type(v) for k, v in row.items()} == ROW_TYPES, row
        datetime.strptime(row["date"], "%d.%m.%Y")
        datetime.strptime(row["time"], "%H:%M:%S")
        assert datetime.strptime(row["alertDate"], "%Y-%m-%dT%H:%M:%S").second == 0


@pytest.fixture
def aged_log(writer, clock, meron_ids, state):
    """Alerts issued 2, 10 and 40 days before now, and one an hour ago (newest last)."""
    now = clock.t
    out = {}
    for age_days, ids in ((40, meron_ids[:1]), (10, meron_ids[1:3]), (2, meron_ids[3:6])):
        writer.t = now - age_days * DAY_S
        out[age_days] = writer.event(f"old-{age_days}", "alert", ids)
    writer.t = now - 3600
    out[0] = writer.event("recent", "alert", meron_ids[6:10], category="hostile_aircraft")
    state.follower.poll_once()
    return out


@pytest.mark.parametrize("lang", oref.LANGS)
async def test_archive_every_language_and_mode(client, areas, aged_log, lang):
    counts = {}
    for mode in ("1", "2", "3"):
        r = await client.get(ARCHIVE_PATH, params={"lang": lang, "mode": mode})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        rows = r.json()
        _assert_real_rows(rows)
        counts[mode] = len(rows)
        if mode == "1":
            recent = aged_log[0]
            assert [row["data"] for row in rows] == [
                areas.get(a.id).value if lang == "he" else getattr(areas.get(a.id), f"name_{lang}")
                for a in recent.areas
            ]
            assert {row["category"] for row in rows} == {2}  # hostile aircraft in the history
            assert {row["matrix_id"] for row in rows} == {6}
            assert {row["category_desc"] for row in rows} == {
                oref.TITLE_HE["hostile_aircraft"]
                if lang == "he"
                else oref.CATEGORY_DESC["hostile_aircraft"][lang]
            }
    assert counts == {"1": 4, "2": 4 + 3, "3": 4 + 3 + 2}


async def test_archive_date_range(client, aged_log):
    event = aged_log[10]
    day = datetime.fromtimestamp(event.issued_at_unix_s, tz=oref.ISRAEL_TZ).strftime("%d.%m.%Y")
    rows = (
        await client.get(
            ARCHIVE_PATH, params={"lang": "en", "mode": "0", "fromDate": day, "toDate": day}
        )
    ).json()
    _assert_real_rows(rows)
    assert len(rows) == len(event.areas) and {r["date"] for r in rows} == {day}
    wide = (
        await client.get(
            ARCHIVE_PATH, params={"mode": "0", "fromDate": "01.01.2000", "toDate": "31.12.2099"}
        )
    ).json()
    assert len(wide) == 1 + 2 + 3 + 4


@pytest.mark.parametrize(
    "path",
    [
        "/Shared/Ajax/GetAlarmsHistory.aspx",
        "/shared/ajax/getalarmshistory.aspx",
        "/SHARED/AJAX/GETALARMSHISTORY.ASPX",
        "//Shared/Ajax/GetAlarmsHistory.aspx",
    ],
)
async def test_archive_paths_and_parameter_names_are_case_insensitive(client, aged_log, path):
    # the full URL: "//Shared/..." alone would be a network-path reference (host "Shared")
    rows = (await client.get(f"http://test{path}", params={"LANG": "RU", "Mode": "1"})).json()
    _assert_real_rows(rows)
    assert (
        len(rows) == 4 and rows[0]["category_desc"] == oref.CATEGORY_DESC["hostile_aircraft"]["ru"]
    )


@pytest.mark.parametrize(
    "query",
    [
        "lang=xx&mode=1",
        "lang=he&mode=7",
        "lang=he&mode=0",
        "lang=he&mode=0&fromDate=01.13.2024&toDate=02.13.2024",
        "lang=he&mode=0&fromDate=10.10.2024&toDate=01.10.2024",
        "lang=he&mode=%00",
        "mode=" + "9" * 400,
    ],
)
async def test_bad_archive_parameters_answer_an_empty_list(client, aged_log, query):
    r = await client.get(f"{ARCHIVE_PATH}?{query}")
    assert (r.status_code, r.json()) == (200, [])


async def test_every_history_url_is_a_list_even_on_an_empty_log(client):
    for url in (HISTORY_PATH, ARCHIVE_PATH, f"{ARCHIVE_PATH}?lang=ar&mode=3"):
        r = await client.get(url)
        assert (r.status_code, r.json()) == (200, [])


URLS = (LIVE_PATH, HISTORY_PATH, f"{ARCHIVE_PATH}?lang=he&mode=1", f"{ARCHIVE_PATH}?lang=en&mode=3")


@pytest.mark.parametrize(
    "url", [*URLS, f"{ARCHIVE_PATH}?mode=0&fromDate=01.01.2000&toDate=31.12.2099"]
)
async def test_an_unchanged_file_polled_again_gets_304_and_a_change_a_new_etag(
    client, state, writer, clock, meron_ids, url
):
    writer.event("a", "alert", meron_ids[:3])
    state.follower.poll_once()
    clock.t = writer.t + 0.5
    first = await client.get(url)
    assert first.status_code == 200 and first.content
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for _ in range(5):  # a client polling every 2 s downloads nothing
        clock.t += 2
        again = await client.get(url, headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        by_date = await client.get(
            url, headers={"If-Modified-Since": again.headers["last-modified"]}
        )
        assert (by_date.status_code, by_date.content) == (304, b"")
    head = await client.head(url, headers={"If-None-Match": etag})
    assert head.status_code == 304
    head = await client.head(url)
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)
    assert int(head.headers["content-length"]) == len(first.content)
    # a change: the next poll downloads it, under a new ETag and a later Last-Modified
    writer.t = clock.t
    writer.event("b", "alert", meron_ids[3:5], category="hazmat")
    state.follower.poll_once()
    clock.t += 0.2
    changed = await client.get(url, headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert changed.status_code == 200 and changed.content != first.content
    assert changed.headers["etag"] != etag
    # asked by date alone, within the second of the change, it is not 304 either
    clock.t += 0.1
    by_date = await client.get(url, headers={"If-Modified-Since": modified})
    assert by_date.status_code == 200
    later = conditional.parse_http_date(changed.headers["last-modified"])
    assert later is not None and later >= conditional.parse_http_date(modified)


async def test_live_file_empty_body_is_polled_by_etag_too(client, clock):
    first = await client.get(LIVE_PATH)
    assert (first.status_code, first.content) == (200, b"")
    clock.t += 2
    again = await client.get(LIVE_PATH, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_live_ids_are_not_reused_after_a_store_reset(tmp_path, areas, meron_ids):
    """The same scenario, replayed at the same times into a fresh store (a reset): the same
    seqs, other ids; within each store every message has its own id."""
    t0 = 1_760_000_000.0
    seen: list[set[str]] = []
    for name in ("before.db", "after.db"):
        store = SQLiteEventStore(tmp_path / name)
        state = make_state(store, areas)
        state.now_unix_s = lambda: t0 + 30  # type: ignore[method-assign]
        writer = SalvoWriter(store, areas, t0_unix_s=t0)
        transport = httpx.ASGITransport(app=create_app(state))
        ids = []
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for i, area_id in enumerate(meron_ids[:6]):
                category = ("missiles", "hostile_aircraft")[i % 2]
                writer.event(f"s{i}", "alert", [area_id], category=category)
                state.follower.poll_once()
                ids.append(json.loads((await client.get(LIVE_PATH)).content)["id"])
        store.close()
        assert len(set(ids)) == len(ids)
        seen.append(set(ids))
    assert not seen[0] & seen[1]


async def test_live_file_mixed_threats_show_one_message(client, state, writer, areas, meron_ids):
    writer.event("m", "alert", meron_ids[:3], category="missiles")
    writer.event("u", "alert", meron_ids[3:5], category="hostile_aircraft")
    state.follower.poll_once()
    live = json.loads((await client.get(LIVE_PATH)).content)
    assert live["cat"] == "6" and live["data"] == [
        areas.get(i).value for i in sorted(meron_ids[3:5])
    ]
    # the aircraft alert ends: the missiles alert, still on, shows under its own code
    writer.event("u", "ended", meron_ids[3:5])
    state.follower.poll_once()
    live = json.loads((await client.get(LIVE_PATH)).content)
    assert live["cat"] == "1" and len(live["data"]) == 3
    rows = (await client.get(HISTORY_PATH)).json()
    assert {r["category"] for r in rows} == {1, 2, 13}
