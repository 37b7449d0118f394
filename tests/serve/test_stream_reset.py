"""Acceptance (issue 14): a client resuming from a point that is not in the server's log (the
store was reset: a fresh database, another server) is told so by a ``reset`` frame and then gets
every event of the new log, over WebSocket and SSE, against real servers; never a refusal."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from redcolor.alerts.store import SQLiteEventStore

from .conftest import LiveServer, SalvoWriter, make_state, until


class Server:
    """A real server on its own store file, with a writer on the same file."""

    def __init__(self, path, areas) -> None:
        self.writer = SalvoWriter(SQLiteEventStore(path), areas)
        self.store = SQLiteEventStore(path)
        self.live = LiveServer(make_state(self.store, areas, poll_s=0.005, heartbeat_s=0.3))

    def __enter__(self) -> Server:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)
        self.writer.store.close()
        self.store.close()


async def _ws_read(ws, n: int) -> list[dict]:
    """The next ``n`` frames that are not heartbeats (each must name a log)."""
    got: list[dict] = []
    while len(got) < n:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(frame.get("log_id"), str), frame
        if frame.get("type") != "heartbeat":
            got.append(frame)
    return got


def _sse_messages(text_lines: list[str]) -> list[dict]:
    """SSE lines -> messages as {id, event, data} (comments skipped)."""
    out, cur = [], {}
    for line in text_lines:
        if line == "":
            if "data" in cur:
                out.append(cur)
            cur = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            cur[key] = json.loads(value) if key == "data" else value
    return out


async def _sse_read(base: str, n: int, **request) -> list[dict]:
    """The first ``n`` messages of ``GET /v1/events`` (status 200 asserted)."""
    lines: list[str] = []
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{base}/v1/events", **request) as r,
    ):
        assert r.status_code == 200
        async for line in r.aiter_lines():
            lines.append(line)
            if line == "" and len(_sse_messages(lines)) >= n:
                return _sse_messages(lines)
    raise AssertionError("stream ended early")


@pytest.fixture
def before_reset(tmp_path, areas, meron_ids) -> tuple[str, int]:
    """A client's hold of an old log: the log id and last seq it read from a first server."""

    async def read_all(server: Server) -> tuple[str, int]:
        async with websockets.connect(f"{server.live.ws}/v1/stream?since=0") as ws:
            frames = await _ws_read(ws, 8)
        assert [f["seq"] for f in frames] == list(range(1, 9))
        return frames[-1]["log_id"], frames[-1]["seq"]

    with Server(tmp_path / "old.db", areas) as old:
        old.writer.lifecycle(meron_ids[:4])
        old.writer.lifecycle(meron_ids[4:8])
        return asyncio.run(read_all(old))


@pytest.fixture
def after_reset(tmp_path, areas, meron_ids):
    """The reset: a server on a fresh store that already holds 3 events."""
    with Server(tmp_path / "new.db", areas) as new:
        new.writer.lifecycle(meron_ids[:3], end=False)
        yield new


@pytest.mark.parametrize("with_log", [True, False], ids=["log-and-seq", "seq-only"])
async def test_ws_resume_past_the_end_after_a_reset_gets_everything_after_it(
    before_reset, after_reset, meron_ids, with_log
):
    old_log, old_seq = before_reset
    new = after_reset
    new_log = new.store.log_id()
    assert new_log != old_log and old_seq > new.store.last_seq()
    query = f"log={old_log}&since={old_seq}" if with_log else f"since={old_seq}"
    async with websockets.connect(f"{new.live.ws}/v1/stream?{query}") as ws:
        (reset, *replayed) = await _ws_read(ws, 4)
        await until(lambda: new.live.state.hub._all)
        live = new.writer.lifecycle(meron_ids[3:6])
        after = await _ws_read(ws, 4)
    assert reset["type"] == "reset" and reset["log_id"] == new_log
    assert (reset["after_seq"], reset["last_seq"]) == (0, 3)
    # a foreign log is named as such; a bare seq as past the end (not by chance: log ids are hex)
    expected = f"log {old_log} is not" if with_log else f"seq {old_seq} is past the end"
    assert expected in reset["reason"]
    assert [f["seq"] for f in replayed + after] == list(range(1, 8))
    assert all(f["log_id"] == new_log for f in replayed + after)
    stored = [json.loads(r.body) for r in new.store.read_since(0)]
    assert [{k: v for k, v in f.items() if k != "log_id"} for f in replayed + after] == stored
    assert [f["id"] for f in after] == [e.id for e in live]


async def test_ws_resume_with_another_logs_id_is_a_reset_even_inside_the_range(
    before_reset, after_reset
):
    """seq 2 exists in the new log too, but it is not the client's seq 2: resuming there would
    silently skip events 1 and 2 of the new log."""
    old_log, _ = before_reset
    new = after_reset
    async with websockets.connect(f"{new.live.ws}/v1/stream?log={old_log}&since=2") as ws:
        (reset, *replayed) = await _ws_read(ws, 4)
    assert reset["type"] == "reset" and old_log in reset["reason"]
    assert [f["seq"] for f in replayed] == [1, 2, 3]
    # The same point named with the right log resumes there, no reset.
    async with websockets.connect(f"{new.live.ws}/v1/stream?log={reset['log_id']}&since=2") as ws:
        (frame,) = await _ws_read(ws, 1)
    assert frame["seq"] == 3 and "type" not in frame


async def test_sse_resume_past_the_end_after_a_reset_gets_everything_after_it(
    before_reset, after_reset, meron_ids
):
    old_log, old_seq = before_reset
    new = after_reset
    new_log = new.store.log_id()
    sent = {"headers": {"Last-Event-ID": f"{old_log}:{old_seq}"}}
    messages = await _sse_read(new.live.http, 4, **sent)
    reset, *replayed = messages
    assert reset["event"] == "control" and reset["data"]["type"] == "reset"
    # A browser's EventSource now holds the new log's start as its Last-Event-ID.
    assert reset["id"] == f"{new_log}:0" and reset["data"]["after_seq"] == 0
    assert [m["event"] for m in replayed] == ["alert"] * 3
    assert [m["id"] for m in replayed] == [f"{new_log}:{s}" for s in (1, 2, 3)]
    assert [m["data"]["seq"] for m in replayed] == [1, 2, 3]
    # The reconnect an EventSource makes (its Last-Event-ID) resumes on the new log, no reset.
    new.writer.lifecycle(meron_ids[3:6])
    resumed = await _sse_read(new.live.http, 4, headers={"Last-Event-ID": replayed[-1]["id"]})
    assert [m["data"]["seq"] for m in resumed] == [4, 5, 6, 7]
    # A client that kept only a seq (``since`` query, no log) is reset the same way.
    (plain_reset, first) = await _sse_read(new.live.http, 2, params={"since": str(old_seq)})
    assert plain_reset["data"]["type"] == "reset" and first["data"]["seq"] == 1


async def test_bad_resume_parameters_are_a_400(after_reset):
    new = after_reset
    async with httpx.AsyncClient(base_url=new.live.http, timeout=10) as client:
        for request in (
            {"params": {"log": "no spaces!", "since": "1"}},
            {"headers": {"Last-Event-ID": "abc:x"}},
            {"headers": {"Last-Event-ID": "a/b:3"}},
        ):
            r = await client.get("/v1/events", **request)
            assert r.status_code == 400 and "detail" in r.json(), request
    with pytest.raises(websockets.InvalidStatus) as err:
        async with websockets.connect(f"{new.live.ws}/v1/stream?log=%2Fetc&since=1"):
            pass
    assert err.value.response.status_code == 400
