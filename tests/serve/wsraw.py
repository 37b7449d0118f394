"""RFC 6455 by hand, for tests that must send what no WebSocket library would: frames are built
byte by byte (any opcode, reserved bits, mask or none, any declared length) and the server's
answers are read off a plain socket."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time


def handshake(path: str | bytes, *, extra: bytes = b"", key: bytes | None = None) -> bytes:
    """A client opening handshake for ``path`` (``extra``: more header lines, CRLF-ended)."""
    if isinstance(path, str):
        path = path.encode()
    key = base64.b64encode(os.urandom(16)) if key is None else key
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
        b"Sec-WebSocket-Version: 13\r\n" + extra + b"\r\n"
    )


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = b"\x37\xfa\x21\x3d",
    declared_length: int | None = None,
) -> bytes:
    """One frame. ``mask=None`` sends it unmasked (forbidden from a client); ``declared_length``
    puts another length in the header than the payload's."""
    length = len(payload) if declared_length is None else declared_length
    head = bytes([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    mask_bit = 0x80 if mask is not None else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return frame(0x8, struct.pack("!H", code) + reason)


def read_response(sock: socket.socket, timeout_s: float = 5.0) -> tuple[int, bytes, bytes]:
    """The server's HTTP answer: (status, head, the bytes after the head). Raises TimeoutError
    if the server says nothing within ``timeout_s`` (the silence these tests look for)."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without an HTTP answer after {data[:80]!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, rest


class FrameReader:
    """Reads the server's (unmasked) frames from a socket."""

    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock, self.buf = sock, buffered

    def _need(self, n: int, deadline: float) -> None:
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def next(self, timeout_s: float = 5.0) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame."""
        deadline = time.monotonic() + timeout_s
        self._need(2, deadline)
        opcode, length = self.buf[0] & 0xF, self.buf[1] & 0x7F
        start = 2
        if length == 126:
            self._need(4, deadline)
            length, start = struct.unpack("!H", self.buf[2:4])[0], 4
        elif length == 127:
            self._need(10, deadline)
            length, start = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(start + length, deadline)
        payload = self.buf[start : start + length]
        self.buf = self.buf[start + length :]
        return opcode, payload

    def close_code(self, timeout_s: float = 5.0) -> int | None:
        """Skip to the server's close frame and return its code (None: closed without one)."""
        try:
            while True:
                opcode, payload = self.next(timeout_s)
                if opcode == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except ConnectionError:
            return None


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def open_ws(port: int, path: str | bytes = "/v1/stream") -> tuple[socket.socket, FrameReader]:
    """A connection past a good handshake (asserts the 101)."""
    sock = connect(port)
    sock.sendall(handshake(path))
    status, head, rest = read_response(sock)
    assert status == 101, head
    return sock, FrameReader(sock, rest)
