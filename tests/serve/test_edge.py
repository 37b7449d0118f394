"""An edge server on another machine: the core publishes its signed log to NATS JetStream (a
nats-server of the test's own, with users and permissions), the edge copies it into its own
store and serves it with the same seqs; what the core did not sign is never served."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent
from redcolor.serve.feeds import LIVE_PATH
from redcolor.serve.run import channel_services
from redcolor.serve.state import ServeConfig

from ..bus.natsd import STREAM, SUBJECT, USERS, NatsServer
from .conftest import LiveServer, SalvoWriter, make_state


@pytest.fixture
def natsd(tmp_path):
    with NatsServer(tmp_path / "natsd") as server:
        yield server


def _configs(tmp_path, url: str) -> tuple[ServeConfig, ServeConfig]:
    for name in ("core", "edge"):
        (tmp_path / f"{name}.pw").write_text(USERS[name])
    key = tmp_path / "core.key"
    core = ServeConfig(
        db=tmp_path / "core.db",
        nats_publish_url=url,
        nats_user="core",
        nats_password_file=tmp_path / "core.pw",
        signing_key=key,
    )
    channel_services(core)  # makes the key
    edge = ServeConfig(
        db=tmp_path / "edge.db",
        poll_s=0.01,
        nats_follow_url=url,
        nats_user="edge",
        nats_password_file=tmp_path / "edge.pw",
        verify_key=tmp_path / "core.key.pub",
    )
    return core, edge


async def _forge(url: str, area: AlertArea, now_unix_s: float) -> None:
    """The probe's attack, with the core's own NATS credentials: an unsigned alert with no
    expiry under the next seq, then a replay of the last real message."""
    nc = await nats.connect(url, user="core", password=USERS["core"])
    js = nc.jetstream()
    last = await js.get_msg(STREAM, (await js.stream_info(STREAM)).state.last_seq)
    seq = int(last.headers["Redcolor-Seq"]) + 1
    forged = AlertEvent("forged", seq, "missiles", "alert", (area,), now_unix_s, None, (), {})
    await js.publish(SUBJECT, EVENT_ENCODER.encode(forged))
    await js.publish(SUBJECT, last.data, headers=dict(last.headers, **{"Nats-Msg-Id": "again"}))
    await nc.close()


async def test_edge_serves_only_the_core_signed_log_with_the_same_seqs(
    tmp_path, areas, meron_ids, natsd
) -> None:
    core_config, edge_config = _configs(tmp_path, natsd.url)
    core = SQLiteEventStore(core_config.db)
    core_state = make_state(core, areas)
    services = {s.__name__: s for s in channel_services(core_config)}
    assert sorted(services) == ["keeper", "nats_publish"]  # a core keeps its lifecycle
    publish = services["nats_publish"]
    writer = SalvoWriter(core, areas)
    before = writer.lifecycle(meron_ids[:3], end=False)
    publisher = asyncio.create_task(publish(core_state))
    state = make_state(SQLiteEventStore(edge_config.db), areas, poll_s=0.01)
    state = type(state)(config=edge_config, store=state.store, areas=areas)
    try:
        with LiveServer(state, services=channel_services(edge_config)) as edge:
            async with websockets.connect(f"{edge.ws}/v1/stream?since=0") as ws:
                got = []
                while len(got) < len(before):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if "seq" in msg:
                        got.append(msg)
                forged_area = AlertArea(meron_ids[8], 15)
                await _forge(natsd.url, forged_area, writer.t)
                after = writer.lifecycle(meron_ids[3:6])
                while len(got) < len(before) + len(after):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if "seq" in msg:
                        got.append(msg)
            async with httpx.AsyncClient(base_url=edge.http) as http:
                active = (await http.get("/v1/alerts/active")).json()["areas"]
                live = (await http.get(LIVE_PATH)).text
                history = (await http.get("/v1/history", params={"limit": 100})).text
                atom = (await http.get("/cap/feed.atom")).text
                metrics = (await http.get("/metrics")).text
        stored = {e.seq: e for e in before + after}
        assert [m["seq"] for m in got] == sorted(stored)
        assert all(m["id"] == stored[m["seq"]].id for m in got)
        assert [r.body for r in state.store.read_since(0, 100)] == [
            r.body for r in core.read_since(0, 100)
        ]
        assert "forged" not in json.dumps(active) + live + history + atom
        assert meron_ids[8] not in {a["area_id"] for a in active}
        assert areas.get(meron_ids[8]).value not in live
        assert {a["alert_id"] for a in active} == {before[0].id}
        assert 'redcolor_bus_rejected_total{reason="unsigned"} 1.0' in metrics
        assert 'redcolor_bus_rejected_total{reason="replayed"} 1.0' in metrics
    finally:
        publisher.cancel()
        await asyncio.gather(publisher, return_exceptions=True)
