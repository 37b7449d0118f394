"""Hostile bus messages for the fuzz: random bytes, and mutations of real signed messages (bit
flips, truncation, wrong or missing headers, huge bodies, wrong seq, other keys and streams,
replays, valid JSON that is no event). None of them is a message the core signed for the next
seq, so every one must be refused."""

from __future__ import annotations

import base64
import random
import string

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.bus.signing import (
    LOG_HEADER,
    MAX_BODY_BYTES,
    SEQ_HEADER,
    SIG_HEADER,
    Position,
    Signer,
)
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent

Message = tuple[dict[str, str] | None, bytes]
_PRINTABLE = string.ascii_letters + string.digits + "+/=-_.:; "


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\x01"
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _event_body(seq: int, rng: random.Random, *, expires: bool) -> bytes:
    t = 1.7e9 + rng.random() * 1e6
    return EVENT_ENCODER.encode(
        AlertEvent(
            f"h{rng.randrange(10**6)}",
            seq,
            "missiles",
            "alert",
            (AlertArea(rng.randint(1, 1500), 15),),
            t,
            t + 600 if expires else None,
            (),
            {},
        )
    )


class Hostile:
    """Makes hostile messages around a real log signed by ``signer`` on ``stream``.

    ``huge_every`` spaces out the bodies over the size limit (each is a megabyte).
    ``printable`` keeps headers to what a NATS header line can carry. ``with_core_key`` adds
    messages signed with the core's own key (junk, another seq inside, a seq ahead): they test the
    verifier's checks after the signature, but only where the edge's next seq is known, since
    whoever holds that key is the core.
    """

    def __init__(
        self,
        signer: Signer,
        stream: str,
        seed: int,
        *,
        huge_every: int = 500,
        printable: bool = False,
        with_core_key: bool = True,
    ) -> None:
        self.signer, self.stream = signer, stream
        self.rng = random.Random(seed)
        self.other = Signer(Ed25519PrivateKey.generate())
        self.huge_every = huge_every
        self.printable = printable
        self.with_core_key = with_core_key
        self.made = 0

    def _text(self, n: int) -> str:
        rng = self.rng
        if self.printable:
            return "".join(rng.choice(_PRINTABLE) for _ in range(n))
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(n))

    def message(self, real: list[Message], next_seq: int) -> Message:
        """One hostile message while the edge waits for ``next_seq``; ``real`` holds the real
        signed messages so far (index i is seq i + 1), including the one for ``next_seq``."""
        rng, signer, stream = self.rng, self.signer, self.stream
        self.made += 1
        if self.made % self.huge_every == 0:
            headers, body = real[next_seq - 1]
            return dict(headers), body + b" " * (MAX_BODY_BYTES + 1 - len(body))
        headers, body = real[next_seq - 1]
        headers = dict(headers)
        LOG_ID = headers[LOG_HEADER]
        kind = rng.randrange(16)
        if not self.with_core_key and kind in (11, 12, 13):
            kind = 15
        if kind == 0:
            return None, rng.randbytes(rng.randrange(200))
        if kind == 1:
            return headers, _flip(body, rng)
        if kind == 2:
            return headers, body[: rng.randrange(len(body))]
        if kind == 3:
            return headers, body + rng.randbytes(rng.randint(1, 64))
        if kind == 4:
            sig = base64.b64encode(_flip(base64.b64decode(headers[SIG_HEADER]), rng)).decode()
            return {**headers, SIG_HEADER: sig}, body
        if kind == 5:
            return {**headers, SIG_HEADER: self._text(rng.choice((0, 10, 87, 88, 89, 200)))}, body
        if kind == 6:
            seq = rng.choice(
                (str(next_seq + 1), str(next_seq - 1), "-1", "0", f"0{next_seq}", self._text(4))
            )
            return {**headers, SEQ_HEADER: seq}, body
        if kind == 7:
            headers.pop(rng.choice((SIG_HEADER, SEQ_HEADER)))
            return headers, body
        if kind == 8:
            return signer.headers(stream + "X", Position(next_seq, LOG_ID), body), body
        if kind == 9:
            return self.other.headers(stream, Position(next_seq, LOG_ID), body), body
        if kind == 10 and next_seq > 1:  # a replay of an earlier real message
            return real[rng.randrange(next_seq - 1)]
        if kind == 11:  # a real future message, out of step
            ahead = next_seq + rng.randint(1, 5)
            future = _event_body(ahead, rng, expires=True)
            return signer.headers(stream, Position(ahead, LOG_ID), future), future
        if kind == 12:  # validly signed JSON that is no event (a core that misbehaves)
            junk = rng.choice((b"{}", b"[]", b'{"id": 1}', b"null", self._text(8).encode()))
            return signer.headers(stream, Position(next_seq, LOG_ID), junk), junk
        if kind == 13:  # signed, decodes, but another seq inside
            bad = _event_body(next_seq + 7, rng, expires=rng.random() < 0.5)
            return signer.headers(stream, Position(next_seq, LOG_ID), bad), bad
        if kind == 14:
            name = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 12)))
            return {name: self._text(20)}, body
        return {**headers, SEQ_HEADER: str(next_seq)}, _event_body(next_seq, rng, expires=True)
