"""Fuzz of the HTTP API: no input gets a 5xx or puts a traceback in the log, memory stays bounded.

Requests come from the app's own OpenAPI schema (each route, each declared parameter, filled
with odd values: huge and negative numbers, nan, bad percent-encoding, NULs, right-to-left
marks, 5,000-character strings), plus mutations no schema describes: random paths and methods,
undeclared parameters, bad JSON of wrong content types, odd headers. Ten thousand go to the app
in process (an ASGI call built as uvicorn builds it, so the bytes reach the app as they would
from a socket); a few hundred more, and raw malformed HTTP, go to a real uvicorn server.
schemathesis (test_openapi_fuzz.py) checks the schema's own cases; this covers what it does not
generate. ``REDCOLOR_FUZZ_SEED`` replays a run.
"""

from __future__ import annotations

import gc
import os
import random
import socket
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.app import create_app
from redcolor.serve.rest import encode_cursor

from .conftest import CapturedLogs, SalvoWriter, make_state
from .httpgen import RequestMaker, raw_malformed
from .wsraw import connect

SEED = int(os.environ.get("REDCOLOR_FUZZ_SEED", "11"))
IN_PROCESS_INPUTS = 10_000
LIVE_INPUTS = 400
RAW_INPUTS = 300
STREAMING = "/v1/events"  # endless: sent only to the live server, whose answer head is read


def fuzz_setup(tmp: Path):
    """A store with history (so seqs, cursors and CAP documents exist) and an app over it."""
    from redcolor.geo import load_areas

    areas = load_areas("current")
    store = SQLiteEventStore(tmp / "alerts.db")
    writer = SalvoWriter(store, areas)
    ids = [int(i) for i in areas.within_m(32.996, 35.414, 8000)][:6]
    for _ in range(3):
        writer.lifecycle(ids)
    state = make_state(store, areas, push_dir=tmp / "push")
    state.follower.poll_once()
    good = {
        "seq": ["1", "5", "12", "13", "999"],
        "area": [str(i) for i in ids],
        "areas": [",".join(map(str, ids)), str(ids[0])],
        "since": ["0", "3"],
        "limit": ["1", "1000", "1001"],
        "cursor": [encode_cursor(2), encode_cursor(0)],
        "category": ["missiles", "drill"],
        "lat": ["32.99", "-90", "90"],
        "lon": ["35.41", "180"],
        "since_unix_s": [str(time.time() - 60)],
        "until_unix_s": [str(time.time() + 60)],
        "endpoint": ["https://127.0.0.1:1/p"],
    }
    return store, state, good


def rss_bytes() -> int:
    """This process's resident memory now (not its peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def asgi_call(app: Any, method: str, target: bytes, headers, body: bytes) -> int:
    """One request through the app, its scope built as uvicorn's httptools protocol builds it."""
    raw_path, _, query = target.partition(b"?")
    path = raw_path.decode("ascii")
    if "%" in path:
        path = urllib.parse.unquote(path)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 5555),
        "scheme": "http",
        "root_path": "",
        "headers": headers,
        "method": method,
        "path": path,
        "raw_path": raw_path,
        "query_string": query,
        "state": {},
    }
    sent = False
    status = [0]

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    await app(scope, receive, send)
    return status[0]


async def test_ten_thousand_requests_in_process_get_no_5xx_and_no_traceback() -> None:
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        store, state, good = fuzz_setup(Path(tmp))
        app = create_app(state)
        maker = RequestMaker(app.openapi(), rng, good)
        statuses: dict[int, int] = {}
        with CapturedLogs() as logs:
            warm = 1000
            for i in range(IN_PROCESS_INPUTS):
                if i == warm:
                    gc.collect()
                    base_bytes = rss_bytes()
                method, target, headers, body = maker.request()
                if target.startswith(STREAMING.encode()) and method == "GET":
                    target = b"/v1/alerts/active" + target[len(STREAMING) :]
                status = await asgi_call(app, method, target, headers, body)
                statuses[status] = statuses.get(status, 0) + 1
                assert 0 < status < 500, (SEED, i, method, target[:200], headers, body[:200])
            gc.collect()
            grown_bytes = rss_bytes() - base_bytes
        assert logs.bad() == []
        print(f"in process: {IN_PROCESS_INPUTS} requests, RSS +{grown_bytes >> 10} KiB, {statuses}")
        assert grown_bytes < 4 << 20, grown_bytes
        assert statuses.get(200, 0) > 500 and sum(v for k, v in statuses.items() if k >= 400) > 3000
        store.close()


def _exchange(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Send ``data``; read answers until the server closes, or for a moment once one is whole
    (a kept-alive connection), or up to 5 s for the first (a stream: its head only)."""
    sock = connect(port)
    out = b""
    try:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 5.0
        while True:
            whole = _whole_answers(out)
            if whole and data.startswith(b"GET /v1/events"):
                break
            wait_s = 0.05 if whole else deadline - time.monotonic()
            if wait_s <= 0:
                raise AssertionError(f"no answer in 5 s to {data[:200]!r}")
            sock.settimeout(wait_s)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if whole:
                    break
                continue
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass  # refused mid-send: what was answered is in ``out``
    finally:
        sock.close()
    return out


def _whole_answers(data: bytes) -> int:
    """How many complete responses ``data`` holds (a head and its Content-Length of body)."""
    n = 0
    while (end := data.find(b"\r\n\r\n")) >= 0:
        head = data[:end].lower()
        length = 0
        for line in head.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if b"\r\ntransfer-encoding: chunked" in head or len(data) < end + 4 + length:
            return n if b"text/event-stream" not in head else n + 1
        n += 1
        data = data[end + 4 + length :]
    return n


def _status_lines(answer: bytes) -> list[int]:
    """Status codes of every response in ``answer`` (pipelined requests get several)."""
    codes = []
    for line in answer.split(b"\r\n"):
        if line.startswith(b"HTTP/1.") and len(line) >= 12 and line[9:12].isdigit():
            codes.append(int(line[9:12]))
    return codes


async def test_live_server_requests_and_raw_malformed_http(live_server) -> None:
    rng = random.Random(SEED + 1)
    port = live_server.port
    live_server.writer.lifecycle([int(a.id) for a in live_server.state.areas.areas[:4]])
    good = {"seq": ["1", "2"], "areas": ["4,9"], "since": ["0"]}
    maker = RequestMaker(live_server.app.openapi(), rng, good)
    codes: dict[int, int] = {}
    with CapturedLogs() as logs:
        for i in range(LIVE_INPUTS + RAW_INPUTS):
            if i < LIVE_INPUTS:
                method, target, headers, body = maker.request()
                head = [f"{method} ".encode() + target + b" HTTP/1.1"]
                head += [k + b": " + v for k, v in headers if k not in (b"content-length",)]
                head.append(b"content-length: %d" % len(body))
                head.append(b"connection: close")
                data, half = b"\r\n".join(head) + b"\r\n\r\n" + body, False
            else:
                data, half = raw_malformed(rng)
            answer = _exchange(port, data, half_close=half)
            for code in _status_lines(answer) or [0]:
                codes[code] = codes.get(code, 0) + 1
                assert code < 500, (SEED, i, data[:300], answer[:300])
        assert httpx.get(f"{live_server.http}/health", timeout=5).status_code == 200
    assert logs.bad() == [], logs.bad()[:3]
    assert codes.get(200, 0) > 50 and codes.get(400, 0) > 50
