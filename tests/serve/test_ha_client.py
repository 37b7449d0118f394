"""Home Assistant's ``oref_alert`` integration (amitfin/oref_alert) polling a running redcolor.

The integration itself cannot run here: every Home Assistant release it supports needs Python
3.13 or newer (this machine has 3.11), and it is published on GitHub for HACS, not on a registry
this machine reaches. So this test polls the way its coordinator
(``custom_components/oref_alert/coordinator.py``) does, step by step, with the same HTTP client
library (aiohttp), and asserts on what each step of it needs, so a change that would crash it, or
make it miss an alert, fails here:

- every 2-10 s it GETs ``Alerts.json`` and ``AlertsHistory.json``, sending ``If-Modified-Since``
  with the ``Last-Modified`` it kept (it never sends ``If-None-Match``); a 304 keeps its copy;
- a body is read as bytes, decoded ``utf-8-sig``, NULs removed and stripped; an empty body is
  "no alert", anything else must parse as JSON or the poll raises (its older releases used
  ``response.json()``, which also insists on a JSON content type);
- the live object's ``cat`` goes through ``int()``, each ``data`` entry is indexed at ``[0]``
  (its spelling fix swaps a leading apostrophe), and the live rows join the history rows;
- history rows are iterated as dicts: ``alertDate`` parsed as a naive ``YYYY-MM-DD HH:MM:SS`` and
  read as Israel time, ``data`` indexed at ``[0]``, ``category`` an int; the list must be newest
  first, since its "recent alerts" walk stops at the first row older than the window.

The run is an alert lifecycle with areas whose real spellings are the awkward ones, on the real
app under uvicorn.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp

from redcolor.channels.oref import HISTORY_CATEGORY, LIVE_CAT

from .test_npm_client import TRICKY

LIVE = "/warningMessages/alert/Alerts.json"
HISTORY = "/warningMessages/alert/History/AlertsHistory.json"
IST = ZoneInfo("Asia/Jerusalem")
ACTIVE_WINDOW_MIN = 10  # the integration's default alert_active_duration


class CoordinatorPoll:
    """One oref_alert coordinator's HTTP cache and its reading of the two files."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.cache: dict[str, tuple[object, str | None]] = {}
        self.not_modified = 0

    async def fetch(self, path: str) -> object:
        content, last_modified = self.cache.get(path, (None, None))
        headers = {"Referer": "https://www.oref.org.il/", "X-Requested-With": "XMLHttpRequest"}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self.session.get(self.base + path, headers=headers) as reply:
            assert reply.status in (200, 304), (path, reply.status)
            if reply.status == 304:
                self.not_modified += 1
                return content
            assert reply.content_type == "application/json", (path, reply.content_type)
            text = (await reply.read()).decode("utf-8-sig").replace("\x00", "").strip()
            content = json.loads(text) if text else None
            self.cache[path] = (content, reply.headers.get("Last-Modified"))
            return content

    async def poll(self) -> list[dict]:
        """The rows the integration would hold after one update, newest first."""
        current, history = await asyncio.gather(self.fetch(LIVE), self.fetch(HISTORY))
        assert history is None or isinstance(history, list), history
        rows = [dict(row) for row in history or []]
        for row in rows:
            assert row["data"][0] != "'", row  # no leading geresh the spelling fix would move
            assert isinstance(row["category"], int)
        if current:
            assert isinstance(current, dict) and isinstance(current["data"], list), current
            cat = int(current["cat"])
            now = datetime.now(IST).strftime("%Y-%m-%d %H:%M:%S")
            for area in current["data"]:
                assert area and area[0] != "'", area
                rows.append(
                    {"alertDate": now, "title": current["title"], "data": area, "category": cat}
                )
        rows.sort(key=lambda r: (r["alertDate"], r["data"]), reverse=True)
        return rows


def recent(rows: list[dict], window_min: int) -> list[dict]:
    """The integration's walk: newest first, stop at the first row older than the window."""
    earliest = datetime.now(IST) - timedelta(minutes=window_min)
    out = []
    for row in rows:
        when = datetime.strptime(row["alertDate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
        if when < earliest:
            break
        out.append(row)
    return out


async def _until(poller: CoordinatorPoll, predicate, timeout_s: float = 10.0) -> list[dict]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        rows = await poller.poll()
        if predicate(rows):
            return rows
        assert loop.time() < deadline, "the files did not change"
        await asyncio.sleep(0.05)


async def test_a_lifecycle_read_as_the_integration_reads_it(live_server, areas):
    ids = [areas.find(value).id for value in TRICKY]
    async with aiohttp.ClientSession() as session:
        poller = CoordinatorPoll(session, live_server.http)
        assert await poller.poll() == []  # an empty log: an empty live body, an empty list

        start = live_server.writer.event("ha-1", "alert", ids)
        rows = await _until(poller, lambda r: len(recent(r, ACTIVE_WINDOW_MIN)) >= 2 * len(ids))
        active = recent(rows, ACTIVE_WINDOW_MIN)
        # each area twice (the live row and the history row); all the real spellings
        assert {r["data"] for r in active} == set(TRICKY)
        assert {r["category"] for r in active} == {
            int(LIVE_CAT["missiles"]),
            HISTORY_CATEGORY["missiles"],
        }

        # nothing changed: both files answer 304 to the integration's If-Modified-Since
        # (a poll during the second of a change is sent the second before, so the first poll
        # after it downloads once more: conditional.py)
        await asyncio.sleep(1.1)
        await poller.poll()
        before = poller.not_modified
        again = await poller.poll()  # live rows are re-stamped with the poll's time
        assert {(r["data"], r["category"]) for r in again} == {
            (r["data"], r["category"]) for r in rows
        }
        assert poller.not_modified == before + 2

        live_server.writer.event("ha-1", "ended", ids, refs=[start.seq])
        rows = await _until(
            poller, lambda r: any(x["category"] == HISTORY_CATEGORY["all_clear"] for x in r)
        )
        assert await poller.fetch(LIVE) is None  # the live file is empty again
        ended = [
            r
            for r in recent(rows, ACTIVE_WINDOW_MIN)
            if r["category"] == HISTORY_CATEGORY["all_clear"]
        ]
        assert {r["data"] for r in ended} == set(TRICKY)
