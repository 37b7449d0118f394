"""Acceptance: real WebSocket and SSE clients ride through salvos on a real server, disconnect
midway, resume from the last seq they hold, and end with every event exactly once, in order."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore

from .conftest import LiveServer, SalvoWriter, make_state, until


async def _write_salvos(writer, ids, rounds: int, pause_s: float = 0.003) -> None:
    for i in range(rounds):
        group = ids[i % 3 * 4 : i % 3 * 4 + 4]
        for stage_events in _lifecycle_steps(writer, group):
            stage_events()
            await asyncio.sleep(pause_s)


def _lifecycle_steps(writer, group):
    """The lifecycle of SalvoWriter.lifecycle, one event per step (so clients see it grow)."""
    state: dict[str, list] = {"ev": []}
    writer.n += 1
    aid = f"live-{writer.n}"

    def step(stage, areas):
        def go():
            refs = (
                [e.seq for e in state["ev"]][-1:]
                if stage != "ended"
                else [e.seq for e in state["ev"]]
            )
            state["ev"].append(writer.event(aid, stage, areas, refs=refs))

        return go

    return [
        step("pre_alert", group),
        step("alert", group[:2]),
        step("update", group[2:]),
        step("ended", group),
    ]


async def _ws_session(url: str, since: int, want: int, got: list[dict]) -> None:
    """Read until ``want`` more events arrived, then disconnect."""
    async with websockets.connect(
        f"{url}&since={since}" if "?" in url else f"{url}?since={since}"
    ) as ws:
        n = 0
        while n < want:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if "type" in msg:
                assert msg["type"] == "heartbeat"
                continue
            got.append(msg)
            n += 1


async def _sse_session(base: str, since: int, want: int, got: list[dict]) -> None:
    headers = {"Last-Event-ID": str(since)}
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{base}/v1/events", headers=headers) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        n, event_id, kind = 0, None, None
        async for line in r.aiter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:].rpartition(":")[2])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "alert":
                msg = json.loads(line[6:])
                assert msg["seq"] == event_id
                got.append(msg)
                n += 1
                if n >= want:
                    return


async def _client(kind: str, server, total: int, chunk: int, got: list[dict], url: str) -> None:
    since = 0
    while len(got) < total:
        want = min(chunk, total - len(got))
        if kind == "ws":
            await _ws_session(url, since, want, got)
        else:
            await _sse_session(server.http, since, want, got)
        since = got[-1]["seq"]


@pytest.mark.slow
async def test_ws_and_sse_resume_exactly_once_in_order(live_server, meron_ids):
    server = live_server
    server.writer.lifecycle(meron_ids[:4])  # history before anyone connects
    rounds = 15
    total = 4 + rounds * 4
    one_area = meron_ids[0]
    ws_got: list[dict] = []
    sse_got: list[dict] = []
    area_got: list[dict] = []
    producer = asyncio.create_task(_write_salvos(server.writer, meron_ids, rounds))
    expected_area = 2 + sum(3 for i in range(rounds) if i % 3 == 0)  # pre, alert, ended
    everyone = asyncio.gather(
        _client("ws", server, total, 9, ws_got, f"{server.ws}/v1/stream"),
        _client("sse", server, total, 11, sse_got, server.http),
        _client(
            "ws", server, expected_area + 1, 3, area_got, f"{server.ws}/v1/stream?areas={one_area}"
        ),
        producer,
    )
    await asyncio.wait_for(everyone, 60)  # heartbeats keep a stuck stream open: bound it here
    seqs = list(range(1, total + 1))
    assert [m["seq"] for m in ws_got] == seqs
    assert [m["seq"] for m in sse_got] == seqs
    assert all(one_area in {a["id"] for a in m["areas"]} for m in area_got)
    assert [m["seq"] for m in area_got] == sorted({m["seq"] for m in area_got})
    stored = server.state.store.query(area_id=one_area, limit=1000)
    assert [m["seq"] for m in area_got] == [r.seq for r in stored]


async def test_ws_rejects_bad_parameters_with_400(live_server):
    for query in ("areas=abc", "areas=999999999", "since=-1", "since=x", "log=a%20b&since=1"):
        with pytest.raises(websockets.InvalidStatus) as err:
            async with websockets.connect(f"{live_server.ws}/v1/stream?{query}"):
                pass
        assert err.value.response.status_code == 400
        assert b"detail" in err.value.response.body


async def test_heartbeat_carries_last_seq(live_server, meron_ids):
    live_server.writer.lifecycle(meron_ids[:2])
    await until(lambda: live_server.state.hub.last_seq == 4)
    async with websockets.connect(f"{live_server.ws}/v1/stream") as ws:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
    log_id = live_server.state.store.log_id()
    assert msg == {"type": "heartbeat", "log_id": log_id, "last_seq": 4}


async def test_slow_ws_client_is_dropped_with_a_reason_and_others_continue(
    tmp_path, areas, meron_ids
):
    path = tmp_path / "slow.db"
    writer = SalvoWriter(SQLiteEventStore(path), areas)
    state = make_state(
        SQLiteEventStore(path), areas, poll_s=0.005, ws_buffer_bytes=32_000, ws_sndbuf_bytes=8192
    )
    with LiveServer(state) as server:
        # A client that stops reading: tiny receive buffer (set before connect, so the TCP
        # window stays small) and a one-frame library queue.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.setblocking(False)
        slow = await websockets.connect(f"{server.ws}/v1/stream", sock=sock, max_queue=1)
        fast_got: list[int] = []

        async def fast() -> None:
            async with websockets.connect(f"{server.ws}/v1/stream") as ws:
                while len(fast_got) < 2000:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if "seq" in msg:
                        fast_got.append(msg["seq"])

        task = asyncio.create_task(fast())
        await asyncio.sleep(0.1)
        for i in range(500):
            writer.lifecycle(meron_ids)
            await asyncio.sleep(0.002)
            # Keep the reading client within ~40 events (well inside its 32 kB allowance), so
            # a busy machine cannot make it "slow" too; the stalled one falls behind regardless.
            deadline = time.monotonic() + 10
            while len(fast_got) < 4 * i - 40 and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.002)
        await asyncio.wait_for(task, 30)
        assert fast_got == list(range(1, 2001))
        assert state.metrics.dropped.labels("ws")._value.get() >= 1
        frames = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frames.append(json.loads(await asyncio.wait_for(slow.recv(), 10)))
        assert closed.value.rcvd.code == 1013
        assert frames[-1]["type"] == "dropped" and "too slow" in frames[-1]["reason"]
        seqs = [f["seq"] for f in frames if "seq" in f]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < 2000


async def test_metrics_count_events_deliveries_clients_and_latency(live_server, meron_ids):
    async with websockets.connect(f"{live_server.ws}/v1/stream") as ws:
        await until(lambda: live_server.state.hub._all)
        live_server.writer.lifecycle(meron_ids[:2])
        seqs = []
        while len(seqs) < 4:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            seqs += [msg["seq"]] if "seq" in msg else []
        async with httpx.AsyncClient(base_url=live_server.http) as client:
            await client.get("/v1/history", params={"cursor": "bogus"})
            text = (await client.get("/metrics")).text
    lines = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert float(lines["redcolor_events_total"]) == 4
    assert float(lines['redcolor_deliveries_total{channel="stream"}']) == 4
    assert float(lines['redcolor_connected_clients{channel="ws"}']) == 1
    assert float(lines['redcolor_delivery_latency_seconds_count{channel="stream_fanout"}']) == 4
    assert float(lines['redcolor_rejected_requests_total{status="400"}']) == 1
