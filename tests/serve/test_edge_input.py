"""Bad client input over real sockets: Atom and CAP links come from the configuration (never the
Host header), a WebSocket handshake of up to the documented 2,000 area ids opens and anything
beyond the limits gets a clear 4xx (never silence), invalid UTF-8 closes with 1007 quietly, and
every refusal is counted with no ERROR and no flood in the log."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
import urllib.parse

import httpx
import pytest
import websockets

from redcolor.errors import InputError
from redcolor.serve.app import create_app
from redcolor.serve.feeds import base_url
from redcolor.serve.httpproto import MAX_HEAD_BYTES, MAX_QUERY_BYTES, MAX_URL_BYTES, RateLimitFilter
from redcolor.serve.state import ServeConfig
from redcolor.serve.streams import MAX_FILTER_AREAS

from .conftest import CapturedLogs, LiveServer, make_state, until
from .wsraw import FrameReader, close_frame, connect, frame, handshake, open_ws, read_response


def _get(port: int, path: str, head: bytes) -> tuple[int, bytes]:
    """One request with exactly the header lines ``head`` (HTTP/1.0 when it has no Host)."""
    version = b"HTTP/1.1" if b"Host:" in head else b"HTTP/1.0"
    sock = connect(port)
    request_line = b"GET " + path.encode() + b" " + version + b"\r\n"
    sock.sendall(request_line + head + b"Connection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def _rejected(state, status: str) -> float:
    return state.metrics.rejected.labels(status)._value.get()


async def test_atom_and_cap_bytes_do_not_depend_on_the_host_header(live_server, meron_ids):
    events = live_server.writer.lifecycle(meron_ids[:4])
    await until(lambda: live_server.state.hub.last_seq == events[-1].seq)
    heads = [
        b"Host: 127.0.0.1\r\n",
        b"Host: evil.example\r\n",
        b"Host: evil.example:666\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n",
        b"",  # HTTP/1.0 without a Host
    ]
    for path in ("/cap/feed.atom", f"/cap/{events[-1].seq}.xml"):
        answers = {_get(live_server.port, path, head) for head in heads}
        assert len(answers) == 1, path
        ((status, body),) = answers
        assert status == 200 and b"evil" not in body
    _, feed = _get(live_server.port, "/cap/feed.atom", heads[1])
    assert b"http://127.0.0.1:8080/cap/feed.atom" in feed  # the configured host:port
    assert f"http://127.0.0.1:8080/cap/{events[-1].seq}.xml".encode() in feed


async def test_atom_links_use_the_public_url(store, areas, writer, meron_ids):
    writer.lifecycle(meron_ids[:3])
    writer.lifecycle(meron_ids[3:6])
    state = make_state(store, areas, public_url="https://alerts.example.org/red/")
    state.follower.poll_once()
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as client:
        feed = (await client.get("/cap/feed.atom", headers={"Host": "evil.example"})).text
    assert "evil" not in feed
    assert 'href="https://alerts.example.org/red/cap/feed.atom"' in feed
    # self + one entry per alert (its latest message), whose CAP links to the public map
    assert feed.count('href="https://alerts.example.org/red/cap/') == 1 + 2
    assert feed.count("<web>https://alerts.example.org/red/</web>") == 2 * 4  # 4 languages


@pytest.mark.parametrize(
    ("public_url", "host", "expected"),
    [
        (None, "0.0.0.0", "http://0.0.0.0:8080"),
        (None, "::1", "http://[::1]:8080"),
        ("https://alerts.example.org/", "127.0.0.1", "https://alerts.example.org"),
        ("http://10.1.2.3:9000/red", "127.0.0.1", "http://10.1.2.3:9000/red"),
    ],
)
def test_base_url_comes_from_the_configuration(tmp_path, public_url, host, expected):
    config = ServeConfig(db=tmp_path / "a.db", host=host, public_url=public_url)
    assert base_url(config) == expected


@pytest.mark.parametrize(
    "public_url",
    [
        "alerts.example.org",
        "ftp://x.org",
        "https://",
        "https://x.org/?a=1",
        "https://x.org:99999",
        "https://x.org/#f",
        "https://x.org/ a",
        "https://x.org:0",
    ],
)
def test_a_bad_public_url_is_one_line_input_error(tmp_path, public_url):
    with pytest.raises(InputError, match="bad public URL"):
        base_url(ServeConfig(db=tmp_path / "a.db", public_url=public_url))


def _largest_ids(areas, n: int) -> list[int]:
    """``n`` known area ids, the longest first (repeating once all are used)."""
    ids = sorted((a.id for a in areas.areas), key=lambda i: (-len(str(i)), i))
    return (ids * (n // len(ids) + 1))[:n]


async def test_documented_2000_area_ids_open_a_stream(live_server, areas, meron_ids):
    ids = [*_largest_ids(areas, MAX_FILTER_AREAS - 1), meron_ids[0]]
    # As browsers send it (URLSearchParams percent-encodes the commas): about 14 KB.
    query = urllib.parse.urlencode({"areas": ",".join(map(str, ids))})
    assert len(query) > 8192
    async with websockets.connect(f"{live_server.ws}/v1/stream?{query}") as ws:
        event = live_server.writer.event("big-filter", "alert", [meron_ids[0]])
        got = json.loads(await ws.recv())
        assert got["seq"] == event.seq
    # And with plain commas, over a raw socket.
    sock, _ = open_ws(live_server.port, "/v1/stream?areas=" + ",".join(map(str, ids)))
    sock.close()


def _answer(port: int, request: bytes) -> tuple[int, bytes, float]:
    sock = connect(port)
    t0 = time.monotonic()
    sock.sendall(request)
    try:
        status, _, rest = read_response(sock, timeout_s=5)
    finally:
        sock.close()
    return status, rest, time.monotonic() - t0


def _long_header_lines(total_bytes: int) -> bytes:
    line = b"X-Pad-%d: " + b"p" * 7000 + b"\r\n"
    return b"".join(line % i for i in range(total_bytes // 7000 + 1))


async def test_handshakes_beyond_the_limits_get_a_clear_4xx(live_server, areas):
    ids = ",".join(map(str, _largest_ids(areas, MAX_FILTER_AREAS + 1)))
    many_headers = b"".join(b"X-%d: 1\r\n" % i for i in range(130))
    cases = [
        (handshake("/v1/stream?areas=" + ids), 400, b"too many areas"),
        (handshake("/v1/stream?since=" + "1" * (MAX_QUERY_BYTES + 1)), 414, b"query string"),
        (handshake("/v1/stream?x=" + "1" * MAX_URL_BYTES), 414, b"URL"),
        (handshake("/v1/stream", extra=b"X-Big: " + b"b" * 9000 + b"\r\n"), 431, b"header"),
        (handshake("/v1/stream", extra=many_headers), 431, b"headers"),
        (handshake("/v1/stream", extra=_long_header_lines(MAX_HEAD_BYTES)), 431, b"head"),
        (handshake("/v1/stream", extra=b"Content-Length: 5\r\n") + b"hello", 400, b"handshake"),
        (handshake("/v1/stream").replace(b"Version: 13", b"Version: 8"), 400, b"Version"),
        (handshake("/v1/stream", key=b"not-base64!"), 400, b"Sec-WebSocket-Key"),
    ]
    before = {s: _rejected(live_server.state, s) for s in ("400", "414", "431")}
    for request, status, words in cases:
        got, body, elapsed_s = _answer(live_server.port, request)
        assert (got, words in body) == (status, True), (request[:60], body[:200])
        assert elapsed_s < 2.0
    after = {s: _rejected(live_server.state, s) for s in before}
    assert {s: after[s] - before[s] for s in after} == {"400": 4, "414": 2, "431": 3}


async def test_http_heads_beyond_the_limits_are_refused_early(live_server):
    port = live_server.port
    status, body, _ = _answer(port, b"GET /health?" + b"a" * MAX_URL_BYTES + b" HTTP/1.1\r\n\r\n")
    assert status == 414 and b"URL" in body
    long_head = _long_header_lines(MAX_HEAD_BYTES)
    status, body, _ = _answer(port, b"GET /health HTTP/1.1\r\n" + long_head + b"\r\n")
    assert status == 431
    status, body, _ = _answer(live_server.port, b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n")
    assert status == 400 and b"invalid HTTP request" in body
    # A header that never ends is cut at the bound, not read whole (25 MB took 45 MB before).
    sock = connect(live_server.port)
    sock.sendall(b"GET /health HTTP/1.1\r\nX-Endless: ")
    sock.setblocking(False)
    sent, answer = 0, b""
    while not answer and sent < 25 << 20:
        try:
            sent += sock.send(b"e" * 65536)
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            break  # reset after the answer; what was answered is still readable
        with contextlib.suppress(BlockingIOError):
            answer = sock.recv(4096)
    sock.setblocking(True)
    answer = answer or read_response(sock)[1]
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert sent < 16 << 20  # what the kernel buffered, at most
    sock.close()
    r = httpx.get(f"{live_server.http}/health")
    assert r.status_code == 200


def _text_frames_not_utf8() -> list[bytes]:
    return [
        frame(0x1, b"\xff\xfe"),
        frame(0x1, b'{"type":"ack","cmd":1,"x":"\xed\xa0\x80"}'),  # a UTF-16 surrogate
        frame(0x1, b"\xe2\x82", fin=False) + frame(0x0, b"\x28"),  # split, then broken
        close_frame(1000, b"\xc3\x28"),  # a close reason that is not UTF-8
    ]


async def test_invalid_utf8_closes_1007_quietly_and_is_counted(live_server):
    errors = live_server.state.metrics.ws_protocol_errors.labels("1007")
    with CapturedLogs() as logs:
        for data in _text_frames_not_utf8():
            sock, reader = open_ws(live_server.port)
            sock.sendall(data)
            assert reader.close_code() == 1007
            sock.close()
        # Before the handshake is answered, the answer is a 400.
        sock = connect(live_server.port)
        sock.sendall(handshake("/v1/stream") + frame(0x1, b"\xff"))
        assert read_response(sock)[0] in (400, 101)
        sock.close()
        # The server still streams.
        sock, reader = open_ws(live_server.port)
        area_id = live_server.state.areas.areas[0].id
        event = live_server.writer.event("after-1007", "alert", [area_id])
        while (msg := json.loads(reader.next()[1])).get("type") == "heartbeat":
            pass
        assert msg["seq"] == event.seq
        sock.close()
    assert errors._value.get() >= 3  # the close reason's 1007 is websockets' own
    assert logs.bad(logging.WARNING) == []


async def test_rejected_handshakes_are_counted_and_not_a_log_flood(tmp_path, areas):
    from redcolor.alerts.store import SQLiteEventStore

    store = SQLiteEventStore(tmp_path / "flood.db")
    state = make_state(store, areas, poll_s=0.005)
    with LiveServer(state, log_level="info") as server, CapturedLogs() as logs:
        kinds = [
            handshake("/v1/stream?areas=abc"),  # the app refuses: 400
            handshake("/v1/stream").replace(b"Version: 13", b"Version: 8"),  # websockets: 400
            handshake("/v1/stream", extra=b"X-Big: " + b"b" * 9000 + b"\r\n"),  # 431
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",  # not HTTP: 400
        ]
        for i in range(300):
            status, _, _ = _answer(server.port, kinds[i % len(kinds)])
            assert status in (400, 431)
        assert logs.bad() == []
        counted = sum(_rejected(state, s) for s in ("400", "431"))
        assert counted == 300
        lines = [r for r in logs.records if r.name.startswith("uvicorn.error")]
        assert len(lines) <= 2 * RateLimitFilter().burst + 5, [r.getMessage() for r in lines[-5:]]
    store.close()


def test_rate_limit_filter_passes_errors_and_a_burst_then_says_what_it_held() -> None:
    now = [100.0]
    limit = RateLimitFilter(burst=3, window_s=10.0, max_chars=40, clock=lambda: now[0])

    def record(level: int, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("t", level, __file__, 1, msg, args, None)

    infos = [record(logging.INFO, "line %d %s", i, "x" * 100) for i in range(10)]
    passed = [r for r in infos if limit.filter(r)]
    assert len(passed) == 3 and all(len(r.getMessage()) <= 43 for r in passed)
    assert limit.filter(record(logging.ERROR, "boom"))
    now[0] += 10.0
    late = record(logging.WARNING, "again")
    assert limit.filter(late)
    assert late.getMessage() == "again (7 more lines held back by the rate limit)"


def test_frame_reader_reads_what_frame_builds() -> None:
    a, b = socket.socketpair()
    a.sendall(frame(0x1, b"x" * 70_000, mask=None) + frame(0x8, b"\x03\xe8", mask=None))
    reader = FrameReader(b)
    assert reader.next() == (0x1, b"x" * 70_000)
    assert reader.close_code() == 1000
    a.close()
    b.close()
