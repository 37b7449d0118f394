"""No silent failure (issue 11, item 5): every background task is supervised, its death shows
on ``/health`` (degraded with the reason within 1 s, 503 when the pipeline is down) and in
``/metrics``, and it is ok again once the task runs again.

Real uvicorn servers on loopback, real services (a real Mosquitto started for the test, the
real pipeline thread), and the real CLI as a subprocess for the start-up refusals.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.metrics import Metrics
from redcolor.serve.run import (
    channel_services,
    plan_simulation,
    simulate_scenario,
    simulation_service,
)
from redcolor.serve.state import ServeConfig
from redcolor.serve.supervise import Backoff, Supervisor, Task, TaskRecord, describe, overall
from redcolor.sim.scenario import load_scenario

from .conftest import LiveServer, make_state

POLL_S = 0.05


# ---- the policy, without a loop ------------------------------------------------------------


def test_backoff_doubles_to_its_cap():
    backoff = Backoff(first_s=0.1, factor=2.0, cap_s=10.0)
    assert [backoff.delay_s(n) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert backoff.delay_s(8) == 10.0 and backoff.delay_s(50) == 10.0


def test_record_restarts_with_backoff_and_resets_after_a_healthy_run():
    record = TaskRecord("mqtt", now_s=0.0, backoff=Backoff(healthy_s=30.0))
    assert record.state == "running" and record.up
    assert record.failed("OSError: refused", 1.0) == pytest.approx(0.1)
    assert (record.state, record.reason, record.restarts) == ("restarting", "OSError: refused", 1)
    assert not record.up and record.since_s == 1.0
    record.started(1.1)
    assert record.failed("OSError: refused", 1.2) == pytest.approx(0.2)  # in a row: doubled
    record.started(1.4)
    assert (record.state, record.reason, record.last_error) == ("running", None, "OSError: refused")
    # ran 40 s before failing again: the series starts over
    assert record.failed("OSError: reset", 41.4) == pytest.approx(0.1)
    assert record.restarts == 3


def test_a_task_not_restarted_fails_and_a_finished_one_is_no_fault():
    pipeline = TaskRecord("pipeline", now_s=0.0, restart=False, critical=True)
    assert pipeline.failed("StoreError", 5.0) is None
    assert (pipeline.state, pipeline.restarts) == ("failed", 0)
    done = TaskRecord("pipeline", now_s=0.0, restart=False, critical=True)
    done.finished(3.0)
    assert done.state == "finished" and done.up


def test_overall_status_and_reason():
    follower = TaskRecord("follower", now_s=0.0, critical=True)
    mqtt = TaskRecord("mqtt", now_s=0.0)
    assert overall([follower, mqtt]) == ("ok", None)
    mqtt.reported("broker unavailable", 1.0)
    assert overall([follower, mqtt]) == ("degraded", "mqtt: broker unavailable")
    follower.failed("RuntimeError: boom", 2.0)
    assert overall([follower, mqtt]) == (
        "down",
        "follower: RuntimeError: boom; mqtt: broker unavailable",
    )
    mqtt.reported(None, 3.0)
    follower.started(3.0)
    assert overall([follower, mqtt]) == ("ok", None)


def test_describe_is_one_bounded_line():
    assert describe(ValueError("a\nb")) == "ValueError: a b"
    assert describe(TimeoutError()) == "TimeoutError"
    assert len(describe(RuntimeError("x" * 5000))) == 300


async def test_supervisor_restarts_a_failing_task_and_counts_it():
    metrics = Metrics()
    supervisor = Supervisor(metrics.task_up, metrics.task_restarts, Backoff(first_s=0.01))
    attempts = []

    async def flaky() -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 4:
            raise RuntimeError(f"attempt {len(attempts)}")
        await asyncio.sleep(3600)

    async with supervisor.running([Task("flaky", flaky)]):
        while len(attempts) < 4:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)
        record = supervisor.records["flaky"]
        assert (record.state, record.restarts, record.last_error) == (
            "running",
            3,
            "RuntimeError: attempt 3",
        )
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02 and gaps[2] >= 0.04  # backoff doubles
    assert metrics.registry.get_sample_value("redcolor_task_restarts_total", {"task": "flaky"}) == 3


async def test_a_task_cancelled_from_inside_is_a_fault_and_a_stop_is_not():
    metrics = Metrics()
    supervisor = Supervisor(metrics.task_up, metrics.task_restarts, Backoff(first_s=0.01))
    attempts = []

    async def cancelled_inside() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise asyncio.CancelledError  # as a library's internal cancellation can surface
        await asyncio.sleep(3600)

    async with supervisor.running([Task("lib", cancelled_inside)]):
        while len(attempts) < 2:
            await asyncio.sleep(0.01)
        record = supervisor.records["lib"]
        assert (record.state, record.restarts, record.last_error) == (
            "running",
            1,
            "CancelledError",
        )
    assert record.restarts == 1  # stopping the server restarted nothing


# ---- a live server -------------------------------------------------------------------------


async def _health(client: httpx.AsyncClient) -> tuple[int, dict]:
    response = await client.get("/health")
    return response.status_code, response.json()


async def _poll_until(client, predicate, timeout_s: float = 10.0) -> tuple[float, int, dict]:
    """Poll /health every POLL_S until ``predicate(code, body)``; (monotonic time, code, body)."""
    deadline = time.monotonic() + timeout_s
    while True:
        code, body = await _health(client)
        if predicate(code, body):
            return time.monotonic(), code, body
        assert time.monotonic() < deadline, f"/health never matched: {code} {body}"
        await asyncio.sleep(POLL_S)


def _metric(text: str, name: str, task: str) -> float:
    prefix = f'{name}{{task="{task}"}} '
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line[len(prefix) :])


async def test_a_dying_service_turns_health_degraded_within_a_second_then_ok(
    tmp_path, areas
) -> None:
    """A service that raises after 0.3 s of running, three times, then runs on: each death is on
    /health (200, degraded, its reason) within 1 s; after its restarts it is ok again."""
    faults: list[float] = []

    async def flaky(state) -> None:
        await asyncio.sleep(0.3)
        if len(faults) < 3:
            faults.append(time.monotonic())
            raise ConnectionError(f"link lost #{len(faults)}")
        await asyncio.sleep(3600)

    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas, poll_s=0.005)
    # restarts after 0.4, 0.8, 1.6 s: each degraded spell is long enough to be seen on a busy
    # machine by a client polling every POLL_S
    state.tasks.backoff = Backoff(first_s=0.4)
    with LiveServer(state, [flaky]) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            _, code, body = await _poll_until(client, lambda c, b: "flaky" in b["tasks"])
            assert code == 200 and body["status"] == "ok"
            assert set(body["tasks"]) == {"follower", "sirens", "lapses", "flaky"}
            assert body["last_seq"] == 0 and body["store"] == state.store.path
            detected: list[float] = []
            for n in range(1, 4):
                seen, code, body = await _poll_until(
                    client, lambda c, b, n=n: f"link lost #{n}" in (b["reason"] or "")
                )
                detected.append(seen - faults[n - 1])
                assert code == 200 and body["status"] == "degraded"
                assert body["reason"] == f"flaky: ConnectionError: link lost #{n}"
                task = body["tasks"]["flaky"]
                assert task["state"] == "restarting" and task["restarts"] == n
                assert abs(task["since_unix_s"] - time.time()) < 5
            assert max(detected) < 1.0, detected
            _, code, body = await _poll_until(client, lambda c, b: b["status"] == "ok")
            task = body["tasks"]["flaky"]
            assert (task["state"], task["reason"], task["restarts"]) == ("running", None, 3)
            assert task["last_error"] == "ConnectionError: link lost #3"
            text = (await client.get("/metrics")).text
            assert _metric(text, "redcolor_task_up", "flaky") == 1.0
            assert _metric(text, "redcolor_task_restarts_total", "flaky") == 3.0
            assert _metric(text, "redcolor_task_restarts_total", "follower") == 0.0
    print(f"fault -> /health degraded (s, polled every {POLL_S} s): {detected}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mosquitto:
    """A Mosquitto broker of the test's own, on a loopback port (the machine's 1883 is shared)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")
async def test_mqtt_broker_loss_shows_within_a_second_and_recovery_clears_it(
    tmp_path, areas
) -> None:
    broker = Mosquitto(tmp_path, _free_port())
    broker.start()
    config = {"mqtt_url": f"mqtt://127.0.0.1:{broker.port}", "poll_s": 0.005}
    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas, **config)
    try:
        with LiveServer(state, channel_services(state.config)) as server:
            async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
                _, code, body = await _poll_until(
                    client, lambda c, b: "mqtt" in b["tasks"] and b["status"] == "ok"
                )
                assert body["tasks"]["mqtt"]["state"] == "running"
                broker.stop()
                killed = time.monotonic()
                seen, code, body = await _poll_until(client, lambda c, b: b["status"] == "degraded")
                print(f"broker killed -> /health degraded: {seen - killed:.3f} s")
                assert seen - killed < 1.0
                assert code == 200 and body["reason"].startswith("mqtt: MQTT broker 127.0.0.1:")
                assert body["tasks"]["mqtt"]["state"] == "restarting"
                text = (await client.get("/metrics")).text
                assert _metric(text, "redcolor_task_up", "mqtt") == 0.0
                broker.start()
                _, code, body = await _poll_until(client, lambda c, b: b["status"] == "ok")
                assert body["tasks"]["mqtt"]["last_error"].startswith("MQTT broker")
    finally:
        broker.stop()


class NatsServer:
    """A nats-server of the test's own (JetStream, its store under tmp) on a loopback port."""

    def __init__(self, directory: Path, port: int) -> None:
        self.args = ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js"]
        self.args += ["-sd", str(directory / "jetstream")]
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_listening(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.05)


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs the nats-server binary")
async def test_an_idle_nats_publisher_shows_an_outage_and_recovers(tmp_path, areas, writer):
    """The core publishing to NATS, idle: an 8 s outage is on /health within 1 s; when NATS is
    back the publisher is ok again and the stream holds every event, those written meanwhile too.
    """
    import nats

    bus = NatsServer(tmp_path, _free_port())
    bus.start()
    url = f"nats://127.0.0.1:{bus.port}"
    server_store = SQLiteEventStore(writer.store.path)  # the server's own connection
    state = make_state(
        server_store,
        areas,
        nats_publish_url=url,
        signing_key=tmp_path / "core.key",
        poll_s=0.005,
    )
    try:
        with LiveServer(state, channel_services(state.config)) as server:
            async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
                await _poll_until(client, lambda c, b: "nats_publish" in b["tasks"])
                await _poll_until(client, lambda c, b: b["status"] == "ok")
                bus.stop()
                killed = time.monotonic()
                seen, code, body = await _poll_until(client, lambda c, b: b["status"] == "degraded")
                print(f"NATS killed -> /health degraded: {seen - killed:.3f} s")
                assert seen - killed < 1.0 and code == 200
                assert body["reason"].startswith(f"nats_publish: NATS {url} disconnected")
                written = writer.lifecycle([1477, 1474])  # while NATS is away
                await asyncio.sleep(8 - (time.monotonic() - killed))
                bus.start()
                await _poll_until(client, lambda c, b: b["status"] == "ok", timeout_s=20)
                nc = await nats.connect(url)
                try:
                    js = nc.jetstream()
                    deadline = time.monotonic() + 10
                    while (await js.stream_info("REDCOLOR")).state.last_seq < written[-1].seq:
                        assert time.monotonic() < deadline, "the publisher did not catch up"
                        await asyncio.sleep(0.05)
                finally:
                    await nc.close()
    finally:
        bus.stop()
        server_store.close()


async def test_mqtt_with_no_broker_is_degraded_from_the_start(tmp_path, areas) -> None:
    url = f"mqtt://127.0.0.1:{_free_port()}"  # nothing listens there
    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas, mqtt_url=url)
    with LiveServer(state, channel_services(state.config)) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            _, code, body = await _poll_until(
                client, lambda c, b: b["status"] == "degraded", timeout_s=3
            )
            assert code == 200 and "mqtt: MQTT broker 127.0.0.1:" in body["reason"]


async def test_pipeline_thread_death_is_a_503_with_its_reason(tmp_path, areas) -> None:
    """The real pipeline thread, which cannot open its store (the path is a directory): the
    server is down (503), the pipeline failed with the store's error and is not restarted."""
    simulated = simulate_scenario(load_scenario("meron-2024-01-06"))
    store = SQLiteEventStore(tmp_path / "a.db")
    state = make_state(store, areas)
    state.config = ServeConfig(db=tmp_path)  # the pipeline thread opens the store at config.db
    pipeline = simulation_service(simulated, 1000.0, *plan_simulation(state, simulated, 1000.0))
    with LiveServer(state, pipeline=pipeline) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            _, code, body = await _poll_until(client, lambda c, b: b["status"] != "ok")
            assert code == 503 and body["status"] == "down"
            assert body["reason"].startswith(f"pipeline: cannot open alert store {tmp_path}")
            task = body["tasks"]["pipeline"]
            assert (task["state"], task["restarts"], task["critical"]) == ("failed", 0, True)
            await asyncio.sleep(0.5)
            code, body = await _health(client)
            assert code == 503 and body["tasks"]["pipeline"]["restarts"] == 0
            text = (await client.get("/metrics")).text
            assert _metric(text, "redcolor_task_up", "pipeline") == 0.0


@pytest.mark.slow
async def test_a_pipeline_that_runs_to_its_end_is_finished_not_a_fault(tmp_path, areas) -> None:
    simulated = simulate_scenario(load_scenario("meron-2024-01-06"))
    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas, poll_s=0.005)
    pipeline = simulation_service(simulated, 1000.0, *plan_simulation(state, simulated, 1000.0))
    with LiveServer(state, pipeline=pipeline) as server:
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as client:
            _, code, body = await _poll_until(
                client,
                lambda c, b: b["tasks"].get("pipeline", {}).get("state") == "finished",
                timeout_s=60,
            )
            assert code == 200 and body["status"] == "ok" and body["last_seq"] > 0


# ---- start-up refusals, through the real CLI -----------------------------------------------

FAR_SALVO = """\
name = "far"
description = "A salvo aimed beyond its rockets' reach: it loads, the simulator refuses it"
start = "2024-09-22T03:00:00Z"
seed = 1

[[radar]]
id = "r1"
lat = 33.01
lon = 35.10
alt_m = 40.0
scan_period_s = 1.0
range_sigma_m = 15.0
angle_sigma_mrad = 2.0
detection_probability = 0.9
false_alarms_per_scan = 1.0
max_range_km = 80.0

[[salvo]]
projectile = "rocket-122mm-extended"
count = 4
at_s = 0.0
over_s = 10.0
launch = { lat = 33.08, lon = 35.17, radius_m = 1500.0 }
target = { lat = 30.0, lon = 35.0, radius_m = 1500.0 }
"""


def _refusals(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    far = tmp_path / "far.toml"
    far.write_text(FAR_SALVO)
    load_scenario(str(far))  # it does load
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    return {
        "bad MQTT URL": (["--mqtt", "http://broker"], "bad MQTT broker"),
        "bad NATS publish URL": (["--nats-publish", "garbage"], "bad NATS URL 'garbage'"),
        "bad NATS follow URL": (["--nats-follow", "nats://:4222"], "bad NATS URL"),
        "scenario the simulator refuses": (["--simulate", str(far)], "cannot reach"),
        "store that cannot be opened": (
            ["--db", str(tmp_path / "garbage.db")],
            "cannot open alert store",
        ),
        "store in a missing directory": (
            ["--db", str(tmp_path / "no" / "such" / "a.db")],
            "cannot open alert store",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad MQTT URL",
        "bad NATS publish URL",
        "bad NATS follow URL",
        "scenario the simulator refuses",
        "store that cannot be opened",
        "store in a missing directory",
        "port in use",
    ],
)
def test_a_configuration_that_cannot_work_is_refused_at_start(tmp_path, case) -> None:
    port = _free_port()
    with socket.create_server(("127.0.0.1", 0)) as busy:
        if case == "port in use":
            port = busy.getsockname()[1]
            options, words = [], f"cannot listen on 127.0.0.1:{port}"
        else:
            options, words = _refusals(tmp_path)[case]
        if "--db" not in options:
            options = [*options, "--db", str(tmp_path / "a.db")]
        command = [str(Path(sys.executable).with_name("redcolor")), "serve", "--port", str(port)]
        done = subprocess.run([*command, *options], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert err.startswith("redcolor: error:") and words in err, err
    assert done.stdout == ""


# ---- the map page --------------------------------------------------------------------------


def test_the_map_shows_a_notice_while_the_server_is_degraded(tmp_path, areas) -> None:
    """Headless Chromium on the real page: a notice with the reason while a service is down,
    gone once it runs again; no console error either way."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("needs Debian's chromium (make test installs it)")
    broken = [True]

    async def relay(state) -> None:
        if broken[0]:
            raise ConnectionRefusedError("relay 127.0.0.1:9 refused")
        await asyncio.sleep(3600)

    state = make_state(SQLiteEventStore(tmp_path / "a.db"), areas, poll_s=0.005)
    state.tasks.backoff = Backoff(first_s=0.2, cap_s=0.5)
    problems: list[str] = []
    with (
        LiveServer(state, [relay]) as server,
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
            playwright.expect(notice).to_contain_text("Part of the alert service is down")
            playwright.expect(notice).to_contain_text("relay: ConnectionRefusedError")
            assert notice.get_attribute("data-status") == "degraded"
            broken[0] = False
            playwright.expect(notice).to_be_hidden(timeout=12000)
        finally:
            browser.close()
    assert problems == []
