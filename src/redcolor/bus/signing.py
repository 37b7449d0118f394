"""Ed25519 signatures on bus messages, and the edge's verdict on each message: no I/O, no clock.

The core signs, for every event, the exact stored body bytes (what every channel serves) bound
to the stream name, the core's log id, the writer's term and the event ``seq``::

    signed = b"redcolor-v2\\0" + stream + b"\\0" + log_id + b"\\0" + term (8 bytes, big-endian)
             + seq (8 bytes, big-endian) + body

and sends the signature (base64), the log id, the term and the seq as message headers. A valid
message therefore cannot be moved to another position, stream or log, and every edge serves it
under the core's log id (so a client resumes on any edge by seq). The core's heartbeat
(:class:`Heartbeat`, on core NATS) is signed the same way under its own domain.

An edge runs every message through :meth:`EdgeVerifier.check` before anything is stored or
served: it accepts only a message signed by the core's key whose seq is exactly the next one
after the edge's own last seq, of the log it copies, whose body decodes to an event with that
seq. Everything else gets a :class:`Refused` with a reason from :data:`REASONS` (for a metric)
and changes nothing, so replication goes on with the next message. The verdict never depends
on the JetStream stream sequence: forged messages may sit in the stream between real ones, so
only the signed seq positions an event. An event without an expiry is an operator's alert open
until ended by hand: the core makes them, and only the core's key signs, so the edge serves
them as the core does (refusing them stalled every edge at the first such alert).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redcolor.model import EVENT_DECODER, AlertEvent

SIG_HEADER = "Redcolor-Sig"
SEQ_HEADER = "Redcolor-Seq"
LOG_HEADER = "Redcolor-Log"
TERM_HEADER = "Redcolor-Term"
MSG_ID_HEADER = "Nats-Msg-Id"
_DOMAIN = b"redcolor-v2\0"
_HEARTBEAT_DOMAIN = b"redcolor-heartbeat-v1\0"
_LOG_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
_SIG_B64_CHARS = 88  # a 64-byte signature
_MAX_SEQ_DIGITS = 18  # below 2**63: the seq fits SQLite's INTEGER and the 8 signed bytes
MAX_BODY_BYTES = 1 << 20  # NATS's own default max_payload; an alert over 2,000 areas is ~55 KB

Reason = Literal[
    "too_large",
    "unsigned",
    "malformed",
    "bad_signature",
    "replayed",
    "out_of_step",
    "undecodable",
    "invalid_event",
    "rescanned",
    "foreign_log",
]
REASONS: tuple[Reason, ...] = get_args(Reason)


def signed_bytes(stream: str, position: Position, body: bytes) -> bytes:
    """The bytes the signature covers (see the module docstring)."""
    return b"".join(
        (
            _DOMAIN,
            stream.encode(),
            b"\0",
            position.log_id.encode(),
            b"\0",
            position.term.to_bytes(8, "big"),
            position.seq.to_bytes(8, "big"),
            body,
        )
    )


@dataclass(frozen=True, slots=True)
class Position:
    """Where a signed event sits: its ``seq`` in the core's log ``log_id``, written under
    ``term`` (the writer's fencing term; 0 for a single core)."""

    seq: int
    log_id: str
    term: int = 0


class Signer:
    """The core's side: headers that carry one event's signature.

    ``Nats-Msg-Id`` (JetStream's de-duplication id) is the seq plus the start of the signature:
    a retry of the same event is recognised as a duplicate, but nobody without the key can
    publish a message with the id of an event not yet sent and so have the real one dropped.
    """

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_key = key.public_key()

    def headers(self, stream: str, position: Position, body: bytes) -> dict[str, str]:
        sig = base64.b64encode(self.key.sign(signed_bytes(stream, position, body))).decode()
        seq = position.seq
        return {
            SEQ_HEADER: str(seq),
            LOG_HEADER: position.log_id,
            TERM_HEADER: str(position.term),
            SIG_HEADER: sig,
            MSG_ID_HEADER: f"{seq}.{sig[:22]}",
        }

    def heartbeat(self, stream: str, beat: Heartbeat) -> tuple[bytes, dict[str, str]]:
        """The heartbeat's body and headers (its signature)."""
        body = msgspec.json.encode(beat)
        sig = self.key.sign(_HEARTBEAT_DOMAIN + stream.encode() + b"\0" + body)
        return body, {SIG_HEADER: base64.b64encode(sig).decode()}


class Heartbeat(msgspec.Struct, frozen=True):
    """What the leader says every half second: its log, the last seq its store holds, its term,
    its node id and its wall clock (for the edges' ``/health``)."""

    log_id: str
    last_seq: int
    term: int
    node_id: str
    time_unix_s: float


_HEARTBEAT_DECODER = msgspec.json.Decoder(Heartbeat)


def signed_heartbeat(
    public_key: Ed25519PublicKey, stream: str, headers: Mapping[str, str] | None, body: bytes
) -> Heartbeat | None:
    """The heartbeat if the core's key signed it for ``stream``, else None (never raises)."""
    if len(body) > 4096 or not headers or not isinstance(headers.get(SIG_HEADER), str):
        return None
    try:
        sig = base64.b64decode(headers[SIG_HEADER], validate=True)
        public_key.verify(sig, _HEARTBEAT_DOMAIN + stream.encode() + b"\0" + body)
        beat = _HEARTBEAT_DECODER.decode(body)
    except (binascii.Error, ValueError, InvalidSignature, msgspec.DecodeError):
        return None
    return beat if beat.last_seq >= 0 and beat.term >= 0 else None


def signed_position(
    public_key: Ed25519PublicKey,
    stream: str,
    headers: Mapping[str, str] | None,
    body: bytes,
) -> Position | Reason:
    """The position a message is validly signed for, or why it is not (never raises)."""
    if len(body) > MAX_BODY_BYTES:
        return "too_large"
    if not headers or SIG_HEADER not in headers:
        return "unsigned"
    seq_text, term_text = headers.get(SEQ_HEADER), headers.get(TERM_HEADER)
    log_id, sig_text = headers.get(LOG_HEADER), headers[SIG_HEADER]
    if (
        not _canonical_int(seq_text)
        or not _canonical_int(term_text)
        or not isinstance(log_id, str)
        or not _LOG_ID.fullmatch(log_id)
        or not isinstance(sig_text, str)
        or len(sig_text) != _SIG_B64_CHARS
    ):
        return "malformed"
    assert isinstance(seq_text, str) and isinstance(term_text, str)
    position = Position(int(seq_text), log_id, int(term_text))
    seq = position.seq
    try:
        sig = base64.b64decode(sig_text, validate=True)
    except (binascii.Error, ValueError):
        return "malformed"
    # One spelling per message: no leading zeros, no stray bits in the last base64 digit.
    if seq < 1 or base64.b64encode(sig).decode() != sig_text:
        return "malformed"
    try:
        public_key.verify(sig, signed_bytes(stream, position, body))
    except InvalidSignature:
        return "bad_signature"
    return position


def _canonical_int(text: object) -> bool:
    """One spelling per number: ASCII digits, no sign, no leading zero, below 2**63."""
    return (
        isinstance(text, str)
        and 0 < len(text) <= _MAX_SEQ_DIGITS
        and text.isascii()
        and text.isdigit()
        and str(int(text)) == text
    )


@dataclass(frozen=True, slots=True)
class Accepted:
    """Store ``body`` as event ``seq`` (the edge's next) of log ``log_id``, written under
    ``term``."""

    seq: int
    body: bytes
    event: AlertEvent
    log_id: str = ""
    term: int = 0


@dataclass(frozen=True, slots=True)
class Refused:
    """Store nothing; count ``reason``. ``seq`` is the signed seq when the signature held."""

    reason: Reason
    seq: int | None = None


Verdict = Accepted | Refused


class EdgeVerifier:
    """The edge's decision on each bus message, given its own store's position.

    Parameters
    ----------
    public_key : Ed25519PublicKey
        The core's key.
    stream : str
        The stream name the signatures are bound to.
    last_seq : int
        The last seq the edge's store holds.
    last_body : bytes, optional
        That event's body. When given (a restart), the verifier starts *rescanning*: the stream
        is read again from a point at or before the event the edge holds last, and what comes
        before that event was judged (and counted) by an earlier run, so it is refused as
        ``rescanned`` until the first validly signed event at or past ``last_seq``. A valid
        event ``last_seq`` with another body means the edge's store is not a copy of this
        core's log: ``foreign_log``, and every later message is refused the same way.
    log_id : str, optional
        The core's log id, when known (the edge's store took it): a message signed for another
        log is ``foreign_log`` too. None: the first accepted message sets it.
    """

    def __init__(
        self,
        public_key: Ed25519PublicKey,
        stream: str,
        last_seq: int = 0,
        last_body: bytes | None = None,
        log_id: str | None = None,
    ) -> None:
        self.public_key = public_key
        self.log_id = log_id
        self.stream = stream
        self.last_seq = last_seq
        self._last_body = last_body
        self.rescanning = last_body is not None and last_seq > 0
        self.diverged = False

    def check(self, headers: Mapping[str, str] | None, body: bytes) -> Verdict:
        """Judge one message; on :class:`Accepted` the caller calls :meth:`stored` and stores
        it."""
        if self.diverged:
            return Refused("foreign_log")
        position = signed_position(self.public_key, self.stream, headers, body)
        if isinstance(position, str):
            return Refused("rescanned" if self.rescanning else position)
        seq = position.seq
        if self.log_id is not None and position.log_id != self.log_id:
            self.diverged = True
            return Refused("foreign_log", seq)
        if self.rescanning:
            if seq < self.last_seq:
                return Refused("rescanned", seq)
            self.rescanning = False
            if seq == self.last_seq:
                if body != self._last_body:
                    self.diverged = True
                    return Refused("foreign_log", seq)
                return Refused("rescanned", seq)
        if seq <= self.last_seq:
            return Refused("replayed", seq)
        if seq != self.last_seq + 1:
            return Refused("out_of_step", seq)
        try:
            event = EVENT_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Refused("undecodable", seq)
        if event.seq != seq:
            return Refused("invalid_event", seq)
        return Accepted(seq, body, event, position.log_id, position.term)

    def stored(self, accepted: Accepted) -> None:
        """The accepted event is taken (stored, or in the batch about to be): the next one
        must follow it. If storing then fails, start again from the store."""
        self.last_seq = accepted.seq
        self.log_id = accepted.log_id
        self._last_body = None
