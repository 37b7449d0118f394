"""Fuzz of the WebSockets over real sockets: malformed handshakes to ``/v1/stream`` and
``/v1/sirens/connect``, then, past good handshakes, frames built by hand that break RFC 6455 in
every way a parser must catch (bad opcodes, reserved bits, unmasked, control frames over 125
bytes or fragmented, continuations without a start, oversize lengths, invalid UTF-8, close
frames with bad codes) mixed with valid ones, and raw bytes.

The server must answer every handshake (101 or a 4xx, never silence, never a 5xx), close every
broken connection with the code RFC 6455 names for the fault (never 1011), log no traceback and
no ERROR, keep its memory bounded, and all along stream every event written to the store to a
well-behaved client. ``REDCOLOR_FUZZ_SEED`` replays a run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import os
import random
import socket
import struct
import time

import websockets

from .conftest import CapturedLogs
from .httpgen import odd_values
from .test_fuzz_http import rss_bytes
from .wsraw import FrameReader, close_frame, connect, frame, handshake, read_response

SEED = int(os.environ.get("REDCOLOR_FUZZ_SEED", "11"))
HANDSHAKE_INPUTS = 2_500
FRAME_INPUTS = 8_000
TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999)
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535)


def bad_handshake(rng: random.Random, area_ids: list[int]) -> bytes:
    """A handshake with one or more things wrong (or, sometimes, nothing)."""
    path = rng.choice(["/v1/stream", "/v1/stream", "/v1/sirens/connect", "/v1/Stream", "/"])
    params = []
    if rng.random() < 0.6:
        params.append(
            ("areas", rng.choice([",".join(map(str, rng.sample(area_ids, 3))), odd_values(rng)]))
        )
    if rng.random() < 0.4:
        params.append(("since", rng.choice(["0", odd_values(rng)])))
    if path.startswith("/v1/sirens") and rng.random() < 0.7:
        params.append(("siren", rng.choice([f"fz-{rng.randint(0, 10**6)}", odd_values(rng)])))
    query = "&".join(f"{k}={v}" for k, v in params).encode("utf-8")
    query = bytes(b if 0x21 <= b < 0x7F else 0x5F for b in query)  # what a request line can carry
    target = path.encode() + (b"?" + query if query else b"")
    request = handshake(target)
    for _ in range(rng.randint(0, 3)):
        request = rng.choice(
            [
                lambda r: r.replace(
                    b"Sec-WebSocket-Version: 13",
                    b"Sec-WebSocket-Version: " + rng.choice([b"8", b"", b"13, 8", b"99999999999"]),
                ),
                lambda r: _set_key(
                    r,
                    rng.choice(
                        [
                            b"",
                            b"short",
                            b"!!!!not base64!!!!",
                            base64.b64encode(os.urandom(15)),
                            base64.b64encode(os.urandom(9000)),
                        ]
                    ),
                ),
                lambda r: r.replace(
                    b"Upgrade: websocket\r\n",
                    rng.choice([b"", b"Upgrade: WebSocket2\r\n", b"Upgrade: h2c\r\n"]),
                ),
                lambda r: r.replace(
                    b"Connection: Upgrade\r\n",
                    rng.choice(
                        [b"", b"Connection: close\r\n", b"Connection: keep-alive, Upgrade\r\n"]
                    ),
                ),
                lambda r: r.replace(b"GET ", rng.choice([b"POST ", b"HEAD ", b"get "]), 1),
                lambda r: r.replace(
                    b" HTTP/1.1\r\n", rng.choice([b" HTTP/1.0\r\n", b" HTTP/1.2\r\n"]), 1
                ),
                lambda r: r[:-2] + rng.choice(_ODD_HEADERS) + b"\r\n",
                lambda r: (
                    r[:-2] + b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\n\r\n"
                ),
                lambda r: (
                    r[:-2]
                    + b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(rng.randint(100, 140)))
                    + b"\r\n"
                ),
                lambda r: (
                    r[:-2] + b"X-Long: " + b"l" * rng.choice([8000, 8200, 20000]) + b"\r\n\r\n"
                ),
                lambda r: r.replace(b"Host: 127.0.0.1\r\n", b""),
                lambda r: r + frame(TEXT, b"early"),  # a frame before the answer
                lambda r: r + frame(TEXT, b"\xff"),
                lambda r: r + os.urandom(rng.randint(1, 200)),
            ]
        )(request)
    return request


_ODD_HEADERS = [
    b"Sec-WebSocket-Protocol: , ,,chat,\x7f\r\n",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99; x\r\n",
    b"Sec-WebSocket-Extensions: ;;;\r\n",
    b"Origin: null\r\n",
    b"Content-Length: 3\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"X-Bin: \xff\xfe\x80\r\n",
    b"X-Ctl: a\x01b\r\n",
    b"Cookie: " + b"c" * 4000 + b"\r\n",
]


def _set_key(request: bytes, key: bytes) -> bytes:
    start = request.index(b"Sec-WebSocket-Key: ") + len(b"Sec-WebSocket-Key: ")
    end = request.index(b"\r\n", start)
    return request[:start] + key + request[end:]


def benign(rng: random.Random) -> bytes:
    """Valid client frames the server must take and keep the connection open after."""
    text = "".join(rng.choice('abc שלום ١٢ 💥{}"') for _ in range(rng.randint(0, 300))).encode()
    return rng.choice(
        [
            frame(TEXT, text),
            frame(BINARY, os.urandom(rng.randint(0, 2000))),
            frame(PING, os.urandom(rng.randint(0, 125))),
            frame(PONG, os.urandom(rng.randint(0, 125))),
            frame(TEXT, text[:5], fin=False) + frame(PING, b"mid") + frame(CONT, text[5:]),
            frame(BINARY, b"a", fin=False) + frame(CONT, b"b", fin=False) + frame(CONT, b"c"),
            frame(TEXT, b""),
            frame(TEXT, json.dumps({"type": "ack", "cmd": rng.randint(-5, 10**20)}).encode()),
        ]
    )


def fatal(rng: random.Random) -> tuple[bytes, int | None]:
    """A fault and the close code RFC 6455 names for it (None: any close, or none)."""
    bad_utf8 = rng.choice(
        [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"ok\xe2\x82"]
    )
    code = rng.choice(VALID_CLOSE_CODES)
    return rng.choice(
        [
            (frame(rng.choice([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]), b"x"), 1002),
            (frame(TEXT, b"rsv", rsv=rng.randint(1, 7)), 1002),
            (frame(TEXT, b"unmasked", mask=None), 1002),
            (frame(PING, b"p" * rng.randint(126, 1000)), 1002),
            (frame(CLOSE, struct.pack("!H", 1000) + b"r" * 200), 1002),
            (frame(PING, b"frag", fin=False), 1002),
            (frame(CONT, b"orphan"), 1002),
            (frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002),
            (frame(BINARY, b"", declared_length=rng.choice([65537, 2**31, 2**63 - 1])), 1009),
            (frame(TEXT, bad_utf8), 1007),
            (frame(TEXT, b"ok", fin=False) + frame(CONT, bad_utf8), 1007),
            (close_frame(1000, b"\xc3\x28"), 1007),
            (close_frame(rng.choice(INVALID_CLOSE_CODES)), 1002),
            (frame(CLOSE, b"\x03"), 1002),
            (close_frame(code, b"bye"), code),
            (frame(CLOSE, b""), 1005),
            (os.urandom(rng.randint(1, 300)), None),
            (frame(BINARY, b"short", declared_length=1000), None),  # then EOF mid-frame
        ]
    )


def fuzz_handshakes(
    port: int, rng: random.Random, area_ids: list[int], out: dict[str, int], n: int
) -> None:
    for i in range(n):
        request = bad_handshake(rng, area_ids)
        sock = connect(port)
        try:
            # Refused while it was still sending: the answer is waiting all the same.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(request)
            try:
                status, head, _ = read_response(sock, timeout_s=5)
            except ConnectionResetError:
                status, head = -1, b"reset"
            # 101, a 4xx, or (no upgrade asked for after all) the page at that path
            assert status != 0 and status < 500, (SEED, i, request[:300], head[:300])
            out[str(status)] = out.get(str(status), 0) + 1
            if status == 101:
                sock.sendall(close_frame(1000))
        finally:
            sock.close()


def fuzz_frames(port: int, rng: random.Random, out: dict[str, int]) -> None:
    sent = 0
    while sent < FRAME_INPUTS:
        sock = connect(port)
        try:
            sock.sendall(handshake("/v1/stream"))
            status, _, rest = read_response(sock)
            assert status == 101
            batch = [benign(rng) for _ in range(rng.randint(0, 8))]
            last, expected = fatal(rng) if rng.random() < 0.9 else (close_frame(1000), 1000)
            sock.sendall(b"".join(batch) + last)
            sent += len(batch) + 1
            sock.shutdown(socket.SHUT_WR)
            code = FrameReader(sock, rest).close_code(timeout_s=5)
            if expected is not None:
                assert code == expected, (SEED, sent, last[:60], code)
            assert code != 1011 or expected == 1011, (SEED, sent, last[:80])  # 1011: our fault
            out[str(code)] = out.get(str(code), 0) + 1
        finally:
            sock.close()


async def test_ten_thousand_websocket_inputs(live_server, meron_ids) -> None:
    rng = random.Random(SEED)
    server = live_server
    area_ids = [a.id for a in server.state.areas.areas]
    handshakes: dict[str, int] = {}
    closes: dict[str, int] = {}
    written: list[int] = []
    received: list[int] = []

    async def well_behaved() -> None:
        async with websockets.connect(f"{server.ws}/v1/stream") as ws:
            async for message in ws:
                event = json.loads(message)
                if "seq" in event and "type" not in event:
                    received.append(event["seq"])

    async def write_events(stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            written.append(server.writer.event(f"during-fuzz-{n}", "alert", meron_ids[:2]).seq)
            await asyncio.sleep(0.1)

    with CapturedLogs() as logs:
        client = asyncio.create_task(well_behaved())
        await asyncio.sleep(0.2)
        # Warm up (first connections allocate pools), then measure.
        await asyncio.to_thread(fuzz_handshakes, server.port, rng, area_ids, {}, 200)
        gc.collect()
        rss_before = rss_bytes()
        stop = asyncio.Event()
        writing = asyncio.create_task(write_events(stop))
        t0 = time.monotonic()
        await asyncio.to_thread(
            fuzz_handshakes, server.port, rng, area_ids, handshakes, HANDSHAKE_INPUTS
        )
        t_handshakes_s = time.monotonic() - t0
        await asyncio.to_thread(fuzz_frames, server.port, rng, closes)
        t_frames_s = time.monotonic() - t0 - t_handshakes_s
        stop.set()
        await writing
        deadline = time.monotonic() + 10
        while received[-1:] != written[-1:] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        client.cancel()
        gc.collect()
        rss_grown = rss_bytes() - rss_before
    print(
        f"\nws fuzz: {HANDSHAKE_INPUTS} handshakes in {t_handshakes_s:.1f} s {handshakes}; "
        f"{FRAME_INPUTS}+ frames in {t_frames_s:.1f} s, closes {closes}; "
        f"RSS +{rss_grown >> 10} KiB; {len(written)} events streamed"
    )
    assert received == written  # every event, in order, to the client connected all along
    assert logs.bad() == [], logs.bad()[:3]
    assert rss_grown < 8 << 20, rss_grown
    assert handshakes.get("101", 0) > 100 and handshakes.get("400", 0) > 500
    assert server.state.metrics.ws_protocol_errors.labels("1002")._value.get() > 500
