"""The UDP receiver: a thin asyncio adapter around :class:`~redcolor.sensors.ingest.Ingest`.

``udp://HOST:PORT`` listens on a unicast address (``0.0.0.0`` or ``[::]`` for every
interface; a port of 0 picks a free one); ``udp://GROUP:PORT[?iface=ADDR]`` joins a multicast
group (IPv4 ``224.0.0.0/4``, IPv6 ``ff00::/8``) on the interface with that address (IPv4) or
that name or index (IPv6), or the system's choice. HOST is an IP literal (IPv6 in brackets),
never a name to resolve. :func:`bind_udp` binds before anything else starts, so a busy port or
a bad address is one :class:`~redcolor.errors.InputError` line; a unicast socket is exclusive
(no SO_REUSEADDR), a multicast one may share its group and port with other listeners.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from redcolor.errors import InputError
from redcolor.sensors.ingest import Ingest, Received

RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
"""The receive buffer asked for (the kernel may grant less: ``net.core.rmem_max``)."""

TICK_S = 0.1
"""How often :func:`receive` closes timed-out scans and ticks the sink."""

_FORM = "expected udp://HOST:PORT or udp://GROUP:PORT?iface=ADDR with an IP literal HOST"


@dataclass(frozen=True, slots=True)
class UdpUrl:
    """A parsed ``udp://`` address."""

    host: str
    port: int
    family: socket.AddressFamily
    multicast: bool
    iface: str | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.family == socket.AF_INET6 else self.host
        query = f"?iface={self.iface}" if self.iface is not None else ""
        return f"udp://{host}:{self.port}{query}"


class Sink(Protocol):
    """Where :func:`receive` puts scans and ticks (a :class:`~redcolor.sensors.live.LiveFeed`)."""

    def put(self, received: Received) -> None: ...

    def tick(self, now_unix_s: float) -> None: ...


def parse_udp_url(url: str) -> UdpUrl:
    """The address in ``url`` (InputError in one line for anything else)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"bad UDP address {url!r}: {exc}") from None
    if parts.scheme != "udp" or parts.username or parts.password or parts.fragment:
        raise InputError(f"bad UDP address {url!r}: {_FORM}")
    if parts.path not in ("", "/") or port is None or not parts.hostname:
        raise InputError(f"bad UDP address {url!r}: {_FORM}")
    try:
        addr = ipaddress.ip_address(parts.hostname)
    except ValueError:
        raise InputError(f"bad UDP address {url!r}: HOST must be an IP address") from None
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise InputError(f"bad UDP address {url!r}: cannot read the query") from None
    unknown = sorted(set(query) - {"iface"})
    if unknown:
        raise InputError(f"bad UDP address {url!r}: unknown option {unknown[0]!r} (only iface)")
    ifaces = query.get("iface", [])
    if len(ifaces) > 1 or (ifaces and not ifaces[0]):
        raise InputError(f"bad UDP address {url!r}: give one iface")
    iface = ifaces[0] if ifaces else None
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    if iface is not None:
        if not addr.is_multicast:
            raise InputError(f"bad UDP address {url!r}: iface is for a multicast group only")
        if family == socket.AF_INET and not _is_ipv4(iface):
            raise InputError(f"bad UDP address {url!r}: iface must be an IPv4 address")
    return UdpUrl(str(addr), port, family, addr.is_multicast, iface)


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def _join(sock: socket.socket, url: UdpUrl) -> None:
    if url.family == socket.AF_INET:
        group = socket.inet_aton(url.host)
        iface = socket.inet_aton(url.iface or "0.0.0.0")
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group + iface)
        return
    index = 0
    if url.iface is not None:
        index = int(url.iface) if url.iface.isdigit() else socket.if_nametoindex(url.iface)
    mreq = socket.inet_pton(socket.AF_INET6, url.host) + struct.pack("@I", index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)


def bind_udp(url: str | UdpUrl) -> socket.socket:
    """A non-blocking UDP socket bound to ``url`` (joined to its group if multicast), with a
    large receive buffer. InputError in one line if the address is bad or cannot be bound."""
    parsed = parse_udp_url(url) if isinstance(url, str) else url
    sock = socket.socket(parsed.family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        if parsed.multicast:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((parsed.host, parsed.port))
        if parsed.multicast:
            _join(sock, parsed)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {parsed}: {exc.strerror or exc}") from None
    return sock


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, ingest: Ingest, sink: Sink, clock: Callable[[], float]) -> None:
        self.ingest, self.sink, self.clock = ingest, sink, clock

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        arrival_mono_s = time.monotonic()
        for received in self.ingest.datagram(data, str(addr[0]), self.clock(), arrival_mono_s):
            self.sink.put(received)


async def receive(
    sock: socket.socket,
    ingest: Ingest,
    sink: Sink,
    clock: Callable[[], float] = time.time,
    *,
    tick_s: float = TICK_S,
) -> None:
    """Read datagrams from ``sock`` into ``ingest`` until cancelled, putting the scans they
    complete into ``sink``; every ``tick_s`` hand over the scans that timed out and tick the
    sink at ``clock()`` (held back to the oldest scan still being assembled). Each datagram's
    arrival is ``time.monotonic()`` when the event loop read it. Owns ``sock``: closes it on
    the way out."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Receiver(ingest, sink, clock), sock=sock
    )
    try:
        while True:
            await asyncio.sleep(tick_s)
            now_unix_s = clock()
            for received in ingest.due(now_unix_s, time.monotonic()):
                sink.put(received)
            pending = ingest.pending_unix_s()
            sink.tick(now_unix_s if pending is None else min(now_unix_s, pending))
    finally:
        transport.close()
