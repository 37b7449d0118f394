"""The sans-I/O signature check of bus messages: every way a message can be wrong is refused
with its reason and changes nothing; the next real event is accepted."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.bus.signing import (
    LOG_HEADER,
    MAX_BODY_BYTES,
    SEQ_HEADER,
    SIG_HEADER,
    TERM_HEADER,
    Accepted,
    EdgeVerifier,
    Heartbeat,
    Position,
    Refused,
    Signer,
    signed_heartbeat,
)
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent

STREAM = "REDCOLOR"
LOG_ID = "0123456789abcdef"


def body(seq: int, *, expires: bool = True, body_seq: int | None = None) -> bytes:
    event = AlertEvent(
        f"a{seq}",
        seq if body_seq is None else body_seq,
        "missiles",
        "alert",
        (AlertArea(5, 30),),
        1.7e9,
        1.7e9 + 600 if expires else None,
        ("track:1",),
        {"en": "Shelter"},
    )
    return EVENT_ENCODER.encode(event)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def _with(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(headers)
    for key, value in changes.items():
        name = {"sig": SIG_HEADER, "seq": SEQ_HEADER}[key]
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _flip_sig(sig: str) -> str:
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _stray_bits(sig: str) -> str:
    """The same signature bytes spelled with a non-zero unused bit in the last base64 digit."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    spelled = sig[:85] + alphabet[alphabet.index(sig[85]) ^ 1] + "=="
    assert base64.b64decode(spelled, validate=True) == base64.b64decode(sig)
    return spelled


def test_each_wrong_message_is_refused_for_its_reason(signer) -> None:
    verifier = EdgeVerifier(signer.public_key, STREAM, last_seq=4)
    good = signer.headers(STREAM, Position(5, LOG_ID), body(5))
    other = Signer(Ed25519PrivateKey.generate())
    sig = good[SIG_HEADER]
    cases = [
        ("too_large", good, b"x" * (MAX_BODY_BYTES + 1)),
        ("unsigned", None, body(5)),
        ("unsigned", {}, body(5)),
        ("unsigned", _with(good, sig=None), body(5)),
        ("malformed", _with(good, seq=None), body(5)),
        ("malformed", _with(good, seq="05"), body(5)),
        ("malformed", _with(good, seq="+5"), body(5)),
        ("malformed", _with(good, seq="٥"), body(5)),
        ("malformed", _with(good, seq="0"), body(5)),
        ("malformed", _with(good, seq="9" * 40), body(5)),
        ("malformed", _with(good, sig=sig[:-4]), body(5)),
        ("malformed", _with(good, sig="!" * 88), body(5)),
        ("malformed", _with(good, sig=_stray_bits(sig)), body(5)),
        ("bad_signature", _with(good, sig=_flip_sig(sig)), body(5)),
        ("bad_signature", good, body(5) + b" "),
        ("bad_signature", good, body(6)),
        ("bad_signature", _with(good, seq="6"), body(5)),
        ("bad_signature", {**good, LOG_HEADER: "another1log"}, body(5)),
        ("bad_signature", {**good, TERM_HEADER: "1"}, body(5)),
        ("malformed", {**good, TERM_HEADER: "01"}, body(5)),
        ("malformed", {**good, TERM_HEADER: "-1"}, body(5)),
        ("malformed", {**good, LOG_HEADER: "a b"}, body(5)),
        ("malformed", {k: v for k, v in good.items() if k != LOG_HEADER}, body(5)),
        ("bad_signature", other.headers(STREAM, Position(5, LOG_ID), body(5)), body(5)),
        ("bad_signature", signer.headers("OTHER", Position(5, LOG_ID), body(5)), body(5)),
        ("replayed", signer.headers(STREAM, Position(4, LOG_ID), body(4)), body(4)),
        ("replayed", signer.headers(STREAM, Position(1, LOG_ID), body(1)), body(1)),
        ("out_of_step", signer.headers(STREAM, Position(7, LOG_ID), body(7)), body(7)),
        ("undecodable", signer.headers(STREAM, Position(5, LOG_ID), b'{"a": 1}'), b'{"a": 1}'),
        ("undecodable", signer.headers(STREAM, Position(5, LOG_ID), b"\xff\xfe"), b"\xff\xfe"),
        (
            "invalid_event",
            signer.headers(STREAM, Position(5, LOG_ID), body(5, body_seq=9)),
            body(5, body_seq=9),
        ),
    ]
    for reason, headers, data in cases:
        verdict = verifier.check(headers, data)
        assert isinstance(verdict, Refused) and verdict.reason == reason, (reason, verdict)
    assert verifier.last_seq == 4
    verdict = verifier.check(good, body(5))
    assert verdict == Accepted(5, body(5), verdict.event, LOG_ID, 0) and verdict.event.seq == 5
    verifier.stored(verdict)
    assert verifier.check(good, body(5)) == Refused("replayed", 5)
    nxt = verifier.check(signer.headers(STREAM, Position(6, LOG_ID), body(6)), body(6))
    assert isinstance(nxt, Accepted) and nxt.seq == 6
    verifier.stored(nxt)
    # an operator's alert open until ended by hand has no expiry: the core's, so served
    open_ended = body(7, expires=False)
    nxt = verifier.check(signer.headers(STREAM, Position(7, LOG_ID), open_ended), open_ended)
    assert isinstance(nxt, Accepted) and nxt.event.expires_at_unix_s is None


def test_a_restarted_edge_rescans_to_its_last_event_then_judges_as_usual(signer) -> None:
    verifier = EdgeVerifier(signer.public_key, STREAM, last_seq=3, last_body=body(3))
    signed = {
        s: (signer.headers(STREAM, Position(s, LOG_ID), body(s)), body(s)) for s in range(1, 6)
    }
    assert verifier.check(None, b"forged before the last event") == Refused("rescanned")
    assert verifier.check(*signed[2]) == Refused("rescanned", 2)
    assert verifier.check(*signed[3]) == Refused("rescanned", 3)
    assert not verifier.rescanning
    assert verifier.check(None, b"forged after it") == Refused("unsigned")
    assert verifier.check(*signed[2]) == Refused("replayed", 2)
    assert isinstance(verifier.check(*signed[4]), Accepted)


def test_a_rescan_past_a_missing_last_event_accepts_the_next(signer) -> None:
    verifier = EdgeVerifier(signer.public_key, STREAM, last_seq=3, last_body=body(3))
    assert isinstance(
        verifier.check(signer.headers(STREAM, Position(4, LOG_ID), body(4)), body(4)), Accepted
    )


def test_an_edge_holding_another_log_refuses_everything(signer) -> None:
    verifier = EdgeVerifier(signer.public_key, STREAM, last_seq=3, last_body=b"not the core's")
    assert verifier.check(signer.headers(STREAM, Position(3, LOG_ID), body(3)), body(3)) == Refused(
        "foreign_log", 3
    )
    assert verifier.check(signer.headers(STREAM, Position(4, LOG_ID), body(4)), body(4)) == Refused(
        "foreign_log"
    )


def test_retries_share_a_msg_id_that_nobody_can_guess(signer) -> None:
    first = signer.headers(STREAM, Position(9, LOG_ID), body(9))
    assert signer.headers(STREAM, Position(9, LOG_ID), body(9)) == first  # Ed25519 is deterministic
    assert first["Nats-Msg-Id"].startswith("9.") and len(first["Nats-Msg-Id"]) == 24
    other = Signer(Ed25519PrivateKey.generate()).headers(STREAM, Position(9, LOG_ID), body(9))
    assert other["Nats-Msg-Id"] != first["Nats-Msg-Id"]


def test_a_message_of_another_log_is_foreign_once_the_log_is_known(signer) -> None:
    verifier = EdgeVerifier(signer.public_key, STREAM, last_seq=0)
    first = verifier.check(signer.headers(STREAM, Position(1, LOG_ID, 3), body(1)), body(1))
    assert isinstance(first, Accepted) and (first.log_id, first.term) == (LOG_ID, 3)
    verifier.stored(first)
    assert verifier.log_id == LOG_ID
    other_log = signer.headers(STREAM, Position(2, "another1log"), body(2))
    assert verifier.check(other_log, body(2)) == Refused("foreign_log", 2)


def test_a_heartbeat_is_trusted_only_under_the_core_key_and_stream(signer) -> None:
    beat = Heartbeat(LOG_ID, 41, 2, "core-a", 1.7e9)
    data, headers = signer.heartbeat(STREAM, beat)
    assert signed_heartbeat(signer.public_key, STREAM, headers, data) == beat
    other = Signer(Ed25519PrivateKey.generate())
    assert signed_heartbeat(signer.public_key, "OTHER", headers, data) is None
    assert signed_heartbeat(signer.public_key, STREAM, None, data) is None
    assert signed_heartbeat(signer.public_key, STREAM, headers, data.replace(b"41", b"42")) is None
    forged, forged_headers = other.heartbeat(STREAM, beat)
    assert signed_heartbeat(signer.public_key, STREAM, forged_headers, forged) is None
    assert signed_heartbeat(signer.public_key, STREAM, {SIG_HEADER: "!!"}, data) is None
