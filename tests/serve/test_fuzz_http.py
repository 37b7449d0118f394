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
import msgspec

from redcolor.alerts.store import SQLiteEventStore
from redcolor.serve.app import create_app
from redcolor.serve.rest import encode_cursor

from .conftest import CapturedLogs, SalvoWriter, make_state
from .wsraw import connect

SEED = int(os.environ.get("REDCOLOR_FUZZ_SEED", "11"))
IN_PROCESS_INPUTS = 10_000
LIVE_INPUTS = 400
RAW_INPUTS = 300
METHODS = ("GET", "GET", "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "G3T")
STREAMING = "/v1/events"  # endless: sent only to the live server, whose answer head is read


def odd_values(rng: random.Random) -> str:
    """One value a client should not send (as text, before any URL encoding)."""
    return rng.choice(
        [
            "",
            " ",
            "0",
            "-1",
            "1.5",
            "-0",
            "1e309",
            "-1e309",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "9" * 30,
            str(2**63),
            str(-(2**63) - 1),
            str(2**62 + 1),
            "0x10",
            "1_000",
            "١٢٣",
            "שלום",
            "\u202etxt",
            "\x00",
            "\x7f",
            "💥" * 50,
            "a" * 5000,
            "1," * 3000,
            ",,,",
            "1,2,abc",
            "../../etc/passwd",
            "'; DROP TABLE events; --",
            "<script>",
            "%",
            "null",
            "true",
            "[]",
            "{}",
            '{"a":',
            "h1:5",
            encode_cursor(2**70),
            "aDE6LTE",
            "====",
            str(rng.randint(-(10**12), 10**12)),
            str(rng.random() * 1e6 - 5e5),
        ]
    )


def raw_query_piece(rng: random.Random) -> str:
    """Bytes that break percent-decoding or query parsing, as they stand in a URL."""
    return rng.choice(
        [
            "%",
            "%z",
            "%zz",
            "%ff%fe",
            "%00",
            "%C0%AF",
            "%E2%82",
            "&&",
            "=",
            "==a",
            "a=b=c",
            ";",
            "+%2B+",
            "%25",
        ]
    )


class RequestMaker:
    """Draws requests from the OpenAPI schema and beyond it."""

    def __init__(self, schema: dict[str, Any], rng: random.Random, good: dict[str, list[str]]):
        self.rng = rng
        self.good = good  # plausible values per parameter name
        self.routes: list[tuple[str, str, list[dict[str, Any]], bool]] = []
        for path, item in schema["paths"].items():
            for method, op in item.items():
                params = op.get("parameters", [])
                self.routes.append((path, method.upper(), params, "requestBody" in op))

    def value(self, name: str) -> str:
        if name in self.good and self.rng.random() < 0.4:
            return self.rng.choice(self.good[name])
        return odd_values(self.rng)

    def request(self) -> tuple[str, bytes, list[tuple[bytes, bytes]], bytes]:
        """(method, target, headers, body): target is the raw request-target bytes."""
        rng = self.rng
        path, method, params, has_body = rng.choice(self.routes)
        for p in params:
            if p["in"] == "path":
                path = path.replace(
                    "{" + p["name"] + "}", urllib.parse.quote(self.value(p["name"]), safe="")
                )
        path = self.mutate_path(path)
        pairs = [
            (p["name"], self.value(p["name"]))
            for p in params
            if p["in"] == "query" and rng.random() < 0.7
        ]
        if rng.random() < 0.3:
            pairs.append(
                (rng.choice(["x", "areas", "since", "limit", "a" * 300, ""]), odd_values(rng))
            )
        if rng.random() < 0.3 and pairs:
            pairs.append(pairs[0])  # a repeated parameter
        query = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
        if rng.random() < 0.25:
            query += "&" + raw_query_piece(rng) if query else raw_query_piece(rng)
        target = path + ("?" + query if query or rng.random() < 0.05 else "")
        if rng.random() < 0.1:
            method = rng.choice(METHODS)
        headers = self.headers(params)
        body = self.body() if has_body or rng.random() < 0.05 else b""
        if body or rng.random() < 0.05:
            headers.append(
                (
                    b"content-type",
                    rng.choice(
                        [
                            b"application/json",
                            b"text/plain",
                            b"application/x-www-form-urlencoded",
                            b"multipart/form-data; boundary=x",
                            b"application/json; charset=utf-16",
                            b"\xff",
                        ]
                    ),
                )
            )
        return method, target.encode("ascii", "backslashreplace"), headers, body

    def mutate_path(self, path: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return path
        choices = [
            path.upper(),
            path.lower(),
            path + "/",
            "/" + path,
            path.replace("/", "//"),
            path + "/..",
            "/v1/../" + path.lstrip("/"),
            path.replace("v1", "%76%31"),
            path + "%00",
            path + "%2F..%2F",
            path + ";x=1",
            "/" + "a" * rng.randint(1, 3000),
            "/static/../../etc/passwd",
            "/js/%2e%2e/%2e%2e/app.py",
            "/index.html",
            "/favicon.ico",
            "/%ff",
            "/%",
            "/v1/areas/%zz",
            "*",
            "/cap/.xml",
            "/cap/-1.xml",
            "/cap/1e3.xml",
            "/WARNINGMESSAGES/ALERT/ALERTS.JSON",
            "/v1/stream",
            "/v1/sirens/connect",
        ]
        return rng.choice(choices)

    def headers(self, params: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
        rng = self.rng
        headers = [
            (b"host", rng.choice([b"127.0.0.1", b"evil.example", b"", b"a" * 300, b"[::1]:99999"]))
        ]
        for p in params:
            if p["in"] == "header" and rng.random() < 0.5:
                headers.append((p["name"].encode(), self.value(p["name"]).encode("utf-8")[:4000]))
        for _ in range(rng.randint(0, 3)):
            headers.append(
                rng.choice(
                    [
                        (
                            b"accept-encoding",
                            rng.choice(
                                [
                                    b"gzip",
                                    b"gzip;q=abc",
                                    b"*;q=0",
                                    b"gzip;q=1e400",
                                    b",,;;",
                                    b"br;q=-1",
                                ]
                            ),
                        ),
                        (b"accept", rng.choice([b"*/*", b"application/cap+xml", b"\x00\xff"])),
                        (b"last-event-id", odd_values(rng).encode("utf-8")[:200]),
                        (
                            b"content-length",
                            rng.choice([b"0", b"-1", b"abc", b"99999999999999999999"]),
                        ),
                        (b"x-forwarded-for", b"1.2.3.4, evil"),
                        (b"x-forwarded-proto", b"gopher"),
                        (b"cookie", b"a=" + b"c" * 1000),
                        (b"range", b"bytes=0-1,5-3,-0"),
                        (b"if-none-match", b'"*", W/"x"'),
                        (b"if-modified-since", b"not a date"),
                        (b"origin", b"null"),
                    ]
                )
            )
        return headers

    def body(self) -> bytes:
        rng = self.rng
        endpoint = rng.choice(
            [
                "https://127.0.0.1:1/p",
                "http://127.0.0.1/p",
                "ftp://x",
                "",
                "x" * 3000,
                "https://[::1]/p",
            ]
        )
        return rng.choice(
            [
                b"",
                b"{",
                b"[]",
                b"null",
                b"\xff\xfe{}",
                b'{"endpoint": 1}',
                b"[" * 50_000,
                b'{"a":' * 2000,
                os.urandom(rng.randint(1, 2000)),
                b"x" * 20_000,
                msgspec.json.encode(
                    {
                        "endpoint": endpoint,
                        "keys": {"p256dh": odd_values(rng)[:100], "auth": "AAAA"},
                        "areas": rng.choice([[], [1], [-1], [10**20], ["a"], [1.5]]),
                    }
                ),
            ]
        )


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


def raw_malformed(rng: random.Random) -> tuple[bytes, bool]:
    """Bytes that are not (quite) HTTP, and whether to half-close after them."""
    ok = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    pieces = [
        os.urandom(rng.randint(1, 3000)) + b"\r\n\r\n",
        b"GET /health HTTP/9.9\r\n\r\n",
        b"GET /health\r\n\r\n",
        b"GET  /health  HTTP/1.1\r\n\r\n",
        b"GET /he\x00lth HTTP/1.1\r\n\r\n",
        b"GET /h\xc3\xa9alth HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        b"GET /health HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET /health HTTP/1.1\r\n: empty\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: \x00\x01\x7f\r\n\r\n",
        b"GET /health HTTP/1.1\r\nX: \xff\xfe\r\n\r\n",
        b"GET /health HTTP/1.1\nHost: x\n\n",
        b"\r\n\r\n\r\n" + ok,
        b"POST /v1/push/subscriptions HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc" + b"\0EOF",
        b"POST /v1/push/subscriptions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/push/subscriptions HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /v1/push/subscriptions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/push/subscriptions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 3\r\n\r\n0\r\n\r\n",
        b"POST /v1/history HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),
        b"G" * 5000 + b" / HTTP/1.1\r\n\r\n",
        b"GET " + b"/" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        b"GET /health HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"GET /health HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n\0EOF",
        ok * rng.randint(2, 20),
        ok + os.urandom(50) + b"\r\n\r\n",
        b"CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n",
        b"GET http://evil.example/health HTTP/1.1\r\n\r\n",
        b"GET /v1/history?limit=" + os.urandom(40).hex().encode() + b"%" + b" HTTP/1.1\r\n\r\n",
    ]
    piece = rng.choice(pieces)
    if piece.endswith(b"\0EOF"):  # the server waits for the rest of a body: end it
        return piece[:-4], True
    return piece, rng.random() < 0.3


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
