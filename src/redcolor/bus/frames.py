"""Encode-once wire forms of an alert event and of control messages.

Every channel that streams the event log sends the same bytes to every client: the stored event
JSON, wrapped once per transport. A WebSocket text frame from a server is never masked (RFC 6455
section 5.1), so the whole frame, header included, is identical for every connection and can be
built once. The SSE form follows the WHATWG HTML "server-sent events" section.

Every frame names the log it belongs to (``log_id``, :meth:`SQLiteEventStore.log_id`): a ``seq``
means something only within its log. An event's frame is the stored JSON with ``"log_id"``
spliced in as its first member (still built once per event); its SSE ``id`` is
``<log_id>:<seq>``, so the ``Last-Event-ID`` a browser sends on reconnect names the log too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import msgspec

from redcolor.alerts.store import StoredEvent
from redcolor.model import EVENT_DECODER, AlertEvent, is_exercise

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


def sse_message(data: bytes, *, event: str | None = None, id_: str | None = None) -> bytes:
    """One server-sent event. ``data`` holds no newline (compact JSON never does)."""
    parts = []
    if id_ is not None:
        parts.append(b"id: " + id_.encode() + b"\n")
    if event is not None:
        parts.append(b"event: " + event.encode() + b"\n")
    parts.append(b"data: " + data + b"\n\n")
    return b"".join(parts)


def sse_id(log_id: str, seq: int) -> str:
    """The SSE ``id`` of ``seq`` in log ``log_id`` (what comes back as ``Last-Event-ID``)."""
    return f"{log_id}:{seq}"


def with_log_id(body: bytes, log_id: str) -> bytes:
    """A JSON object's bytes with ``"log_id"`` added as its first member.

    >>> with_log_id(b'{"seq":1}', "ab12")
    b'{"log_id":"ab12","seq":1}'
    """
    return b'{"log_id":' + msgspec.json.encode(log_id) + b"," + body[1:]


@dataclass(frozen=True, slots=True)
class EventFrames:
    """One stored event in every streamed form, built once when the event is published.

    Attributes
    ----------
    seq : int
        The event's global sequence number.
    body : bytes
        The stored AlertEvent JSON, byte for byte (what the channels send: MQTT, Web Push).
    area_ids : frozenset[int]
        Area ids the event names (filters match on these).
    wire : bytes
        ``body`` with the log's id (:func:`with_log_id`): what the streams send.
    ws : bytes
        The full WebSocket text frame of ``wire``.
    sse : bytes
        The SSE message of ``wire`` (``id: <log_id>:<seq>``, ``event: alert``).
    event : AlertEvent
        The event decoded (once, here): what the server's own views apply.
    published_mono_s : float
        ``time.monotonic()`` when the server read the event from the store (for latency metrics).
    exercise : bool
        Whether the event is an exercise (:func:`redcolor.model.is_exercise`): the real public
        channels skip it unless configured to carry it.
    """

    seq: int
    body: bytes
    area_ids: frozenset[int]
    wire: bytes
    ws: bytes
    sse: bytes
    event: AlertEvent = field(compare=False, repr=False)
    published_mono_s: float = 0.0
    exercise: bool = False

    @classmethod
    def build(cls, stored: StoredEvent, log_id: str, published_mono_s: float = 0.0) -> EventFrames:
        event = EVENT_DECODER.decode(stored.body)
        wire = with_log_id(stored.body, log_id)
        return cls(
            seq=stored.seq,
            body=stored.body,
            area_ids=frozenset(a.id for a in event.areas),
            wire=wire,
            ws=ws_text_frame(wire),
            sse=sse_message(wire, event="alert", id_=sse_id(log_id, stored.seq)),
            published_mono_s=published_mono_s,
            exercise=is_exercise(event),
            event=event,
        )


@dataclass(frozen=True, slots=True)
class ControlFrames:
    """A control message (``{"type": ..., "log_id": ...}``) in every streamed form.

    On SSE a heartbeat is a comment line (ignored by EventSource) and other controls are an
    ``event: control`` message; only ``reset`` has an ``id`` (``<log_id>:<after_seq>``), so the
    others never move ``Last-Event-ID`` and a reset moves it onto the new log.
    """

    wire: bytes
    ws: bytes
    sse: bytes

    @classmethod
    def heartbeat(cls, last_seq: int, log_id: str) -> ControlFrames:
        wire = msgspec.json.encode({"type": "heartbeat", "log_id": log_id, "last_seq": last_seq})
        return cls(wire, ws_text_frame(wire), b": heartbeat " + wire + b"\n\n")

    @classmethod
    def dropped(cls, reason: str, log_id: str) -> ControlFrames:
        wire = msgspec.json.encode({"type": "dropped", "log_id": log_id, "reason": reason})
        return cls(wire, ws_text_frame(wire), sse_message(wire, event="control"))

    @classmethod
    def reset(cls, log_id: str, after_seq: int, last_seq: int, reason: str) -> ControlFrames:
        """The client's resume point is not in this log: forget what you hold; the events that
        follow are this log's from ``after_seq`` on (its end is ``last_seq`` now)."""
        wire = msgspec.json.encode(
            {
                "type": "reset",
                "log_id": log_id,
                "after_seq": after_seq,
                "last_seq": last_seq,
                "reason": reason,
            }
        )
        sse = sse_message(wire, event="control", id_=sse_id(log_id, after_seq))
        return cls(wire, ws_text_frame(wire), sse)
