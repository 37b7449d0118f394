"""The live core in the server: radars on real loopback UDP, one of them lost midway.

A real uvicorn server runs the live core (``live_service``: UDP receiver -> ingest -> runner
thread -> store -> follower) on the machine's clock. The Sderot scenario's two radars are
emitted by the real emitter, each in its own thread from its own socket, in real time; one is
stopped 4 s in. The core keeps tracking with the other (alerts issued after the loss, its scans
still counted), ``/health`` shows the lost one degraded (200) within two of its scan periods of
its last datagram, and ``/metrics`` says the same. Malformed datagrams sent at the server from
an unregistered address meanwhile are counted there, and nothing in the server's log carries a
traceback.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from redcolor.alerts.durable import LifecycleLock
from redcolor.alerts.store import SQLiteEventStore
from redcolor.cli.main import main
from redcolor.sensors.asterix import encode_plots, encode_service
from redcolor.sensors.registry import dump_registry
from redcolor.sensors.udp import bind_udp
from redcolor.serve.live import SensorInput, live_service
from redcolor.sim.emit import ScanSent, emit, registry_of
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

from .conftest import CapturedLogs, LiveServer, make_state

pytestmark = pytest.mark.slow
STOP_AFTER_S = 4.0
"""Scenario seconds after which the second radar's emitter is stopped (before the first alert,
~9 s in: the alerts must come from the remaining radar)."""
RUN_S = 14.0
"""How long the remaining radar runs (scenario seconds): past Sderot's first alerts."""
JUNK = 600


def _junk(n: int, seed: int = 12) -> list[bytes]:
    """Malformed datagrams: random bytes, truncated and length-mangled real ones, a wrong
    category, empty, too large."""
    rng = random.Random(seed)
    good = [
        encode_service(1, 2, "north_marker", 100.0),
        *encode_plots(1, 2, 100.0, np.array([5e4, 6e4]), np.array([0.1, 0.2]),
                      np.array([0.05, 0.06]), None, radar_alt_m=0.0, simulated=True),
    ]  # fmt: skip
    out: list[bytes] = [b""]
    while len(out) < n:
        base = rng.choice(good)
        kind = rng.randrange(4)
        if kind == 0:
            out.append(rng.randbytes(rng.randrange(1, 200)))
        elif kind == 1:
            out.append(base[: rng.randrange(1, len(base))])
        elif kind == 2:
            out.append(bytes([base[0], 0xFF, 0xFF]) + base[3:])
        else:
            out.append(bytes([62]) + base[1:])
    return out


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of ``name`` in a Prometheus text page, with its labels."""
    out = []
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        metric, _, labels = head.partition("{")
        if metric != name:
            continue
        pairs = (p.split("=", 1) for p in labels.rstrip("}").split(",") if p)
        out.append(({k: v.strip('"') for k, v in pairs}, float(value)))
    return out


def _metric(text: str, name: str, **labels: str) -> float:
    (value,) = [v for got, v in _samples(text, name) if got == labels]
    return value


def _sum_metric(text: str, name: str, **labels: str) -> float:
    return sum(v for got, v in _samples(text, name) if labels.items() <= got.items())


async def test_one_radar_lost_midway_the_core_tracks_on_and_health_says_so(tmp_path, areas) -> None:
    sim = simulate(load_scenario("sderot-gaza"))
    registry = registry_of(sim, sources=("127.0.0.1",))
    kept, lost = (cfg.id for cfg in registry.sensors)
    period_s = registry.by_id(lost).scan_period_s
    db = tmp_path / "live.db"
    state = make_state(SQLiteEventStore(db), areas, poll_s=0.01, hold_s=3.0)
    lock = LifecycleLock(db)
    lock.acquire()
    sensors = SensorInput(registry, bind_udp("udp://127.0.0.1:0"))
    port = sensors.sock.getsockname()[1]
    url = f"udp://127.0.0.1:{port}"

    last_sent: dict[str, float] = {}  # wall time of each radar's last scan sent

    def on_scan(sent: ScanSent) -> None:
        last_sent[sent.sensor] = time.time()

    stops = {kept: threading.Event(), lost: threading.Event()}
    start = time.time() + 0.5
    threads = {
        radar: threading.Thread(
            target=emit,
            args=(sim, registry, url),
            kwargs={"start_unix_s": start, "radars": [radar], "stop": stops[radar],
                    "on_scan": on_scan},
            daemon=True,
        )
        for radar in (kept, lost)
    }  # fmt: skip
    junk = _junk(JUNK)
    with LiveServer(state, pipeline=live_service(sensors, lock)) as server, CapturedLogs() as logs:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            for thread in threads.values():
                thread.start()
            while time.time() < start + STOP_AFTER_S:
                await asyncio.sleep(0.05)
            body = (await client.get("/health")).json()
            assert body["status"] == "ok", body
            assert {s["id"]: s["state"] for s in body["sensors"]} == {kept: "ok", lost: "ok"}
            stops[lost].set()
            threads[lost].join(5)
            stopped_at = last_sent[lost]
            # malformed datagrams from an address no sensor may send from
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as bad:
                bad.bind(("127.0.0.2", 0))
                for data in junk:
                    bad.sendto(data, ("127.0.0.1", port))
            while True:  # /health until the lost radar shows degraded
                response = await client.get("/health")
                body = response.json()
                seen = {s["id"]: s for s in body["sensors"]}
                if seen[lost]["state"] == "degraded":
                    detected_s = time.time() - stopped_at
                    break
                assert time.time() - stopped_at < 10 * period_s, body
                await asyncio.sleep(0.02)
            assert response.status_code == 200 and body["status"] == "degraded"
            # its last scan's time stops advancing as its data does: whichever the ingest
            # notices first (the silence is certain a moment later, checked below)
            first_reason = seen[lost]["reason"]
            assert first_reason in ("silent", "clock_stopped") and seen[kept]["state"] == "ok"
            assert f"sensor {lost}: {first_reason}" in body["reason"]
            # within two scan periods of its last datagram (+ the receiver's 0.1 s tick and
            # this poll's 20 ms: health is judged when asked, the datagram age exactly)
            assert detected_s <= 2 * period_s + 0.25, detected_s
            scans_at_loss = seen[kept]["scans"]
            while time.time() < start + RUN_S:
                await asyncio.sleep(0.1)
            body = (await client.get("/health")).json()
            seen = {s["id"]: s for s in body["sensors"]}
            metrics = (await client.get("/metrics")).text
        stops[kept].set()
        threads[kept].join(5)
        events = list(state.store.iter_all())
    assert seen[kept]["state"] == "ok" and seen[kept]["scans"] > scans_at_loss + 5
    assert (seen[lost]["state"], seen[lost]["reason"]) == ("degraded", "silent")
    # the core kept tracking on the remaining radar: alerts issued after the loss
    after = [e for e in events if e.issued_at_unix_s > stopped_at]
    assert any(e.stage == "alert" for e in after), [(e.stage, e.issued_at_unix_s) for e in events]
    assert all(e.id.startswith("live-") for e in events)
    # /metrics: the sensors' state and counts, the junk counted, latency observed
    assert _metric(metrics, "redcolor_sensor_up", sensor=lost) == 0.0
    assert _metric(metrics, "redcolor_sensor_up", sensor=kept) == 1.0
    assert _sum_metric(metrics, "redcolor_sensor_datagrams_total", sensor="unregistered") == JUNK
    assert _metric(metrics, "redcolor_sensor_scans_total", sensor=kept) == seen[kept]["scans"]
    assert (
        _metric(metrics, "redcolor_sensor_datagrams_total", sensor=kept, result="accepted")
        >= 2 * seen[kept]["scans"]
    )
    assert _metric(metrics, "redcolor_ingest_latency_seconds_count") > 10
    assert logs.bad() == [], logs.bad()


async def test_health_lists_no_sensors_without_a_live_core(tmp_path, areas) -> None:
    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas)
    with LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            body = (await client.get("/health")).json()
            metrics = (await client.get("/metrics")).text
    assert body["status"] == "ok" and body["sensors"] == []
    assert "redcolor_sensor_up" not in metrics


# ---- start-up refusals: one line, exit 2, before the HTTP port is bound ----------------------


def _registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "sensors.toml"
    path.write_text(dump_registry(registry_of(simulate(load_scenario("meron-2024-01-06")))))
    return path


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("bad registry", "broken.toml"),
        ("missing registry", "no-such.toml"),
        ("bad URL", "bad UDP address 'tcp://127.0.0.1:9'"),
        ("busy UDP port", "cannot listen on udp://127.0.0.1:"),
        ("sensors without asterix", "--sensors FILE and --asterix udp://HOST:PORT go together"),
        ("with simulate", "--simulate runs its own radars"),
    ],
)
def test_a_live_core_that_cannot_work_is_refused_at_start(capsys, tmp_path, case, words) -> None:
    good = _registry_file(tmp_path)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy,
        socket.create_server(("127.0.0.1", 0)) as probe,
    ):
        busy.bind(("127.0.0.1", 0))
        http_port = probe.getsockname()[1]
        probe.close()  # free: a refusal must come before the server would bind it
        udp = f"udp://127.0.0.1:{_free_udp_port()}"
        args = {
            "bad registry": ["--sensors", str(_broken(tmp_path)), "--asterix", udp],
            "missing registry": ["--sensors", str(tmp_path / "no-such.toml"), "--asterix", udp],
            "bad URL": ["--sensors", str(good), "--asterix", "tcp://127.0.0.1:9"],
            "busy UDP port": [
                *("--sensors", str(good)),
                *("--asterix", f"udp://127.0.0.1:{busy.getsockname()[1]}"),
            ],
            "sensors without asterix": ["--sensors", str(good)],
            "with simulate": [
                *("--sensors", str(good), "--asterix", udp),
                *("--simulate", "meron-2024-01-06"),
            ],
        }[case]  # fmt: skip
        code = main(["serve", "--db", str(tmp_path / "a.db"), "--port", str(http_port), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("redcolor: error:") and words in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text('[[sensor]]\nid = "x"\nsac = 300\n')
    return path


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the map page --------------------------------------------------------------------------


def test_the_map_shows_a_radar_notice_while_a_sensor_is_degraded(tmp_path, areas) -> None:
    """Headless Chromium on the real page: the radars are registered and not heard (never_heard
    after two scan periods): a radar-coverage notice naming them; once they send, it goes."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("needs Debian's chromium (make test installs it)")
    sim = simulate(load_scenario("meron-2024-01-06"))
    registry = registry_of(sim, sources=("127.0.0.1",))
    db = tmp_path / "a.db"
    state = make_state(SQLiteEventStore(db), areas, poll_s=0.01)
    lock = LifecycleLock(db)
    lock.acquire()
    sensors = SensorInput(registry, bind_udp("udp://127.0.0.1:0"))
    url = f"udp://127.0.0.1:{sensors.sock.getsockname()[1]}"
    stop = threading.Event()
    problems: list[str] = []
    with (
        LiveServer(state, pipeline=live_service(sensors, lock)) as server,
        playwright.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(chromium), args=["--headless"])
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: m.type in ("error", "warning") and problems.append(m.text),
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.add_init_script("localStorage.setItem('redcolor.lang', 'en')")
            page.goto(server.http + "/")
            notice = page.locator("#health")
            playwright.expect(notice).to_be_visible(timeout=15000)
            playwright.expect(notice).to_contain_text("Radar coverage is degraded")
            first = registry.sensors[0].id
            playwright.expect(notice).to_contain_text(f"sensor {first}: never_heard")
            assert notice.get_attribute("data-status") == "degraded"
            assert notice.get_attribute("data-kind") == "sensors"
            emitter = threading.Thread(
                target=emit, args=(sim, registry, url), kwargs={"stop": stop}, daemon=True
            )
            emitter.start()
            playwright.expect(notice).to_be_hidden(timeout=12000)
        finally:
            stop.set()
            browser.close()
    assert problems == []


async def test_the_live_core_takes_radars_on_a_multicast_group(tmp_path, areas) -> None:
    """``--asterix udp://GROUP:PORT?iface=...``: the core joins the group, and the emitter's
    radars, sending to the group from their own sockets, are tracked and counted."""
    group = "239.255.12.35"
    try:
        sock = bind_udp(f"udp://{group}:0?iface=127.0.0.1")
    except Exception as exc:  # InputError: the kernel refuses the join here
        pytest.skip(f"the kernel refuses to join {group} on the loopback: {exc}")
    url = f"udp://{group}:{sock.getsockname()[1]}?iface=127.0.0.1"
    sim = simulate(load_scenario("sderot-gaza"))
    registry = registry_of(sim, sources=("127.0.0.1",))
    db = tmp_path / "live.db"
    state = make_state(SQLiteEventStore(db), areas, poll_s=0.01, hold_s=3.0)
    lock = LifecycleLock(db)
    lock.acquire()
    stop = threading.Event()
    sent: list[ScanSent] = []
    thread = threading.Thread(
        target=emit, args=(sim, registry, url),
        kwargs={"stop": stop, "on_scan": sent.append}, daemon=True,
    )  # fmt: skip
    pipeline = live_service(SensorInput(registry, sock), lock)
    with LiveServer(state, pipeline=pipeline) as server, CapturedLogs() as logs:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            thread.start()
            deadline = time.monotonic() + 10.0
            while True:
                body = (await client.get("/health")).json()
                scans = {s["id"]: s["scans"] for s in body["sensors"]}
                if min(scans.values()) >= 3 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
            metrics = (await client.get("/metrics")).text
        stop.set()
        thread.join(5)
    assert body["status"] == "ok", body
    assert min(scans.values()) >= 3, scans
    for cfg in registry.sensors:
        accepted = _metric(
            metrics, "redcolor_sensor_datagrams_total", sensor=cfg.id, result="accepted"
        )
        assert accepted >= 2 * scans[cfg.id]
    assert _sum_metric(metrics, "redcolor_sensor_datagrams_total", sensor="unregistered") == 0
    assert sent and logs.bad() == [], logs.bad()
