"""The bus against a real nats-server with users and permissions: only the core can publish, an
edge stores and serves only events the core signed, each under the core's seq, and both ride
out a NATS outage and restarts."""

from __future__ import annotations

import asyncio
import dataclasses

import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.alerts.commands import IssueAlert
from redcolor.alerts.lifecycle import LifecycleConfig, apply, initial_state
from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import publish_log, replicate
from redcolor.bus.login import check_nkey_seed
from redcolor.bus.signing import Position, Signer
from redcolor.errors import InputError, StoreError

from .busutil import (
    Refusals,
    event,
    forged_body,
    other_signer,
    spec,
    stop,
    stream_last_seq,
    until,
)
from .natsd import STREAM, SUBJECT, USERS

LOG_ID = "0123456789abcdef"  # a log id any core could have


@pytest.fixture
def signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def _bodies(store: SQLiteEventStore) -> list[tuple[int, bytes]]:
    return [(r.seq, r.body) for r in store.read_since(0, 10_000)]


async def test_anonymous_and_wrong_password_cannot_connect(natsd) -> None:
    for kw in ({}, {"user": "core", "password": "wrong"}):
        nc = nats.NATS()
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nc.connect(natsd.url, allow_reconnect=False, connect_timeout=2, **kw)
        await nc.close()  # nats-py leaves the refused socket open


async def test_a_refused_login_stops_the_service_with_one_line(tmp_path, natsd, signer) -> None:
    store = SQLiteEventStore(tmp_path / "edge.db")
    wrong = dataclasses.replace(spec(natsd.url, "edge"), password="wrong")
    with pytest.raises(InputError, match="refused the login of user 'edge'"):
        await asyncio.wait_for(replicate(wrong, store, signer.public_key), 10)
    with pytest.raises(InputError, match="refused the login of user None"):
        await asyncio.wait_for(publish_log(store, spec(natsd.url, None), signer), 10)


async def test_an_edge_logs_in_with_an_nkey_and_cannot_publish_with_it(
    tmp_path, natsd, signer
) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    core.append([event(i) for i in range(3)])
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), signer))
    nkey_spec = dataclasses.replace(
        spec(natsd.url, None), nkey_seed_file=check_nkey_seed(str(natsd.edge_nkey_seed))
    )
    edge_task = asyncio.create_task(replicate(nkey_spec, edge, signer.public_key))
    await until(lambda: edge.last_seq() == 3)
    errors: list[Exception] = []

    async def error_cb(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(natsd.url, nkeys_seed=str(natsd.edge_nkey_seed), error_cb=error_cb)
    await nc.publish(SUBJECT, forged_body(4))
    await nc.flush()
    await asyncio.sleep(0.2)
    await nc.close()
    assert any("permissions violation for publish" in str(e).lower() for e in errors), errors
    assert await stream_last_seq(natsd.url) == 3
    await stop(edge_task, publisher)


def test_a_file_that_is_no_nkey_seed_is_refused(tmp_path) -> None:
    bad = tmp_path / "bad.nk"
    bad.write_text("SUAnotaseed")
    with pytest.raises(InputError, match="is not an NATS nkey seed"):
        check_nkey_seed(str(bad))
    with pytest.raises(InputError, match="cannot read NATS nkey seed"):
        check_nkey_seed(str(tmp_path / "missing.nk"))


async def test_an_edge_credential_cannot_publish(tmp_path, natsd, signer) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    core.append([event(i) for i in range(3)])
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), signer))
    try:
        async with asyncio.timeout(10):
            while await stream_last_seq(natsd.url) < 3:
                await asyncio.sleep(0.02)
    except nats.js.errors.NotFoundError:
        pass
    errors: list[Exception] = []

    async def error_cb(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(natsd.url, user="edge", password=USERS["edge"], error_cb=error_cb)
    headers = signer.headers(
        STREAM, Position(4, LOG_ID), forged_body(4)
    )  # even a validly signed message
    with pytest.raises(nats.errors.TimeoutError):
        await nc.jetstream().publish(SUBJECT, forged_body(4), headers=headers, timeout=1)
    await nc.publish(SUBJECT, forged_body(4))
    await nc.flush()
    await asyncio.sleep(0.2)
    await nc.close()
    assert any("permissions violation for publish" in str(e).lower() for e in errors), errors
    assert await stream_last_seq(natsd.url) == 3
    await stop(publisher)


async def _forge(url: str, signer: Signer) -> list[str]:
    """Publish, with the core's own credentials, the messages an attacker holding them would:
    unsigned, signed by another key, a real message moved to another seq, a replay. Return the
    reason each must be refused for."""
    nc = await nats.connect(url, user="core", password=USERS["core"])
    js = nc.jetstream()
    last = (await js.stream_info(STREAM)).state.last_seq
    real = await js.get_msg(STREAM, last)
    seq = int(real.headers["Redcolor-Seq"])
    await js.publish(SUBJECT, forged_body(seq + 1))
    other = other_signer().headers(STREAM, Position(seq + 1, LOG_ID), forged_body(seq + 1))
    await js.publish(SUBJECT, forged_body(seq + 1), headers=other)
    moved = dict(real.headers, **{"Redcolor-Seq": str(seq + 1), "Nats-Msg-Id": f"moved-{last}"})
    await js.publish(SUBJECT, real.data, headers=moved)
    replay = dict(real.headers, **{"Nats-Msg-Id": f"replay-{last}"})
    await js.publish(SUBJECT, real.data, headers=replay)
    await nc.close()
    return ["unsigned", "bad_signature", "bad_signature", "replayed"]


async def test_forged_unsigned_and_replayed_messages_are_refused_and_seqs_kept(
    tmp_path, natsd, signer
) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    core.append([event(i) for i in range(5)])
    publisher = asyncio.create_task(
        publish_log(core, spec(natsd.url, "core"), signer, poll_s=0.005)
    )
    refused = Refusals()
    appended: list[int] = []
    follow = spec(natsd.url, "edge")
    edge_task = asyncio.create_task(
        replicate(
            follow,
            edge,
            signer.public_key,
            on_refused=refused,
            on_append=lambda: appended.append(edge.last_seq()),
        )
    )
    await until(lambda: edge.last_seq() == 5)
    expected = await _forge(natsd.url, signer)
    core.append([event(i) for i in range(5, 10)])
    await until(lambda: edge.last_seq() == 10)
    await until(lambda: sum(refused.values()) == len(expected))
    assert refused == Refusals(expected)
    assert _bodies(edge) == _bodies(core)
    assert appended[-1] == 10 and appended == sorted(set(appended))  # a notify per batch
    assert await stream_last_seq(natsd.url) == 10 + len(expected)

    # An edge restart with forged messages in the stream: it finds its place from its own
    # store, judges nothing twice, and goes on with the core's seqs.
    await stop(edge_task)
    core.append([event(i) for i in range(10, 13)])
    again = await _forge(natsd.url, signer)
    core.append([event(13)])
    refused2 = Refusals()
    edge_task = asyncio.create_task(replicate(follow, edge, signer.public_key, on_refused=refused2))
    await until(lambda: edge.last_seq() == 14)
    await asyncio.sleep(0.3)
    assert refused2 - Refusals(rescanned=refused2["rescanned"]) == Refusals(again)
    assert refused2["rescanned"] >= 1
    assert _bodies(edge) == _bodies(core)
    assert not publisher.done()
    await stop(edge_task, publisher)

    # And the publisher, restarted, resumes after the last event it signed, past the forged
    # tail, neither repeating nor skipping.
    await _forge(natsd.url, signer)
    stream_before = await stream_last_seq(natsd.url)
    core.append([event(14)])
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), signer))
    async with asyncio.timeout(10):
        while await stream_last_seq(natsd.url) < stream_before + 1:
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert await stream_last_seq(natsd.url) == stream_before + 1
    await stop(publisher)


async def test_a_stream_with_more_signed_events_than_the_store_is_refused(
    tmp_path, natsd, signer
) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    core.append([event(i) for i in range(3)])
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), signer))
    await asyncio.sleep(0.1)
    async with asyncio.timeout(10):
        while True:
            try:
                if await stream_last_seq(natsd.url) == 3:
                    break
            except nats.js.errors.NotFoundError:
                pass
            await asyncio.sleep(0.02)
    await stop(publisher)
    await _forge(natsd.url, signer)  # a forged tail does not hide the real end
    with pytest.raises(StoreError, match="holds 3 events"):
        await publish_log(SQLiteEventStore(tmp_path / "short.db"), spec(natsd.url, "core"), signer)
    other = SQLiteEventStore(tmp_path / "other.db")
    other.append([event(i + 100) for i in range(3)])
    with pytest.raises(StoreError, match="another log"):
        await publish_log(other, spec(natsd.url, "core"), signer)


async def test_an_operators_alert_open_until_ended_reaches_the_edge_and_so_does_the_rest(
    tmp_path, natsd, signer
) -> None:
    """An operator may issue an alert with no expiry (open until ended by hand): its events
    carry none. The bus once refused them, and the first such alert stopped every edge's copy
    of the log there, rocket alerts after it included."""
    shelter = {1: 15, 2: 30}
    issue = IssueAlert(
        "quake-1", "earthquake", "alert", frozenset(shelter), None, "actual", ("operator:ann",)
    )
    _, (opened,) = apply(initial_state(LifecycleConfig(shelter)), [], 1.7e9, [issue])
    assert opened.expires_at_unix_s is None
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    core.append([event(0), opened, event(2), event(3)])
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), signer))
    edge_task = asyncio.create_task(replicate(spec(natsd.url, "edge"), edge, signer.public_key))
    await until(lambda: edge.last_seq() == 4)
    assert _bodies(edge) == _bodies(core)
    assert edge.read_since(1, 1)[0].decode().expires_at_unix_s is None
    assert not publisher.done() and not edge_task.done()
    await stop(edge_task, publisher)


async def test_publisher_and_edge_ride_out_a_10_s_nats_outage(tmp_path, natsd, signer) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    reconnects = {"publish": 0, "follow": 0}

    def counter(role: str):
        def hook() -> None:
            reconnects[role] += 1

        return hook

    publisher = asyncio.create_task(
        publish_log(
            core,
            spec(natsd.url, "core", timeout_s=1.0),
            signer,
            poll_s=0.005,
            on_reconnect=counter("publish"),
        )
    )
    edge_task = asyncio.create_task(
        replicate(
            spec(natsd.url, "edge", timeout_s=1.0),
            edge,
            signer.public_key,
            on_reconnect=counter("follow"),
        )
    )
    n = 0

    async def write(count: int, gap_s: float) -> None:
        nonlocal n
        for _ in range(count):
            core.append([event(n)])
            n += 1
            await asyncio.sleep(gap_s)

    await write(20, 0.01)
    await until(lambda: edge.last_seq() == 20)
    await write(5, 0.0)  # some may be in flight when NATS dies
    natsd.stop()
    await write(50, 0.2)  # 10 s of events while NATS is down
    natsd.start()
    await write(20, 0.02)
    await until(lambda: edge.last_seq() == n, timeout_s=30)
    assert _bodies(edge) == _bodies(core)
    assert not publisher.done() and not edge_task.done()
    assert reconnects["publish"] >= 1
    await stop(edge_task, publisher)
