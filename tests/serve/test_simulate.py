"""`redcolor serve --simulate`: the pipeline runs in a thread and its alerts stream out live."""

from __future__ import annotations

import asyncio
import json

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
