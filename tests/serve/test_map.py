"""Browser tests of the live alert map (issue 7).

Headless Debian Chromium (``/usr/bin/chromium``, installed by ``make test``) driven by Playwright,
against the real ``redcolor.serve`` app on a loopback port following a real SQLite event store
that the tests write alert lifecycles to, as the pipeline does.

Set ``REDCOLOR_SCREENSHOTS=docs/screenshots`` to (re)write the README's screenshots.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import shapely
import uvicorn
from playwright.sync_api import Browser, Page, expect

from redcolor.alerts.store import SQLiteEventStore
from redcolor.geo import load_areas
from redcolor.model import AlertArea, AlertEvent
from redcolor.serve.app import create_app
from redcolor.serve.run import build_state, uvicorn_config
from redcolor.serve.state import ServeConfig

# Areas of the current edition (checked in test_fixture_areas): large enough to find a pixel in.
MERON_AREA_IDS = (1477, 1474, 1536, 1484, 1452, 1541, 1502, 1542)
TEL_AVIV = (32.08, 34.78)  # Tel Aviv - City Center, 90 s
SDEROT = (31.525, 34.596)  # Sderot, Ibim, 15 s
BEERSHEBA = (31.25, 34.79)
INSTRUCTIONS = {
    "he": "היכנסו למרחב המוגן",
    "en": "Enter a protected space",
    "ar": "ادخلوا إلى الحيز المحمي",
    "ru": "Войдите в защищённое помещение",
}


class Server:
    """The real app (uvicorn, uvloop, redcolor's WebSocket protocol) in a thread, plus a writer."""

    def __init__(self, db: Path) -> None:
        self.areas = load_areas("current")
        self.writer = SQLiteEventStore(db)
        state = build_state(ServeConfig(db=db, poll_s=0.005, heartbeat_s=1.0), self.areas)
        self.server = uvicorn.Server(uvicorn_config(create_app(state), host="127.0.0.1", port=0))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.n = 0

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.origin = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.writer.close()

    def write(
        self,
        alert_id,
        stage,
        area_ids,
        *,
        category="missiles",
        refs=(),
        t=None,
        status="actual",
        windows=None,
    ):
        """Append one event (as the pipeline does) and return it with its seq; ``windows`` maps
        area ids to their predicted impact window (earliest, latest)."""
        windows = windows or {}
        event = AlertEvent(
            id=alert_id,
            seq=0,
            category=category,
            stage=stage,
            areas=tuple(
                AlertArea(i, self.areas.get(i).shelter_s, *windows.get(i, (None, None)))
                for i in area_ids
            ),
            issued_at_unix_s=time.time() if t is None else t,
            expires_at_unix_s=None,
            source=("track:1",),
            instructions=INSTRUCTIONS,
            references=tuple(refs),
            status=status,
        )
        (stored,) = self.writer.append([event])
        return stored

    def new_alert_id(self) -> str:
        self.n += 1
        return f"map-test-{self.n}"

    def inside_point(self, area_id: int) -> tuple[float, float]:
        return inside_point(self.areas, area_id)


def inside_point(areas, area_id: int) -> tuple[float, float]:
    """A (lat, lon) well inside the area's polygon and outside every other area's."""
    polygon = areas.get(area_id).polygon
    for other in areas.meeting(polygon):
        if int(other) != area_id:
            polygon = polygon.difference(areas.get(int(other)).polygon)
    inner = polygon.buffer(-0.001)
    point = (inner if not inner.is_empty else polygon).representative_point()
    return point.y, point.x


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("map") / "alerts.db").start()
    yield s
    s.stop()


class Watched:
    """A page with everything it logged and every URL it requested."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.urls: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def _console(self, message) -> None:
        # The tests' own pixel probes (getImageData) trigger Chromium's readback hint.
        if "willReadFrequently" in message.text:
            return
        if message.type in ("error", "warning"):
            self.problems.append(f"{message.type}: {message.text}")


def open_map(
    browser: Browser, server: Server, *, lang="en", viewport=(1280, 800), **ctx
) -> Watched:
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="en-US", **ctx
    )
    page = context.new_page()
    watched = Watched(page)
    page.add_init_script(  # the visitor's first visit only: later loads keep their choice
        f"if (!localStorage.getItem('redcolor.lang'))"
        f" localStorage.setItem('redcolor.lang', {json.dumps(lang)})"
    )
    page.goto(server.origin + "/")
    page.wait_for_function("() => window.redcolor && window.redcolor.ready", timeout=20000)
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    return watched


def screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("REDCOLOR_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


# Reads the area canvas at a lat/lon: unpremultiplied RGBA of the pixel under that point.
PIXEL_JS = """([lat, lon]) => {
  const map = window.redcolor.map;
  const canvas = document.querySelector('.leaflet-overlay-pane canvas');
  const p = map.latLngToContainerPoint([lat, lon]);
  const box = canvas.getBoundingClientRect();
  const origin = map.getContainer().getBoundingClientRect();
  const sx = canvas.width / box.width, sy = canvas.height / box.height;
  const x = Math.round((p.x + origin.left - box.left) * sx);
  const y = Math.round((p.y + origin.top - box.top) * sy);
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);
}"""
# True when the pixel under [lat, lon] has the stage colour `want` ("alert" red, "ended" green).
STAGE_AT_JS = PIXEL_JS.replace("([lat, lon]) =>", "([lat, lon, want]) =>").replace(
    "return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data);",
    "const [r, g, b, a] = canvas.getContext('2d').getImageData(x, y, 1, 1).data;"
    " if (want === 'alert') return r > 200 && g < 60 && b < 60 && a > 120;"
    " if (want === 'pre_alert') return r > 200 && g > 120 && g < 200 && b < 90 && a > 100;"
    " return r < 100 && g > 120 && b < 120 && a > 80;",
)


def color_at(page: Page, lat: float, lon: float) -> list[int]:
    return page.evaluate(PIXEL_JS, [lat, lon])


def test_fixture_areas(server):
    """The area ids and points these tests rely on are what the data says."""
    assert len(server.areas.areas) == 1450
    assert server.areas.get(1502).name_en == "Meron"
    assert server.areas.locate(*TEL_AVIV).name_en == "Tel Aviv - City Center"
    assert server.areas.locate(*SDEROT).shelter_s == 15


def test_page_loads_all_areas_without_errors_or_foreign_requests(browser, server):
    w = open_map(browser, server)
    page = w.page
    assert page.evaluate("() => window.redcolor.index.size") == 1450
    drawn = page.evaluate(
        "() => { let n = 0; window.redcolor.map.eachLayer(l => { if (l.feature && l.feature.id"
        " !== undefined && l._parts) n += 1; }); return n; }"
    )
    assert drawn == 1450
    assert page.title() == "redcolor — live alerts"
    assert w.problems == []
    assert w.urls, "no request seen"
    foreign = [
        u for u in w.urls if not u.startswith((server.origin, server.origin.replace("http", "ws")))
    ]
    assert foreign == [], f"requests left the origin: {foreign}"
    page.context.close()


def test_salvo_turns_areas_red_within_one_second(browser, server, tmp_path):
    w = open_map(browser, server)
    page = w.page
    page.evaluate("() => { window.redcolor.map.setView([33.0, 35.42], 11, {animate: false}); }")
    alert_id = server.new_alert_id()
    first, second = MERON_AREA_IDS[:4], MERON_AREA_IDS[4:]
    points = {i: server.inside_point(i) for i in MERON_AREA_IDS}
    for i in MERON_AREA_IDS:
        assert color_at(page, *points[i])[3] < 60, f"area {i} is coloured before any alert"
    delays = []
    seqs = []
    for stage, ids in (("alert", first), ("update", second)):
        started = time.monotonic()
        seqs.append(server.write(alert_id, stage, ids, refs=seqs).seq)
        for i in ids:
            arg = [*points[i], "alert"]
            page.wait_for_function(STAGE_AT_JS, arg=arg, polling="raf", timeout=5000)
        delays.append(time.monotonic() - started)
    assert max(delays) < 1.0, f"areas turned red after {delays} s"
    # The countdown and the alert list show the alert.
    item = page.locator("#alert-list li").first  # the list is redrawn at most twice a second
    expect(item).to_contain_text("Rocket and missile fire")
    expect(item).to_contain_text("Areas (8)")
    screenshot(page, "map-salvo-alert.png", tmp_path)
    # "Show on map" brings the alert's areas into view (from anywhere, e.g. Eilat).
    page.evaluate("() => { window.redcolor.map.setView([29.55, 34.95], 12, {animate: false}); }")
    item.get_by_role("button", name="Show on map").click()
    inside = page.evaluate(
        "(points) => points.map(p => window.redcolor.map.getBounds().contains(p))",
        [list(points[i]) for i in MERON_AREA_IDS],
    )
    assert inside == [True] * len(MERON_AREA_IDS)
    assert page.evaluate("() => document.activeElement.id") == "map"
    # All clear: the areas turn green ("ended"). A keyboard user inside the list keeps their
    # place (the list is not rebuilt under the focus) until they leave it.
    item.get_by_role("button", name="Show on map").focus()
    server.write(alert_id, "ended", MERON_AREA_IDS, refs=seqs)
    for i in MERON_AREA_IDS:
        page.wait_for_function(STAGE_AT_JS, arg=[*points[i], "ended"], polling="raf", timeout=5000)
    page.wait_for_timeout(700)  # longer than the list's redraw interval
    assert page.evaluate("() => document.activeElement.textContent") == "Show on map"
    assert page.locator("#alert-list li .badge").first.inner_text() == "Alert"
    page.keyboard.press("Shift+Tab")  # focus leaves the list
    expect(page.locator("#alert-list li .badge").first).to_have_text("Event ended")
    assert w.problems == []
    page.context.close()


@pytest.mark.parametrize("lang", ["he", "ar"])
def test_hebrew_and_arabic_views_are_right_to_left(browser, server, tmp_path, lang):
    alert_id = server.new_alert_id()
    server.write(alert_id, "alert", [1502, 1477])
    w = open_map(browser, server)
    page = w.page
    assert page.evaluate("() => document.documentElement.dir") == "ltr"
    page.select_option("#lang", lang)
    assert page.evaluate("() => [document.documentElement.dir, document.documentElement.lang]") == [
        "rtl",
        lang,
    ]
    heading = {"he": "התרעות", "ar": "الإنذارات"}[lang]
    assert page.locator("#alerts-h").inner_text() == heading
    names = [getattr(server.areas.get(i), f"name_{lang}") for i in (1502, 1477)]
    item = page.locator("#alert-list li", has_text=names[0]).first
    expect(item).to_contain_text(names[1])
    expect(item).to_contain_text(INSTRUCTIONS[lang])
    # The list is laid out right to left: the stage badge sits right of the time.
    badge_x, time_x = page.evaluate(
        "(name) => { const li = [...document.querySelectorAll('#alert-list li')]"
        ".find((x) => x.textContent.includes(name));"
        " return ['.badge', 'time'].map((s) => li.querySelector(s).getBoundingClientRect().x); }",
        names[0],
    )
    assert badge_x > time_x
    page.evaluate("() => { window.redcolor.map.setView([33.0, 35.45], 11, {animate: false}); }")
    screenshot(page, f"map-{lang}-rtl.png", tmp_path)
    # The choice is remembered.
    page.reload()
    page.wait_for_function("() => window.redcolor && window.redcolor.ready")
    assert page.evaluate("() => document.documentElement.dir") == "rtl"
    assert page.input_value("#lang") == lang
    server.write(alert_id, "ended", [1502, 1477])
    assert w.problems == []
    page.context.close()


def test_located_point_shows_its_area_and_shelter_time(browser, server, tmp_path):
    lat, lon = SDEROT
    w = open_map(
        browser,
        server,
        geolocation={"latitude": lat, "longitude": lon},
        permissions=["geolocation"],
    )
    page = w.page
    page.click("#geo")
    page.wait_for_function("() => !document.getElementById('me-card').hidden")
    assert page.inner_text("#me-area").startswith("Sderot, Ibim")
    assert page.inner_text("#me-shelter") == "Time to shelter: 15 s"
    assert page.inner_text("#me-state") == "No alert"
    # The area is alerted: the card says so and counts down from 15 s.
    page.check("#siren")  # the visitor opts in to the tone (a user gesture unlocks audio)
    assert page.is_hidden("#stop-siren")
    alert_id = server.new_alert_id()
    event = server.write(alert_id, "alert", [248])
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'alert'")
    assert "Take shelter now" in page.inner_text("#me-state")
    expect(page.locator("#stop-siren")).to_be_visible()  # the siren sounds
    page.click("#stop-siren")
    expect(page.locator("#stop-siren")).to_be_hidden()
    left = int(page.inner_text("#me-timer").split()[0])
    assert 10 <= left <= 15
    screenshot(page, "map-my-location.png", tmp_path)
    server.write(alert_id, "ended", [248], refs=[event.seq])
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'ended'")
    # A clicked point: Tel Aviv - City Center, 90 s.
    page.click("#pick")
    page.evaluate(
        "([lat, lon]) => { window.redcolor.map.setView([lat, lon], 13, {animate: false}); }",
        TEL_AVIV,
    )
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.redcolor.map.latLngToContainerPoint([lat, lon]);"
        " const r = window.redcolor.map.getContainer().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }",
        TEL_AVIV,
    )
    page.mouse.click(x, y)
    page.wait_for_function(
        "() => document.getElementById('me-area').textContent.startsWith('Tel Aviv')"
    )
    assert page.inner_text("#me-shelter") == "Time to shelter: 90 s"
    # The location never left the browser: no request carried it.
    assert not [u for u in w.urls if "locate" in u or "31.52" in u or "34.59" in u or "32.08" in u]
    assert page.evaluate("() => JSON.parse(localStorage.getItem('redcolor.me')).areaId") == 742
    assert w.problems == []
    page.context.close()


def test_phone_layout_keyboard_and_screen_reader(browser, server, tmp_path):
    w = open_map(browser, server, viewport=(390, 844), is_mobile=True, has_touch=True)
    page = w.page
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    card = page.locator("#me").bounding_box()
    mapbox = page.locator("#map").bounding_box()
    assert card["y"] < mapbox["y"] and mapbox["width"] >= 380 and mapbox["height"] >= 300
    screenshot(page, "map-phone.png", tmp_path)
    # Keyboard: the first Tab reaches the skip link, which moves focus to the alert list.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#alerts"
    # Screen readers: named controls, a live region for my area, a timer, a labelled map.
    tree = page.locator("body").aria_snapshot()
    for expected in (
        'button "Use my location"',
        'button "Pick on map"',
        'combobox "Language"',
        'slider "Time in history"',
        'checkbox "Siren tone when my area is alerted"',
        'region "Map of alert areas.',
        'heading "Alerts"',
    ):
        assert expected in tree, f"{expected} missing from the accessibility tree"
    # Keyboard only: choose an area by name ("Meron" is also part of other areas' names).
    page.focus("#area-search")
    page.keyboard.type("Meron")
    page.keyboard.press("Enter")
    expect(page.locator("#me-area")).to_have_text("Meron · Upper Galilee")
    page.fill("#area-search", "")
    page.keyboard.type("Tel Aviv - City Center")
    page.keyboard.press("Enter")
    expect(page.locator("#me-shelter")).to_have_text("Time to shelter: 90 s")
    assert page.get_attribute("#me-state", "aria-live") == "assertive"
    assert page.get_attribute("#me-timer", "role") == "timer"
    assert w.problems == []
    page.context.close()


def next_frames(page: Page) -> None:
    """Wait until the page has drawn twice (its updates are batched per animation frame)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def set_scrubber(page: Page, t_unix_s: float) -> None:
    page.evaluate(
        "(t) => { const s = document.getElementById('scrubber'); s.value = String(Math.floor(t));"
        " s.dispatchEvent(new Event('input', {bubbles: true})); }",
        t_unix_s,
    )


def test_history_timeline_scrubber_and_replay(browser, server, tmp_path):
    # A stored run two hours ago: pre-alert, alert, areas added, all clear.
    t0 = time.time() - 7200
    alert_id = server.new_alert_id()
    home = server.areas.locate(*BEERSHEBA).id  # no other test alerts around Be'er Sheva
    run_ids = [home, *[int(i) for i in server.areas.within_m(*BEERSHEBA, 6000) if i != home][:3]]
    pre = server.write(alert_id, "pre_alert", run_ids, t=t0)
    first = server.write(alert_id, "alert", run_ids[:2], refs=[pre.seq], t=t0 + 10)
    second = server.write(alert_id, "update", run_ids[2:], refs=[first.seq], t=t0 + 15)
    server.write(alert_id, "ended", run_ids, refs=[pre.seq, first.seq, second.seq], t=t0 + 60)
    w = open_map(browser, server)
    page = w.page
    page.evaluate(
        "([lat, lon]) => { window.redcolor.map.setView([lat, lon], 12, {animate: false}); }",
        BEERSHEBA,
    )
    page.click("#load-history")
    page.wait_for_function("() => !document.getElementById('scrubber').disabled")
    assert "events" in page.inner_text("#history-status")
    point = list(server.inside_point(home))

    def stage_is(stage: str) -> None:
        page.wait_for_function(STAGE_AT_JS, arg=[*point, stage], polling="raf", timeout=5000)

    # Step through the run event by event (keyboard-usable buttons).
    set_scrubber(page, t0 - 1)
    page.click("#next-event")
    stage_is("pre_alert")
    page.click("#next-event")
    stage_is("alert")
    page.click("#prev-event")
    stage_is("pre_alert")
    set_scrubber(page, t0 + 12)
    stage_is("alert")
    assert page.get_attribute("#status", "data-state") == "replay"
    assert not page.is_hidden("#live")
    expect(page.locator("#alert-list li").first).to_contain_text("Areas (4)")
    expect(page.locator("#alert-list li .badge").first).to_have_text("Alert")
    set_scrubber(page, t0 + 61)
    stage_is("ended")
    # Keyboard: the scrubber is a slider that steps by one second.
    page.focus("#scrubber")
    before = int(page.input_value("#scrubber"))
    page.keyboard.press("ArrowRight")
    assert int(page.input_value("#scrubber")) == before + 1
    # Replay at 60x from just before the run: the area goes red, then green, by itself.
    set_scrubber(page, t0 - 1)
    next_frames(page)
    assert color_at(page, *point)[3] < 60
    page.select_option("#speed", "60")
    page.click("#play")
    stage_is("alert")
    screenshot(page, "map-replay.png", tmp_path)
    stage_is("ended")
    page.click("#play")  # pause
    # Back to live: the page shows the live state again (nothing active there).
    page.click("#live")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert page.evaluate("() => window.redcolor.shown() === window.redcolor.live")
    next_frames(page)
    assert color_at(page, *point)[3] < 60
    assert w.problems == []
    page.context.close()


def test_stream_resumes_after_a_disconnect_without_gap_or_duplicate(browser, server):
    urls: list[str] = []
    routes = []

    def route(ws) -> None:
        urls.append(ws.url)
        routes.append(ws)
        ws.connect_to_server()

    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    watched = Watched(page)
    page.route_web_socket(lambda url: "/v1/stream" in url, route)
    page.goto(server.origin + "/")
    page.wait_for_function("() => window.redcolor && window.redcolor.live.lastSeq >= 0")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    alert_id = server.new_alert_id()
    first = server.write(alert_id, "alert", [1502])
    page.wait_for_function("(seq) => window.redcolor.live.lastSeq === seq", arg=first.seq)
    # The connection drops; two events are written while the page is away.
    routes[-1].close(code=1001, reason="test drop")
    second = server.write(alert_id, "update", [1477], refs=[first.seq])
    third = server.write(alert_id, "update", [1536], refs=[second.seq])
    page.wait_for_function(
        "(seq) => window.redcolor.live.lastSeq === seq", arg=third.seq, timeout=10000
    )
    assert len(urls) == 2
    assert urls[1].endswith(f"since={first.seq}")
    assert page.evaluate("() => window.redcolor.metrics.duplicates") == 0
    covered = page.evaluate(
        "(id) => [1502, 1477, 1536].map(a => window.redcolor.live.covering.get(a).has(id))",
        alert_id,
    )
    assert covered == [True, True, True]
    # Frames that are not alert events are counted and skipped; the stream goes on.
    for junk in ("not json", '{"seq": "7"}', '{"seq": 99, "id": "x", "stage": "boom"}', "[]"):
        routes[-1].send(junk)
    fourth = server.write(alert_id, "update", [1484], refs=[third.seq])
    page.wait_for_function("(seq) => window.redcolor.live.lastSeq === seq", arg=fourth.seq)
    assert page.evaluate("() => window.redcolor.metrics.malformed") == 4
    server.write(alert_id, "ended", [1502, 1477, 1536, 1484], refs=[first.seq, fourth.seq])
    assert [p for p in watched.problems if "WebSocket" not in p] == []
    context.close()


GHOST_JS = """() => window.redcolor.live.apply({
  id: "ghost", seq: 1000000, category: "missiles", stage: "alert",
  areas: [{id: 1542, shelter_s: 60}], issued_at_unix_s: Date.now() / 1000,
  expires_at_unix_s: null, source: [], instructions: {}, references: [], status: "actual",
})"""


def test_a_reset_frame_makes_the_page_reload_its_state_and_resume_on_the_new_log(browser, server):
    """The page holds a seq and an alert from another log (as after the server's store was
    reset): the server answers its resume with a reset frame; the page forgets what it held,
    loads the state again and resumes on the new log, with nothing refused or lost."""
    urls: list[str] = []
    routes = []

    def route(ws) -> None:
        urls.append(ws.url)
        routes.append(ws)
        ws.connect_to_server()

    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    watched = Watched(page)
    page.route_web_socket(lambda url: "/v1/stream" in url, route)
    page.goto(server.origin + "/")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    alert_id = server.new_alert_id()
    first = server.write(alert_id, "alert", [1541])
    page.wait_for_function("(seq) => window.redcolor.live.lastSeq === seq", arg=first.seq)
    page.evaluate(GHOST_JS)
    routes[-1].close(code=1001, reason="test drop")
    second = server.write(alert_id, "update", [1477], refs=[first.seq])
    page.wait_for_function(
        "(seq) => window.redcolor.live.lastSeq === seq", arg=second.seq, timeout=15000
    )
    log = server.writer.log_id()
    assert len(urls) == 3
    assert urls[1].endswith(f"log={log}&since=1000000")  # resumed from the ghost's seq: reset
    assert f"log={log}&since=" in urls[2] and not urls[2].endswith("since=1000000")
    live = page.evaluate(
        "(id) => [window.redcolor.live.alerts.has('ghost'),"
        " [1541, 1477].map(a => window.redcolor.live.covering.get(a).has(id))]",
        alert_id,
    )
    assert live == [False, [True, True]]
    assert page.evaluate("() => window.redcolor.metrics.malformed") == 0
    server.write(alert_id, "ended", [1541, 1477], refs=[first.seq, second.seq])
    assert [p for p in watched.problems if "WebSocket" not in p] == []
    context.close()


def load_reference():
    path = Path(__file__).resolve().parents[1] / "reference" / "map_reference.py"
    spec = importlib.util.spec_from_file_location("map_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def random_run(rng: random.Random, area_shelter_s: dict[int, int]) -> list[dict]:
    """A random, often odd, event sequence: stages in any order, time ties, seq != time order."""
    t = 1_700_000_000.0
    events = []
    for seq in range(1, rng.randint(5, 45)):
        t += rng.choice([0.0, 0.5, 1.0, 4.0, 11.0, 40.0])
        stage = rng.choice(["pre_alert", "alert", "alert", "update", "ended", "cancelled"])
        release = stage in ("ended", "cancelled")
        ids = rng.sample(sorted(area_shelter_s), rng.randint(0 if release else 1, 4))
        alert_id = f"a{rng.randint(1, 4)}"
        events.append(
            {
                "id": alert_id,
                "seq": seq,
                "category": "missiles",
                "stage": stage,
                "areas": [{"id": i, "shelter_s": area_shelter_s[i]} for i in ids],
                "issued_at_unix_s": t + (rng.choice([0.0, -3.0, 2.5]) if rng.random() < 0.1 else 0),
                "expires_at_unix_s": None,
                "source": [],
                "instructions": {},
                "references": [],
                "status": "exercise" if alert_id == "a4" else "actual",  # a4 is a drill
            }
        )
    return events


REPLAY_JS = """async ({ runs, areaIds, holdS }) => {
  const { Replay } = await import(new URL('/js/history.js', location.href).href);
  return runs.map(({ events, queries }) => {
    const replay = new Replay(events, holdS);
    return queries.map((t) => {
      replay.seek(t);
      return areaIds.map((a) => {
        const v = replay.state.view(a, t);
        return v ? [v.stage, v.remainingS] : null;
      });
    });
  });
}"""


def test_page_alert_state_matches_the_reference_on_random_runs(browser, server):
    """The page's fold (alertstate.js through Replay.seek, forwards and backwards) shows what the
    slow reference says for every area at every queried time."""
    ref = load_reference()
    rng = random.Random(20240106)
    shelter = {1: 0, 2: 15, 3: 30, 4: 45, 5: 60, 6: 90, 7: 15, 8: 90}
    hold_s = 600.0
    runs = []
    for _ in range(60):
        events = random_run(rng, shelter)
        times = [e["issued_at_unix_s"] for e in events]
        queries = [rng.uniform(min(times) - 5, max(times) + hold_s + 30) for _ in range(12)]
        queries += rng.sample(times, min(len(times), 6))  # exactly at an event (ties)
        runs.append({"events": events, "queries": queries})
    w = open_map(browser, server)
    got = w.page.evaluate(REPLAY_JS, {"runs": runs, "areaIds": sorted(shelter), "holdS": hold_s})
    compared = 0
    for run, views in zip(runs, got, strict=True):
        for t, row in zip(run["queries"], views, strict=True):
            for area_id, view in zip(sorted(shelter), row, strict=True):
                want = ref.view_at(run["events"], area_id, t, hold_s)
                if want is None or view is None:
                    assert view == want, (area_id, t, run["events"])
                else:
                    assert view[0] == want[0], (area_id, t, view, want)
                    assert view[1] == pytest.approx(want[1], abs=1e-6), (area_id, t)
                compared += 1
    assert compared > 5000
    assert {v[0] for row in got for views in row for v in views if v} == {
        "alert",
        "pre_alert",
        "ended",
    }
    w.page.context.close()


def test_client_side_locate_agrees_with_the_server_index(browser, server):
    """The page finds a visitor's area itself (no location leaves the browser): for random
    points over the country and points inside random areas it must name the area the server's
    AreaIndex names."""
    rng = random.Random(7)
    points = [(rng.uniform(29.45, 33.34), rng.uniform(34.25, 35.90)) for _ in range(3000)]
    for area in rng.sample(list(server.areas.areas), 300):
        p = area.polygon.representative_point()
        points.append((p.y, p.x))
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    want = server.areas.locate_many(lat, lon).tolist()
    w = open_map(browser, server)
    got = w.page.evaluate(
        "(points) => points.map(([lat, lon]) => {"
        " const e = window.redcolor.index.locate(lat, lon); return e ? e.id : -1; })",
        points,
    )
    disagree = [(p, g, x) for p, g, x in zip(points, got, want, strict=True) if g != x]
    # Some area polygons overlap; a point in two areas may be named by either (both contain it).
    for (la, lo), g, x in disagree:
        assert g != -1 and x != -1, f"({la}, {lo}): page {g}, server {x}"
        point = shapely.Point(lo, la)
        assert server.areas.get(g).polygon.covers(point), (la, lo, g)
        assert server.areas.get(x).polygon.covers(point), (la, lo, x)
    assert len(disagree) < 0.01 * len(points)
    assert sum(1 for x in want if x != -1) > 400  # the 300 inner points and some random ones
    w.page.context.close()


@pytest.mark.slow
def test_simulated_salvo_on_redcolor_serve_paints_areas_within_one_second(browser, tmp_path):
    """`redcolor serve --simulate meron-2024-01-06`: the pipeline writes alerts as the salvo is
    tracked; every alert event is painted on the map within 1 s of reaching the store."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = tmp_path / "sim.db"
    command = [
        str(Path(sys.executable).with_name("redcolor")),
        *("serve", "--db", str(db), "--port", str(port)),
        *("--simulate", "meron-2024-01-06", "--speed", "3"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        origin = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(origin + "/health", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "redcolor serve did not start"
                time.sleep(0.1)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        watched = Watched(page)
        page.goto(origin + "/")
        page.wait_for_function("() => window.redcolor && window.redcolor.ready", timeout=20000)
        page.evaluate("() => { window.redcolor.map.setView([33.0, 35.42], 11, {animate: false}); }")
        # Note when each event reaches the store (polled every 5 ms from here).
        seen_at: dict[int, float] = {}
        stop = threading.Event()

        def watch_store() -> None:
            reader = SQLiteEventStore(db, readonly=True)
            while not stop.is_set():
                now = time.time()
                for row in reader.read_since(max(seen_at, default=0), 1000):
                    seen_at.setdefault(row.seq, now)
                time.sleep(0.005)
            reader.close()

        watcher = threading.Thread(target=watch_store, daemon=True)
        watcher.start()
        page.wait_for_function(
            "() => window.redcolor.metrics.drawnAt.length >= 1", timeout=120000, polling=200
        )
        page.wait_for_timeout(8000)  # and whatever else the salvo brings in the next seconds
        stop.set()
        watcher.join(5)
        screenshot(page, "map-simulated-salvo.png", tmp_path)
        drawn = dict(page.evaluate("() => window.redcolor.metrics.drawnAt"))
        delays = {seq: drawn[seq] - seen_at[seq] for seq in drawn if seq in seen_at}
        assert delays, "no alert event was both seen in the store and drawn"
        assert max(delays.values()) < 1.0, f"written -> painted: {sorted(delays.values())}"
        # And the areas of the first alert are red on the map (or green, once it has ended).
        areas = load_areas("current")
        first = page.evaluate(
            "() => [...window.redcolor.live.alerts.values()].sort((a, b) => a.firstS - b.firstS)"
            "[0].areaIds.values().next().value"
        )
        lat, lon = inside_point(areas, first)
        page.evaluate(
            "([lat, lon]) => { window.redcolor.map.setView([lat, lon], 12, {animate: false}); }",
            [lat, lon],
        )
        stage = page.evaluate(
            "(id) => window.redcolor.live.view(id, Date.now() / 1000).stage", first
        )
        page.wait_for_function(STAGE_AT_JS, arg=[lat, lon, stage], polling="raf", timeout=5000)
        assert watched.problems == []
        context.close()
    finally:
        process.terminate()
        process.wait(10)


def test_countdown_runs_on_the_server_clock_when_the_device_clock_is_wrong(browser, server):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    watched = Watched(page)
    fast = datetime.datetime.fromtimestamp(time.time() + 180, datetime.UTC)
    page.clock.set_system_time(fast)  # the device's clock is three minutes fast
    page.goto(server.origin + "/")
    page.wait_for_function("() => window.redcolor && window.redcolor.ready", timeout=20000)
    assert page.evaluate("() => window.redcolor.serverNowS()") == pytest.approx(time.time(), abs=2)
    page.fill("#area-search", "Tel Aviv - City Center")
    page.press("#area-search", "Enter")
    expect(page.locator("#me-shelter")).to_have_text("Time to shelter: 90 s")
    alert_id = server.new_alert_id()
    event = server.write(alert_id, "alert", [742])
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'alert'")
    left = int(page.inner_text("#me-timer").split()[0])
    assert 80 <= left <= 90, f"{left} s left of 90 (a clock 3 min fast would show 0)"
    server.write(alert_id, "ended", [742], refs=[event.seq])
    assert watched.problems == []
    context.close()


def test_my_area_counts_down_to_the_earliest_predicted_impact_or_says_it_is_unknown(
    browser, server, tmp_path
):
    """Issue 16: the card at "my location" counts down to the earliest predicted impact of its
    area (besides the shelter time), follows an update that moves it, says the window is open
    once it has begun, and says the time is unknown for an alert that gives none (an
    operator's)."""
    w = open_map(browser, server)
    page = w.page
    page.fill("#area-search", "Tel Aviv - City Center")
    page.press("#area-search", "Enter")
    expect(page.locator("#me-shelter")).to_have_text("Time to shelter: 90 s")
    impact = page.locator("#me-impact")
    expect(impact).to_be_hidden()  # no alert: nothing to say
    now = time.time()
    alert_id = server.new_alert_id()
    # a long flight: alerted at its shelter time plus margin before the predicted impact
    event = server.write(alert_id, "alert", [742], windows={742: (now + 125.0, now + 132.0)})
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'alert'")
    expect(impact).to_have_attribute("data-known", "true")

    def seconds_left() -> int:
        text = impact.inner_text()
        found = re.fullmatch(r"Predicted impact in (?:(\d+) min )?(\d+) s", text)
        assert found, text
        return int(found.group(1) or 0) * 60 + int(found.group(2))

    first = seconds_left()
    assert 120 <= first <= 125, first
    assert impact.inner_text().startswith("Predicted impact in 2 min ")
    page.wait_for_timeout(1300)
    assert first - 2 <= seconds_left() < first  # it ticks
    assert "Take shelter now" in page.inner_text("#me-state")  # the shelter countdown stays
    screenshot(page, "map-countdown.png", tmp_path)
    # an update moves the impact earlier; then the window opens
    moved = server.write(
        alert_id, "update", [742], refs=[event.seq], windows={742: (now + 20.0, now + 26.0)}
    )
    expect(impact).to_have_text(re.compile(r"^Predicted impact in (1?\d|20) s$"))
    assert 12 <= seconds_left() <= 20
    opened = server.write(
        alert_id, "update", [742], refs=[moved.seq], windows={742: (now - 1.0, now + 600.0)}
    )
    expect(impact).to_contain_text("Impact possible now, until ")
    page.select_option("#lang", "he")
    expect(impact).to_contain_text("נפילה אפשרית עכשיו")
    page.select_option("#lang", "en")
    server.write(alert_id, "ended", [742], refs=[opened.seq])
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'ended'")
    expect(impact).to_be_hidden()
    # an operator's alert gives no window: the card says so, the shelter countdown still runs
    manual_id = server.new_alert_id()
    manual = server.write(manual_id, "alert", [742])
    page.wait_for_function("() => document.getElementById('me-card').dataset.stage === 'alert'")
    expect(impact).to_have_text("Impact time unknown")
    expect(impact).to_have_attribute("data-known", "false")
    assert 80 <= int(page.inner_text("#me-timer").split()[0]) <= 90
    screenshot(page, "map-countdown-unknown.png", tmp_path)
    server.write(manual_id, "ended", [742], refs=[manual.seq])
    assert w.problems == []
    page.context.close()


# Last in this module: the "sent in error" notice it leaves stays over the map for minutes.
def test_exercise_banner_and_the_notice_of_an_alert_sent_in_error(browser, server, tmp_path):
    """While an exercise alert is active the map says EXERCISE over it; a cancelled (false)
    alert leaves the map at once (its areas are not even marked ended) and a notice says it was
    sent in error; real and exercise alerts on the page keep their own colours meanwhile."""
    w = open_map(browser, server)
    page = w.page
    page.evaluate("() => { window.redcolor.map.setView([33.0, 35.42], 11, {animate: false}); }")
    banner, notice = page.locator("#exercise-banner"), page.locator("#cancel-notice")
    expect(banner).to_be_hidden()
    expect(notice).to_be_hidden()
    drill_ids, real_ids = MERON_AREA_IDS[:3], MERON_AREA_IDS[3:6]
    points = {i: server.inside_point(i) for i in MERON_AREA_IDS[:6]}
    drill_id, real_id = server.new_alert_id(), server.new_alert_id()
    started = time.monotonic()
    drill = server.write(drill_id, "alert", drill_ids, status="exercise")
    expect(banner).to_be_visible(timeout=5000)
    print(f"exercise written -> banner shown: {time.monotonic() - started:.3f} s")
    expect(banner).to_contain_text("EXERCISE")
    expect(banner).to_contain_text("not a real alert")
    for i in drill_ids:
        page.wait_for_function(STAGE_AT_JS, arg=[*points[i], "alert"], polling="raf", timeout=5000)
    item = page.locator("#alert-list li").first
    expect(item.locator(".badge-exercise")).to_have_text("Exercise")
    real = server.write(real_id, "alert", real_ids)
    for i in real_ids:
        page.wait_for_function(STAGE_AT_JS, arg=[*points[i], "alert"], polling="raf", timeout=5000)
    # the real alert was false: an operator cancels it
    started = time.monotonic()
    server.write(real_id, "cancelled", real_ids, refs=[real.seq])
    expect(notice).to_be_visible(timeout=5000)
    print(f"cancel written -> notice shown: {time.monotonic() - started:.3f} s")
    expect(notice).to_contain_text("An alert was sent in error: Rocket and missile fire")
    expect(notice).to_contain_text("There is no danger")
    page.wait_for_function(
        "(points) => points.every(([lat, lon]) => {"
        "  const id = window.redcolor.index.locate(lat, lon).id;"
        "  return window.redcolor.live.view(id, Date.now() / 1000) === null; })",
        arg=[list(points[i]) for i in real_ids],
        timeout=5000,
    )
    for i in real_ids:  # nothing drawn: neither red nor the green of an all-clear
        page.wait_for_function(
            "(p) => { const c = (" + PIXEL_JS + ")(p); return c[3] < 60; }",
            arg=list(points[i]),
            polling="raf",
            timeout=5000,
        )
    for i in drill_ids:  # the exercise goes on, banner and all
        assert page.evaluate(STAGE_AT_JS, [*points[i], "alert"])
    expect(banner).to_be_visible()
    cancelled = page.locator("#alert-list li.stage-cancelled")
    expect(cancelled.locator(".badge").first).to_have_text("Sent in error")
    # Hebrew: the same notices in the visitor's language
    page.select_option("#lang", "he")
    expect(banner).to_contain_text("תרגיל")
    expect(notice).to_contain_text("נשלחה בטעות")
    expect(cancelled.locator(".badge").first).to_have_text("נשלחה בטעות")  # the list, redrawn
    screenshot(page, "map-exercise-and-cancel.png", tmp_path)
    page.select_option("#lang", "en")
    # the exercise ends: the banner goes, the notice stays for its while
    server.write(drill_id, "ended", drill_ids, refs=[drill.seq], status="exercise")
    expect(banner).to_be_hidden(timeout=5000)
    for i in drill_ids:
        page.wait_for_function(STAGE_AT_JS, arg=[*points[i], "ended"], polling="raf", timeout=5000)
    expect(notice).to_be_visible()
    # a page opened now learns both from the recent history
    w2 = open_map(browser, server)
    expect(w2.page.locator("#cancel-notice")).to_contain_text("sent in error")
    expect(w2.page.locator("#exercise-banner")).to_be_hidden()
    assert w.problems == [] and w2.problems == []
    page.context.close()
    w2.page.context.close()
