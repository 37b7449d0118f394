"""Encode-once wire forms of an alert event and of control messages.

Every channel that streams the event log sends the same bytes to every client: the stored event
JSON, wrapped once per transport. A WebSocket text frame from a server is never masked (RFC 6455
section 5.1), so the whole frame, header included, is identical for every connection and can be
built once. The SSE form follows the WHATWG HTML "server-sent events" section.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import msgspec

from redcolor.alerts.store import StoredEvent
from redcolor.model import EVENT_DECODER, is_exercise

_FIN_TEXT = 0x81


def ws_text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 section 5.2) carrying ``payload``.

    ``payload`` must be UTF-8; the stored event JSON always is.
    """
    n = len(payload)
    if n < 126:
        header = bytes((_FIN_TEXT, n))
    elif n < 1 << 16:
        header = struct.pack("!BBH", _FIN_TEXT, 126, n)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, n)
    return header + payload


def sse_message(data: bytes, *, event: str | None = None, id_: int | None = None) -> bytes:
    """One server-sent event. ``data`` holds no newline (compact JSON never does)."""
    parts = []
    if id_ is not None:
        parts.append(b"id: %d\n" % id_)
    if event is not None:
        parts.append(b"event: " + event.encode() + b"\n")
    parts.append(b"data: " + data + b"\n\n")
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class EventFrames:
    """One stored event in every streamed form, built once when the event is published.

    Attributes
    ----------
    seq : int
        The event's global sequence number.
    body : bytes
        The stored AlertEvent JSON, byte for byte.
    area_ids : frozenset[int]
        Area ids the event names (filters match on these).
    ws : bytes
        The full WebSocket text frame.
    sse : bytes
        The SSE message (``id: seq``, ``event: alert``).
    published_mono_s : float
        ``time.monotonic()`` when the server read the event from the store (for latency metrics).
    exercise : bool
        Whether the event is an exercise (:func:`redcolor.model.is_exercise`): the real public
        channels skip it unless configured to carry it.
    """

    seq: int
    body: bytes
    area_ids: frozenset[int]
    ws: bytes
    sse: bytes
    published_mono_s: float = 0.0
    exercise: bool = False

    @classmethod
    def build(cls, stored: StoredEvent, published_mono_s: float = 0.0) -> EventFrames:
        event = EVENT_DECODER.decode(stored.body)
        return cls(
            seq=stored.seq,
            body=stored.body,
            area_ids=frozenset(a.id for a in event.areas),
            ws=ws_text_frame(stored.body),
            sse=sse_message(stored.body, event="alert", id_=stored.seq),
            published_mono_s=published_mono_s,
            exercise=is_exercise(event),
        )


@dataclass(frozen=True, slots=True)
class ControlFrames:
    """A control message (``{"type": ...}``) in every streamed form.

    On SSE a heartbeat is a comment line (ignored by EventSource) and other controls are an
    ``event: control`` message without an ``id`` (so they never move ``Last-Event-ID``).
    """

    body: bytes
    ws: bytes
    sse: bytes

    @classmethod
    def heartbeat(cls, last_seq: int) -> ControlFrames:
        body = msgspec.json.encode({"type": "heartbeat", "last_seq": last_seq})
        return cls(body, ws_text_frame(body), b": heartbeat " + body + b"\n\n")

    @classmethod
    def dropped(cls, reason: str) -> ControlFrames:
        body = msgspec.json.encode({"type": "dropped", "reason": reason})
        return cls(body, ws_text_frame(body), sse_message(body, event="control"))
