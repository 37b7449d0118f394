"""Web Push end to end: a real server pushes to a local HTTPS push endpoint (run here, on loopback)
that checks the VAPID signature and decrypts each message with the subscriber's keys."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from redcolor.alerts.commands import CancelAlert, IssueAlert
from redcolor.alerts.instructions import EXERCISE_MARK, SENT_IN_ERROR
from redcolor.alerts.operate import operate
from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import LANGUAGES

from .conftest import LiveServer, SalvoWriter, make_state, until
from .push_service import PushEndpoint


async def test_push_is_encrypted_signed_and_topical(tmp_path, areas, meron_ids) -> None:
    path = tmp_path / "push.db"
    writer = SalvoWriter(SQLiteEventStore(path), areas)
    endpoint = PushEndpoint(tmp_path / "tls")
    config = endpoint.config() | {"poll_s": 0.005, "push_dir": tmp_path / "push"}
    state = make_state(SQLiteEventStore(path), areas, **config)
    with endpoint, LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            key = (await client.get("/v1/push/key")).json()["application_server_key"]
            r = await client.post(
                "/v1/push/subscriptions", json=endpoint.subscription([meron_ids[0]])
            )
            assert r.status_code == 201
            made = r.json()
            bad = endpoint.subscription([meron_ids[0]]) | {"keys": {"p256dh": "x", "auth": "y"}}
            assert (await client.post("/v1/push/subscriptions", json=bad)).status_code == 400
            unknown = endpoint.subscription([999_999_999])
            assert (await client.post("/v1/push/subscriptions", json=unknown)).status_code == 400
        events = writer.lifecycle([meron_ids[0], meron_ids[1]])
        await until(lambda: len(endpoint.received) == 3)  # pre_alert, alert, ended name area 0
        async with httpx.AsyncClient(base_url=server.http) as client:
            url = f"/v1/push/subscriptions/{made['id']}"
            owner = {"Authorization": f"Bearer {made['secret']}"}
            gone = await client.delete(url, headers=owner)
            assert gone.status_code == 204
            again = await client.delete(url, headers=owner)
            assert again.status_code == 404
        writer.lifecycle([meron_ids[0]])
        await asyncio.sleep(0.3)
        assert len(endpoint.received) == 3  # unsubscribed: nothing more arrives
    assert (tmp_path / "push" / "vapid.pem").exists()
    assert [m["seq"] for _, m in endpoint.received] == [events[0].seq, events[1].seq, events[3].seq]
    headers = endpoint.received[-1][0]
    assert headers["urgency"] == "high" and headers["topic"] == f"area-{meron_ids[0]}"
    assert int(headers["ttl"]) > 0 and headers["content-encoding"] == "aes128gcm"
    token = headers["authorization"].split("t=")[1].split(",")[0]
    assert headers["authorization"].split("k=")[1] == key
    header_b64, claims_b64, sig_b64 = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
    assert claims["aud"] == f"https://127.0.0.1:{endpoint.port}"
    sig = base64.urlsafe_b64decode(sig_b64 + "==")
    der = encode_dss_signature(int.from_bytes(sig[:32]), int.from_bytes(sig[32:]))
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), base64.urlsafe_b64decode(key + "==")
    )
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))


async def test_push_retries_a_busy_or_failing_service_in_order(tmp_path, areas, meron_ids) -> None:
    # the push service answers 429 (busy) and then 503 before it accepts: the first message
    # gets through on its third try and the later ones follow it, in seq order
    path = tmp_path / "push.db"
    writer = SalvoWriter(SQLiteEventStore(path), areas)
    endpoint = PushEndpoint(tmp_path / "tls", refusals=(429, 503))
    config = endpoint.config() | {"poll_s": 0.005, "push_dir": tmp_path / "push"}
    state = make_state(SQLiteEventStore(path), areas, **config)
    with endpoint, LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            sub = endpoint.subscription([meron_ids[0]])
            assert (await client.post("/v1/push/subscriptions", json=sub)).status_code == 201
        mine = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
        await until(lambda: len(endpoint.received) == len(mine))
        assert endpoint.attempts == len(mine) + 2
        assert [m["seq"] for _, m in endpoint.received] == mine
        # a refusal a retry cannot mend (400) is not retried; the next message still goes
        endpoint.refusals = [400]
        more = _naming(writer.lifecycle([meron_ids[0], meron_ids[1]]), meron_ids[0])
        await until(lambda: len(endpoint.received) == len(mine) + len(more) - 1)
        assert endpoint.attempts == len(mine) + 2 + len(more)
        assert [m["seq"] for _, m in endpoint.received][len(mine) :] == more[1:]
        async with httpx.AsyncClient(base_url=server.http) as client:
            text = (await client.get("/metrics")).text
    assert 'redcolor_channel_errors_total{channel="push"} 1.0' in text


def test_retry_after_reads_seconds_and_falls_back_on_dates():
    from redcolor.serve.push import retry_after_s

    assert retry_after_s("3", 0.5) == 3.0 and retry_after_s(" 0 ", 0.5) == 0.0
    assert retry_after_s(None, 0.5) == 0.5
    assert retry_after_s("Wed, 21 Oct 2026 07:28:00 GMT", 1.0) == 1.0


def _naming(events, area_id: int) -> list[int]:
    return [e.seq for e in events if area_id in {a.id for a in e.areas}]


@pytest.mark.parametrize("exercise_to", [frozenset(), frozenset({"push"})])
async def test_push_of_an_exercise_only_when_told_and_of_a_cancel_says_sent_in_error(
    tmp_path, areas, meron_ids, exercise_to
) -> None:
    path = tmp_path / "push.db"
    shelter = {a.id: a.shelter_s for a in areas.areas}
    source = ("operator:olga", "approved:sam")
    area = meron_ids[0]
    endpoint = PushEndpoint(tmp_path / "tls")
    config = endpoint.config() | {"poll_s": 0.005, "push_dir": tmp_path / "push"}
    state = make_state(SQLiteEventStore(path), areas, exercise_channels=exercise_to, **config)
    with endpoint, LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http) as client:
            r = await client.post("/v1/push/subscriptions", json=endpoint.subscription([area]))
            assert r.status_code == 201
        drill = IssueAlert("op-1", "hazmat", "alert", frozenset({area}), None, "exercise", source)
        real = IssueAlert("op-2", "hazmat", "alert", frozenset({area}), None, "actual", source)
        stored = operate(path, shelter, [drill, real], time.time())
        stored += operate(path, shelter, [CancelAlert("op-2", source)], time.time())
        want = 3 if exercise_to else 2
        await until(lambda: len(endpoint.received) == want)
        await asyncio.sleep(0.3)
        assert len(endpoint.received) == want
    got = [m for _, m in endpoint.received]
    assert [m["seq"] for m in got] == [e.seq for e in stored][3 - want :]
    if exercise_to:
        assert got[0]["status"] == "exercise"
        assert all(
            got[0]["instructions"][lang].startswith(EXERCISE_MARK[lang]) for lang in LANGUAGES
        )
    assert (got[-1]["stage"], got[-1]["instructions"]) == ("cancelled", SENT_IN_ERROR)
