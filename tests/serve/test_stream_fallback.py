"""The same /v1/stream under a plain ASGI server (Starlette's TestClient): the queued fallback
path, with resume and the area filter."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from redcolor.serve.app import create_app

from .conftest import make_state


def test_queued_fallback_streams_resume_and_filter(store, areas, writer, meron_ids) -> None:
    first = writer.lifecycle(meron_ids[:4])
    state = make_state(store, areas)
    with TestClient(create_app(state)) as client:
        with client.websocket_connect("/v1/stream?since=2") as ws:
            got = [json.loads(ws.receive_text())["seq"] for _ in range(2)]
        assert got == [first[2].seq, first[3].seq]
        area = meron_ids[0]
        with client.websocket_connect(f"/v1/stream?since=0&areas={area}") as ws:
            got = [json.loads(ws.receive_text()) for _ in range(3)]
        assert [m["stage"] for m in got] == ["pre_alert", "alert", "ended"]
        assert all(area in {a["id"] for a in m["areas"]} for m in got)
        # A resume point past the end (another log's seq): a reset frame, then the whole log.
        with client.websocket_connect("/v1/stream?since=99") as ws:
            got = [json.loads(ws.receive_text()) for _ in range(5)]
        assert got[0]["type"] == "reset" and got[0]["log_id"] == store.log_id()
        assert [m["seq"] for m in got[1:]] == [e.seq for e in first]
        assert all(m["log_id"] == store.log_id() for m in got)
