"""Request-body limits on a real uvicorn server (a 200 MB body, declared or chunked, is refused
with 413 while the server's memory stays put) and the per-address token buckets."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket

import httpx
import pytest

from redcolor.serve.limits import DEFAULT_BODY_BYTES, TokenBuckets, client_key
from redcolor.serve.push import MAX_BODY_BYTES

from .conftest import LiveServer, make_state

HUGE_BYTES = 200 * 1024 * 1024
CHUNK = b"x" * 65536
ALLOWED_GROWTH_KB = 8 * 1024


def _peak_kb() -> int:
    with open("/proc/self/status") as f:
        (kb,) = re.findall(r"VmHWM:\s+(\d+)", f.read())
    return int(kb)


def _reset_peak() -> int:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _peak_kb()


async def _send_huge(port: int, path: str, *, chunked: bool) -> tuple[bytes, int]:
    """POST 200 MB (declared with Content-Length, or chunked from a generator) on a raw socket;
    the server's answer and how many body bytes the socket took before it was answered."""
    loop = asyncio.get_running_loop()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE_BYTES}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    )
    sent = 0

    def body():
        yield head.encode()
        for _ in range(HUGE_BYTES // len(CHUNK)):
            yield b"10000\r\n" + CHUNK + b"\r\n" if chunked else CHUNK
        if chunked:
            yield b"0\r\n\r\n"

    async def upload() -> None:
        nonlocal sent
        with contextlib.suppress(OSError):  # the server closed after answering, as it should
            for piece in body():
                await loop.sock_sendall(sock, piece)
                sent += len(piece)

    task = asyncio.create_task(upload())
    try:
        answer = await asyncio.wait_for(loop.sock_recv(sock, 4096), 60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
    return answer, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_200_mb_body_is_refused_without_memory_growth(tmp_path, store, areas, chunked):
    state = make_state(store, areas, push_dir=tmp_path / "push")
    with LiveServer(state) as server:
        for path in ("/v1/push/subscriptions", "/v1/alerts"):
            before_kb = _reset_peak()
            answer, sent = await _send_huge(server.port, path, chunked=chunked)
            growth_kb = _peak_kb() - before_kb
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"connection: close" in answer.lower()
            assert growth_kb < ALLOWED_GROWTH_KB, (path, growth_kb)
            assert sent < HUGE_BYTES  # answered and closed long before the body was through
        metrics = httpx.get(f"{server.http}/metrics").text
    assert 'redcolor_rejected_requests_total{status="413"} 2.0' in metrics


async def test_each_route_has_its_limit_and_small_chunked_bodies_pass(store, areas, tmp_path):
    state = make_state(store, areas, push_dir=tmp_path / "push")
    with LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            push = "/v1/push/subscriptions"
            over_push = b"{" + b" " * MAX_BODY_BYTES + b"}"
            assert (await client.post(push, content=over_push)).status_code == 413
            # the same size elsewhere is under the default limit: the route answers (405)
            assert (await client.post("/v1/alerts", content=over_push)).status_code == 405
            over_default = b" " * (DEFAULT_BODY_BYTES + 1)
            assert (await client.post("/v1/alerts", content=over_default)).status_code == 413

            async def pieces(n: int):
                yield b'{"endpoint": "'
                for _ in range(n):
                    yield b"a" * 1024
                yield b'"}'

            # chunked (no Content-Length) and small: replayed to the route, which judges it
            small = await client.post(push, content=pieces(4))
            assert small.status_code == 400 and "bad subscription" in small.json()["detail"]
            big = await client.post(push, content=pieces(20))
            assert big.status_code == 413


def test_token_bucket_allows_a_burst_then_the_refill_rate():
    buckets = TokenBuckets(rate_per_s=0.5, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == pytest.approx(2.0)  # one token per 2 s
    assert buckets.take("b", 0.0) == 0.0  # another address has its own bucket
    assert buckets.take("a", 1.0) == pytest.approx(1.0)
    assert buckets.take("a", 2.0) == 0.0
    assert buckets.take("a", 2.0) > 0


def test_token_buckets_stay_bounded_and_forget_only_refilled_ones():
    buckets = TokenBuckets(rate_per_s=1.0, burst=2, max_keys=3)
    for key in "abc":
        assert buckets.take(key, 0.0) == 0.0
    # full of buckets still short of tokens: a new address waits (no fresh burst by eviction)
    assert buckets.take("d", 0.5) == pytest.approx(0.5)
    assert len(buckets) == 3
    # once the oldest has refilled it is let go and the new address gets in
    assert buckets.take("d", 1.0) == 0.0
    assert len(buckets) == 3


def test_client_key_counts_ipv6_by_64():
    assert client_key({"client": ("203.0.113.9", 5000)}) == "203.0.113.9"
    one = client_key({"client": ("2001:db8:1:2::1", 1)})
    assert one == client_key({"client": ("2001:db8:1:2:ffff::9", 2)}) == "2001:db8:1:2::/64"
    assert client_key({"client": ("::ffff:192.0.2.1", 1)}) == "192.0.2.1"
    assert client_key({}) == "unknown"


async def test_a_get_declaring_a_chunked_body_it_never_sends_is_answered(store, areas):
    """A GET's body is not waited for: the fuzz found a GET with ``Transfer-Encoding: chunked``
    and no body left unanswered while the limit waited for the body's end."""
    with (
        LiveServer(make_state(store, areas)) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        head = await asyncio.wait_for(asyncio.to_thread(sock.recv, 4096), 5)
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
