"""Fuzz of the edge's side of the bus (issue 11 item 6): over 10,000 hostile messages through the
verifier and the store, a few hundred more through a real nats-server, interleaved with the real
log. Nothing raises, every hostile message is refused and counted, none is stored, the real events
are all replicated with the core's seqs, and memory stays bounded."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections import Counter

import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.jetstream import publish_log, replicate
from redcolor.bus.signing import (
    MSG_ID_HEADER,
    REASONS,
    SEQ_HEADER,
    SIG_HEADER,
    Accepted,
    EdgeVerifier,
    Position,
    Refused,
    Signer,
)

from .busutil import Refusals, event, spec, stop, until
from .hostile import Hostile
from .natsd import STREAM, SUBJECT, USERS

SIGNER = Signer(Ed25519PrivateKey.generate())
REAL_EVENTS = 200
HOSTILE_PER_EVENT = 55


def _real_log(store: SQLiteEventStore, n: int) -> list[tuple[dict[str, str], bytes]]:
    store.append([event(i) for i in range(n)])
    return [
        (SIGNER.headers(STREAM, Position(r.seq, store.log_id()), r.body), r.body)
        for r in store.read_since(0, n)
    ]


def test_ten_thousand_hostile_messages_are_all_refused_and_the_log_still_flows(tmp_path) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    real = _real_log(core, REAL_EVENTS)
    verifier = EdgeVerifier(SIGNER.public_key, STREAM)
    hostile = Hostile(SIGNER, STREAM, seed=20261201)
    counts: Counter[str] = Counter()
    tracemalloc.start()
    try:
        for i, (headers, body) in enumerate(real):
            for _ in range(HOSTILE_PER_EVENT):
                verdict = verifier.check(*hostile.message(real, i + 1))
                assert isinstance(verdict, Refused), verdict
                counts[verdict.reason] += 1
            if i == 20:
                settled, _ = tracemalloc.get_traced_memory()
                tracemalloc.reset_peak()
            verdict = verifier.check(headers, body)
            assert isinstance(verdict, Accepted)
            edge.append_replica([(verdict.event, verdict.body)])
            verifier.stored(verdict)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(counts.values()) == REAL_EVENTS * HOSTILE_PER_EVENT >= 10_000
    # every reason but those of a restarted edge's rescan
    assert set(counts) == set(REASONS) - {"rescanned", "foreign_log"}, counts
    assert [r.body for r in edge.read_since(0, 1000)] == [r.body for r in core.read_since(0, 1000)]
    assert current - settled < 1 << 20  # nothing kept per message
    assert peak - settled < 8 << 20  # one over-size body (1 MiB) at a time, and its copies


_header_names = st.sampled_from([SIG_HEADER, SEQ_HEADER, MSG_ID_HEADER]) | st.text(max_size=8)


@settings(max_examples=1500, deadline=None, database=None)
@given(
    headers=st.none() | st.dictionaries(_header_names, st.text(max_size=100), max_size=4),
    body=st.binary(max_size=1024),
    last_seq=st.integers(0, 10),
)
def test_arbitrary_messages_never_raise_and_are_never_accepted(headers, body, last_seq) -> None:
    verdict = EdgeVerifier(SIGNER.public_key, STREAM, last_seq).check(headers, body)
    assert isinstance(verdict, Refused) and verdict.reason in REASONS


async def test_hostile_messages_through_a_real_nats_server(tmp_path, natsd) -> None:
    core = SQLiteEventStore(tmp_path / "core.db")
    edge = SQLiteEventStore(tmp_path / "edge.db")
    real = _real_log(core, 10)
    publisher = asyncio.create_task(publish_log(core, spec(natsd.url, "core"), SIGNER))
    refused = Refusals()
    edge_task = asyncio.create_task(
        replicate(spec(natsd.url, "edge"), edge, SIGNER.public_key, on_refused=refused)
    )
    await until(lambda: edge.last_seq() == 10)
    attacker = await nats.connect(natsd.url, user="core", password=USERS["core"])
    js = attacker.jetstream()
    hostile = Hostile(SIGNER, STREAM, seed=7, huge_every=10**9, printable=True, with_core_key=False)
    sent = 0
    for i in range(40):
        for _ in range(10):
            headers, body = hostile.message(real, hostile.rng.randint(1, len(real)))
            headers = {**(headers or {}), MSG_ID_HEADER: f"hostile-{sent}"}
            await js.publish(SUBJECT, body, headers=headers)
            sent += 1
        core.append([event(100 + i)])
        (row,) = core.read_since(core.last_seq() - 1, 1)
        real.append((SIGNER.headers(STREAM, Position(row.seq, core.log_id()), row.body), row.body))
    await attacker.close()
    await until(lambda: edge.last_seq() == core.last_seq() and sum(refused.values()) == sent)
    await asyncio.sleep(0.2)
    assert sum(refused.values()) == sent == 400
    assert [r.body for r in edge.read_since(0, 1000)] == [r.body for r in core.read_since(0, 1000)]
    await stop(edge_task, publisher)
