"""The UDP receiver on real loopback sockets, and the LiveFeed between threads."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import pytest

from redcolor.errors import InputError
from redcolor.model import Scan
from redcolor.sensors import asterix as ax
from redcolor.sensors.ingest import Ingest, Received
from redcolor.sensors.live import LiveFeed, Tick
from redcolor.sensors.registry import Registry, SensorConfig
from redcolor.sensors.udp import RECEIVE_BUFFER_BYTES, UdpUrl, bind_udp, parse_udp_url, receive

CFG = SensorConfig(
    id="r1", lat=32.0, lon=34.8, alt_m=50.0, scan_period_s=0.5, range_sigma_m=20.0,
    angle_sigma_mrad=1.0, detection_probability=0.9, false_alarms_per_scan=0.0,
    max_range_km=500.0, sac=4, sic=5, sources=["127.0.0.1", "::1"],
)  # fmt: skip


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("udp://127.0.0.1:4000", UdpUrl("127.0.0.1", 4000, socket.AF_INET, False)),
        ("udp://0.0.0.0:0", UdpUrl("0.0.0.0", 0, socket.AF_INET, False)),
        ("udp://[::1]:65535", UdpUrl("::1", 65535, socket.AF_INET6, False)),
        ("udp://239.1.2.3:30000/", UdpUrl("239.1.2.3", 30000, socket.AF_INET, True)),
        (
            "udp://239.1.2.3:30000?iface=10.0.0.1",
            UdpUrl("239.1.2.3", 30000, socket.AF_INET, True, "10.0.0.1"),
        ),
        ("udp://[ff15::7]:9?iface=lo", UdpUrl("ff15::7", 9, socket.AF_INET6, True, "lo")),
    ],
)
def test_parse_udp_url(url: str, parsed: UdpUrl) -> None:
    assert parse_udp_url(url) == parsed
    assert parse_udp_url(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://127.0.0.1:4000", "expected udp://HOST:PORT"),
        ("udp://127.0.0.1", "expected udp://HOST:PORT"),
        ("udp://:4000", "expected udp://HOST:PORT"),
        ("udp://127.0.0.1:4000/x", "expected udp://HOST:PORT"),
        ("udp://u:p@127.0.0.1:4000", "expected udp://HOST:PORT"),
        ("udp://127.0.0.1:99999", "Port out of range"),
        ("udp://127.0.0.1:port", "Port could not be cast"),
        ("udp://radar.local:4000", "HOST must be an IP address"),
        ("udp://[::1:4000", "Invalid IPv6 URL"),
        ("udp://127.0.0.1:4000?ttl=3", "unknown option 'ttl' (only iface)"),
        ("udp://127.0.0.1:4000?iface=10.0.0.1", "iface is for a multicast group only"),
        ("udp://239.0.0.1:4000?iface=eth0", "iface must be an IPv4 address"),
        ("udp://239.0.0.1:4000?iface=1.1.1.1&iface=2.2.2.2", "give one iface"),
        ("udp://239.0.0.1:4000?iface=", "give one iface"),
        ("udp://239.0.0.1:4000?junk", "cannot read the query"),
        ("", "expected udp://HOST:PORT"),
    ],
)
def test_bad_udp_urls_are_one_line_errors(url: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_udp_url(url)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"bad UDP address {url!r}")


def test_bind_asks_for_a_large_buffer_and_refuses_a_busy_port() -> None:
    sock = bind_udp("udp://127.0.0.1:0")
    try:
        port = sock.getsockname()[1]
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert granted > 0 and not sock.getblocking()
        assert RECEIVE_BUFFER_BYTES == 8 * 1024 * 1024
        with pytest.raises(InputError, match=rf"cannot listen on udp://127\.0\.0\.1:{port}: "):
            bind_udp(f"udp://127.0.0.1:{port}")
    finally:
        sock.close()
    with pytest.raises(InputError, match=r"cannot listen on udp://192\.0\.2\.1:5000: "):
        bind_udp("udp://192.0.2.1:5000")  # an address this host does not have


# --- the receiver ------------------------------------------------------------------------------


def _scan_datagrams(t_unix_s: float, n_plots: int) -> list[bytes]:
    tod = ax.tod_of_unix_s(t_unix_s)
    r = [10_000.0 + 1_000.0 * i for i in range(n_plots)]
    body = ax.encode_plots(
        CFG.sac, CFG.sic, tod, r, [0.5] * n_plots, [0.05] * n_plots, [10.0] * n_plots,
        radar_alt_m=CFG.alt_m, simulated=False, max_datagram_bytes=200,
    )  # fmt: skip
    return [ax.encode_service(CFG.sac, CFG.sic, "north_marker", tod), *body,
            ax.encode_service(CFG.sac, CFG.sic, "sector_crossing", tod)]  # fmt: skip


async def _exchange(
    url: str, sender: socket.socket, dest: tuple[str, int] | None, *, scans: int, silent_s: float
) -> tuple[LiveFeed, Ingest]:
    """Receive ``scans`` scans of 30 plots (several datagrams each) sent to ``url`` from
    ``sender``, then a scan left open (no sector crossing), then ``silent_s`` of silence."""
    sock = bind_udp(url)
    target = dest or sock.getsockname()[:2]
    if dest is not None:
        target = (dest[0], sock.getsockname()[1])
    ingest = Ingest(Registry((CFG,)))
    feed = LiveFeed()
    task = asyncio.create_task(receive(sock, ingest, feed, tick_s=0.02))
    try:
        t0 = time.time() - 1.0
        for k in range(scans):
            for d in _scan_datagrams(t0 + 0.1 * k, 30):
                sender.sendto(d, target)
        for d in _scan_datagrams(t0 + 0.1 * scans, 5)[:-1]:
            sender.sendto(d, target)
        await asyncio.sleep(silent_s)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sock.fileno() == -1  # receive closed it
    feed.close()
    return feed, ingest


def _check(feed: LiveFeed, ingest: Ingest, scans: int) -> None:
    items = list(feed)
    got = [i for i in items if isinstance(i, Received)]
    ticks = [i.t_unix_s for i in items if isinstance(i, Tick)]
    assert [len(r.scan.plots) for r in got] == [30] * scans + [5]
    assert all(isinstance(r.scan, Scan) and r.scan.sensor == "r1" for r in got)
    assert [r.scan.t for r in got] == sorted(r.scan.t for r in got)
    assert ticks and ticks == sorted(ticks)
    # no tick passes the open scan before it is handed over (by timeout, one period later)
    last_open = got[-1].scan.t
    before = items[: items.index(got[-1])]
    assert all(i.t_unix_s <= last_open for i in before if isinstance(i, Tick))
    counts = ingest.counts
    n_dg = sum(counts.datagrams.values())
    assert counts.datagrams == {("r1", "accepted"): n_dg}
    assert counts.plots == {("r1", "accepted"): 30 * scans + 5}
    assert all(r.arrival_mono_s <= time.monotonic() for r in got)


async def test_unicast_ipv4_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        feed, ingest = await _exchange("udp://127.0.0.1:0", tx, None, scans=5, silent_s=0.8)
    _check(feed, ingest, 5)


async def test_unicast_ipv6_loopback() -> None:
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as tx:
        feed, ingest = await _exchange("udp://[::1]:0", tx, None, scans=3, silent_s=0.8)
    _check(feed, ingest, 3)


async def test_multicast_ipv4_on_loopback() -> None:
    group = "239.255.12.34"
    try:
        probe = bind_udp(f"udp://{group}:0?iface=127.0.0.1")
        probe.close()
    except InputError as exc:
        pytest.skip(f"the kernel refuses to join {group} on the loopback: {exc}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        feed, ingest = await _exchange(
            f"udp://{group}:0?iface=127.0.0.1", tx, (group, 0), scans=3, silent_s=0.8
        )
    _check(feed, ingest, 3)


async def test_datagrams_from_an_unlisted_address_are_counted_not_delivered() -> None:
    cfg = SensorConfig(**{**{f: getattr(CFG, f) for f in CFG.__struct_fields__},
                          "sources": ["10.0.0.0/8"]})  # fmt: skip
    sock = bind_udp("udp://127.0.0.1:0")
    ingest, feed = Ingest(Registry((cfg,))), LiveFeed()
    task = asyncio.create_task(receive(sock, ingest, feed, tick_s=0.02))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for d in _scan_datagrams(time.time(), 3):
            tx.sendto(d, sock.getsockname())
        tx.sendto(b"\x30\x00", sock.getsockname())
        await asyncio.sleep(0.3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    feed.close()
    assert all(isinstance(i, Tick) for i in feed)
    assert ingest.counts.datagrams == {("r1", "bad_source"): 3, ("unregistered", "truncated"): 1}


# --- the feed ----------------------------------------------------------------------------------


def _received(t: float) -> Received:
    return Received(Scan("r1", t, []), 0.0)


def test_live_feed_carries_items_in_order_across_threads() -> None:
    feed = LiveFeed()
    got: list[Received | Tick] = []
    reader = threading.Thread(target=lambda: got.extend(feed))
    reader.start()
    for i in range(2_000):
        feed.put(_received(float(i)))
        if i % 100 == 0:
            feed.tick(float(i))
    feed.close()
    reader.join(timeout=10.0)
    assert not reader.is_alive()
    scans = [g.scan.t for g in got if isinstance(g, Received)]
    assert scans == [float(i) for i in range(2_000)]
    ticks = [g.t_unix_s for g in got if isinstance(g, Tick)]
    assert ticks == [float(i) for i in range(0, 2_000, 100)]


def test_live_feed_coalesces_unread_ticks_and_never_goes_back() -> None:
    feed = LiveFeed()
    feed.tick(5.0)
    feed.tick(6.0)
    feed.tick(4.0)
    feed.put(_received(6.5))
    feed.tick(6.0)
    feed.tick(7.0)
    assert feed.pending == 3
    feed.close()
    feed.put(_received(8.0))
    feed.tick(9.0)
    assert feed.closed
    items = list(feed)
    assert items == [Tick(6.0), _received(6.5), Tick(7.0)]


def test_close_wakes_a_blocked_reader() -> None:
    feed = LiveFeed()
    done = threading.Event()

    def read() -> None:
        assert list(feed) == []
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.05)
    assert not done.is_set()
    feed.close()
    assert done.wait(5.0)
    reader.join()
