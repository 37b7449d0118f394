"""Where Web Push may connect: ``https://`` endpoints whose host resolves only to public unicast
addresses (unless an allow-list names the range).

Three layers, so no request a client registers can reach an internal service:

- :func:`parse_endpoint` accepts one strict spelling of a URL: https, no user info, a DNS name
  whose last label starts with a letter (so ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and
  ``127.1``, which the C resolver reads as IPv4, are refused), or a canonical IP literal; no
  trailing dot, zone id or non-ASCII host.
- :meth:`EndpointPolicy.refusal` is the address rule (pure): loopback, private (RFC 1918, ULA),
  link-local (cloud metadata at 169.254.169.254), multicast, unspecified, shared, benchmarking,
  documentation and reserved ranges are refused, and so is an IPv6 address embedding one of those
  IPv4 addresses (IPv4-mapped, NAT64, 6to4).
- :class:`GuardedBackend` is the push client's connection layer (an httpcore network backend):
  every connection resolves the host, checks *every* address it resolves to and then connects to
  an address it checked, never to the name. A DNS answer that changes between the check at
  subscribe time and a send (rebinding) is checked again and cannot reach a refused address; TLS
  still verifies the certificate for the host name (httpcore passes it as SNI) and the ``Host``
  header keeps the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from redcolor.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ENDPOINT_CHARS = 2048
RESOLVE_TIMEOUT_S = 5.0

_REFUSED_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata service)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (and broadcast)"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments"),
    ("2001:db8::/32", "documentation"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why) for net, why in _REFUSED_RANGES
)
"""Every range a push is never sent to (unless the allow-list names it), with the reason."""
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class EndpointRefused(InputError):
    """A push endpoint that is not an https URL on public addresses."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A checked endpoint URL in parts: the host (name or IP literal, no brackets) and port the
    connection uses, the ``Host`` header value and the request target."""

    host: str
    port: int
    authority: str
    target: str

    def url(self) -> httpcore.URL:
        return httpcore.URL(
            scheme=b"https", host=self.host.encode("ascii"), port=self.port, target=self.target
        )


def parse_endpoint(url: str) -> Endpoint:
    """The parts of ``url``; :class:`EndpointRefused` (one line, naming the fault) unless it is
    spelled the one strict way described in the module docstring."""
    if len(url) > MAX_ENDPOINT_CHARS:
        raise EndpointRefused(f"endpoint longer than {MAX_ENDPOINT_CHARS} characters")
    if not url.isascii() or any(c.isspace() or c in "\\\x7f" or ord(c) < 32 for c in url):
        raise EndpointRefused("endpoint must be plain ASCII with no spaces or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed "[" of an IPv6 literal
        raise EndpointRefused("endpoint is not a URL (an IPv6 address needs [ and ])") from None
    if parts.scheme != "https":
        raise EndpointRefused("endpoint must be an https:// URL")
    if "@" in parts.netloc:
        raise EndpointRefused("endpoint must not carry user info (user@host)")
    if parts.fragment or "#" in url:
        raise EndpointRefused("endpoint must not have a fragment")
    try:
        port = 443 if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise EndpointRefused("endpoint port must be a number from 1 to 65535")
    host = parts.hostname or ""
    if not host:
        raise EndpointRefused("endpoint must name a host")
    ip = _ip_literal(host, bracketed=parts.netloc.startswith("["))
    if ip is None:
        _check_name(host)
    shown = f"[{host}]" if ip is not None and ip.version == 6 else host
    authority = shown if port == 443 else f"{shown}:{port}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Endpoint(host=host, port=port, authority=authority, target=target)


def _ip_literal(host: str, *, bracketed: bool) -> IPAddress | None:
    if bracketed:
        if "%" in host:
            raise EndpointRefused("endpoint IPv6 address must not carry a zone id")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise EndpointRefused(f"endpoint host [{host}] is not an IPv6 address") from None
    try:
        return ipaddress.IPv4Address(host)  # canonical dotted quad only (no octal, hex, short)
    except ValueError:
        return None


def _check_name(host: str) -> None:
    if host.endswith("."):
        raise EndpointRefused("endpoint host must not end with a dot")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise EndpointRefused(f"endpoint host {host!r} is not a DNS name or an IP address")
    if not labels[-1][0].isalpha():
        raise EndpointRefused(
            f"endpoint host {host!r} is a numeric IPv4 spelling; write a dotted quad"
        )


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64 64:ff9b::/96, 6to4)."""
    if ip.version == 4:
        return None
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


@dataclass(frozen=True)
class EndpointPolicy:
    """The address rule, with the ranges an operator allows (``--push-allow``, e.g. a test's
    loopback push service)."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> EndpointPolicy:
        """InputError naming the first entry that is not a CIDR (``10.1.0.0/16``, ``::1/128``)."""
        allow: list[IPNetwork] = []
        for text in cidrs:
            try:
                allow.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise InputError(f"--push-allow {text!r} is not an IP range (CIDR)") from None
        return cls(tuple(allow))

    def refusal(self, ip: IPAddress) -> str | None:
        """Why no push may go to ``ip``, or None when it may."""
        inner = embedded_ipv4(ip)
        if any(a in net for net in self.allow for a in (ip, inner) if a is not None):
            return None
        if inner is not None:
            why = self.refusal(inner)
            return None if why is None else f"embeds {inner}, {why}"
        for net, why in REFUSED:
            if ip in net:
                return why
        if ip.version == 6 and ip not in _GLOBAL_UNICAST_V6:
            return "not global unicast"
        if not ip.is_global:
            return "not a global address"
        return None

    async def resolve_checked(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to, after checking each (one refused refuses all: a
        client could not tell which one a connection would use)."""
        addresses = await resolve(host, port)
        for ip in addresses:
            why = self.refusal(ip)
            if why is not None:
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise EndpointRefused(f"endpoint host {shown} is {why}: push refused")
        return addresses

    async def check(self, url: str) -> Endpoint:
        """The endpoint's parts, once its spelling and every address it resolves to pass."""
        endpoint = parse_endpoint(url)
        await self.resolve_checked(endpoint.host, endpoint.port)
        return endpoint


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host`` (an IP literal is itself), without blocking the event loop."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise EndpointRefused(f"endpoint host {host} does not resolve") from None
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not found:
        raise EndpointRefused(f"endpoint host {host} does not resolve")
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses ``policy`` accepts, pinned: the
    socket is opened to the checked IP, never to the name (which could resolve anew)."""

    def __init__(self, policy: EndpointPolicy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve_checked(host, port)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EndpointRefused("push never connects to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
