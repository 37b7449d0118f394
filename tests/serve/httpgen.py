"""Inputs for the HTTP fuzz (test_fuzz_http.py): requests drawn from the app's OpenAPI schema
and beyond it, and bytes that are not (quite) HTTP."""

from __future__ import annotations

import os
import random
import urllib.parse
from typing import Any

import msgspec

from redcolor.serve.rest import encode_cursor

METHODS = ("GET", "GET", "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "G3T")


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
