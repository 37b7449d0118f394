"""An edge's health across nodes, on a real nats-server: while the leader publishes its signed
heartbeat the edge is ok; once the leader is gone (its server stopped) the edge's ``/health``
says ``leader: gone`` after 1.5 s without a heartbeat, and the map page on the edge (headless
Chromium) shows the notice within 2 s of that; once a leader is back, both clear."""

from __future__ import annotations

import dataclasses
import json
import time

import httpx
import pytest
import websockets.sync.client
from playwright.sync_api import expect

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.run import channel_services
from redcolor.serve.state import ServeConfig, ServerState

from ..bus.natsd import USERS, NatsServer
from .conftest import LiveServer, SalvoWriter


@pytest.fixture
def natsd(tmp_path):
    with NatsServer(tmp_path / "natsd") as server:
        yield server


def _configs(tmp_path, url: str) -> tuple[ServeConfig, ServeConfig]:
    for name in ("core", "edge"):
        (tmp_path / f"{name}.pw").write_text(USERS[name])
    core = ServeConfig(
        db=tmp_path / "core.db",
        nats_publish_url=url,
        nats_user="core",
        nats_password_file=tmp_path / "core.pw",
        signing_key=tmp_path / "core.key",
    )
    channel_services(core)  # makes the key
    edge = ServeConfig(
        db=tmp_path / "edge.db",
        poll_s=0.005,
        nats_follow_url=url,
        nats_user="edge",
        nats_password_file=tmp_path / "edge.pw",
        verify_key=tmp_path / "core.key.pub",
    )
    return core, edge


def _core(config: ServeConfig, areas) -> LiveServer:
    state = ServerState(config=config, store=SQLiteEventStore(config.db), areas=areas)
    return LiveServer(state, channel_services(config))


def _leader(edge: LiveServer) -> dict:
    return httpx.get(f"{edge.http}/health", timeout=2).json()


def _wait(cond, timeout_s: float) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout_s, "condition not met in time"
        time.sleep(0.02)
    return time.monotonic() - start


def test_an_edge_says_leader_gone_in_health_and_on_the_map(
    tmp_path, areas, meron_ids, natsd, browser
):
    core_config, edge_config = _configs(tmp_path, natsd.url)
    SalvoWriter(SQLiteEventStore(core_config.db), areas).event("h1", "alert", meron_ids[:2])
    edge_state = ServerState(
        config=edge_config, store=SQLiteEventStore(edge_config.db), areas=areas
    )
    with LiveServer(edge_state, channel_services(edge_config)) as edge:
        with _core(core_config, areas):
            _wait(
                lambda: _leader(edge)["leader"]["last_seq"] == 1 and _leader(edge)["last_seq"] == 1,
                10,
            )
            health = _leader(edge)
            assert health["status"] == "ok" and health["leader"]["state"] == "ok", health
            page = browser.new_page()
            page.add_init_script("localStorage.setItem('redcolor.lang', 'en')")
            page.goto(edge.http + "/")
            page.wait_for_function("() => window.redcolor && window.redcolor.ready", timeout=20000)
            notice = page.locator("#health")
            expect(notice).to_be_hidden()
        # The leader's server is gone, and its heartbeat with it.
        _wait(lambda: _leader(edge)["status"] == "degraded", 4)  # leader_watch checks at 10 Hz
        health = _leader(edge)
        assert health["leader"]["state"] == "gone" and "leader gone" in health["reason"]
        assert health["leader"]["heard_s_ago"] > 1.5  # not before three beats were missed
        expect(notice).to_be_visible(timeout=2500)
        expect(notice).to_contain_text("leader gone")
        with _core(core_config, areas):  # a leader again (the same store and key)
            _wait(lambda: _leader(edge)["status"] == "ok", 5)
            expect(notice).to_be_hidden(timeout=2500)
        page.close()


def test_an_edge_keeping_a_tail_resets_a_client_resuming_before_it(tmp_path, areas, natsd):
    core_config, edge_config = _configs(tmp_path, natsd.url)
    edge_config = dataclasses.replace(edge_config, keep_events=3)
    core = SQLiteEventStore(core_config.db)
    writer = SalvoWriter(core, areas)
    for n, area in enumerate(a.id for a in areas.areas[:6]):
        writer.event(f"k{n}", "alert", [area])
    state = ServerState(config=edge_config, store=SQLiteEventStore(":memory:"), areas=areas)
    with _core(core_config, areas), LiveServer(state, channel_services(edge_config)) as edge:
        _wait(lambda: state.hub.last_seq == 6, 10)
        assert state.store.first_seq() == 4  # only the last three are kept
        url = f"{edge.ws}/v1/stream?since=1&log={core.log_id()}"
        with websockets.sync.client.connect(url) as ws:
            got = [json.loads(ws.recv(timeout=5)) for _ in range(4)]
    reset, *events = got
    assert reset["type"] == "reset" and reset["after_seq"] == 3, reset
    assert "older than this edge keeps" in reset["reason"]
    assert [e["seq"] for e in events] == [4, 5, 6]
    assert {e["log_id"] for e in events} == {core.log_id()}
