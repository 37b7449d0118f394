"""`redcolor serve --simulate`: the pipeline runs in a thread and its alerts stream out live."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.run import start_simulation
from redcolor.sim.scenario import load_scenario

from .conftest import LiveServer, make_state

pipeline = pytest.importorskip("redcolor.pipeline")


@pytest.mark.slow
async def test_simulated_salvo_streams_alerts_in_seq_order(tmp_path, areas) -> None:
    state = make_state(SQLiteEventStore(tmp_path / "sim.db"), areas, poll_s=0.05)
    scenario = load_scenario("meron-2024-01-06")
    with LiveServer(state) as server:
        async with websockets.connect(f"{server.ws}/v1/stream?since=0") as ws:
            thread = start_simulation(state, scenario, speed=20.0)
            got = []
            while len(got) < 2:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if "seq" in msg:
                    got.append(msg)
        assert [m["seq"] for m in got] == [1, 2]
        assert got[0]["stage"] in ("pre_alert", "alert") and got[0]["areas"]
        assert all(areas.get(a["id"]) for m in got for a in m["areas"])
        thread.join(0)  # the pipeline thread is a daemon; it ends with the test process


async def _ws_resuming(url: str, chunk: int, got: list[dict], finished) -> None:
    """Reconnect every ``chunk`` events, resuming from the last seq held, until ``finished``."""
    while not finished(got):
        since = got[-1]["seq"] if got else 0
        async with websockets.connect(f"{url}?since={since}") as ws:
            n = 0
            while n < chunk and not finished(got):
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                if "seq" in msg:
                    got.append(msg)
                    n += 1


async def _sse_resuming(base: str, chunk: int, got: list[dict], finished) -> None:
    while not finished(got):
        since = got[-1]["seq"] if got else 0
        headers = {"Last-Event-ID": str(since)}
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream("GET", f"{base}/v1/events", headers=headers) as r,
        ):
            lines = r.aiter_lines()
            n, kind, pending = 0, None, None
            while n < chunk and not finished(got):
                # wait without cancelling: a cancelled __anext__ would end the line iterator
                pending = pending or asyncio.ensure_future(anext(lines))
                done, _ = await asyncio.wait({pending}, timeout=0.2)
                if not done:
                    continue
                line, pending = pending.result(), None
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert":
                    got.append(json.loads(line[6:]))
                    n += 1
            if pending is not None:
                pending.cancel()


@pytest.mark.slow
async def test_pipeline_salvo_reaches_resuming_clients_exactly_once(tmp_path, areas) -> None:
    """The acceptance run on a real salvo: the Meron scenario through the whole pipeline, live,
    with a WebSocket and an SSE client that disconnect every event or two and resume."""
    path = tmp_path / "meron.db"
    state = make_state(SQLiteEventStore(path), areas, poll_s=0.01)
    total: list[int] = []

    def finished(got: list[dict]) -> bool:
        return bool(total) and len(got) >= total[0]

    def run_pipeline() -> None:
        store = SQLiteEventStore(path)
        pipeline.run(
            "meron-2024-01-06",
            store=store,
            speed=None,
            on_events=lambda events: state.follower.notify(),
        )
        total.append(store.last_seq())

    with LiveServer(state) as server:
        ws_got: list[dict] = []
        sse_got: list[dict] = []
        await asyncio.wait_for(
            asyncio.gather(
                asyncio.to_thread(run_pipeline),
                _ws_resuming(f"{server.ws}/v1/stream", 1, ws_got, finished),
                _sse_resuming(server.http, 2, sse_got, finished),
            ),
            120,
        )
    assert total[0] >= 2  # the WS client reconnects after every event, SSE every second
    assert [m["seq"] for m in ws_got] == list(range(1, total[0] + 1))
    assert [m["seq"] for m in sse_got] == list(range(1, total[0] + 1))
    assert ws_got[0]["stage"] in ("pre_alert", "alert")
