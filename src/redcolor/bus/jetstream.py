"""NATS JetStream bus: carry the alert event log, signed, to edge servers on other machines.

The core publishes every stored event, in ``seq`` order, to one JetStream stream, each message
signed (:mod:`redcolor.bus.signing`: the body bytes bound to the stream and the seq). Only the
core's NATS credentials may publish on the subject (NATS permissions), but the signature is what
an edge trusts: an edge copies into its own store only messages its :class:`EdgeVerifier`
accepts, each under the seq it was signed for, so resume points, history and CAP identifiers are
the same on every node whatever else was published on the subject.

Both sides survive NATS outages: the client reconnects forever, and any failure of a session
(a publish not acknowledged, a lost connection) closes it and opens a new one after a capped
backoff. The publisher then resumes after the last event the stream holds that this core signed
(a forged tail is skipped, a retried publish is de-duplicated by ``Nats-Msg-Id``); the edge
resumes from where its consumer stood, or after a restart from its own store's last seq,
scanning forward past messages a previous run already judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.js import api
from nats.js.errors import NotFoundError

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.heartbeat import HEARTBEAT_S
from redcolor.bus.login import StreamSpec
from redcolor.bus.signing import (
    Accepted,
    EdgeVerifier,
    Heartbeat,
    Position,
    Reason,
    Signer,
    signed_heartbeat,
    signed_position,
)
from redcolor.errors import InputError, StoreError
from redcolor.model import AlertEvent

log = logging.getLogger("redcolor.nats")
_TRANSIENT = (nats.errors.Error, OSError, TimeoutError)
_BATCH = 256


class _Throttled:
    """Log a repeated warning at most once per ``period_s``, saying how many were held back."""

    def __init__(self, period_s: float = 10.0) -> None:
        self.period_s = period_s
        self._next = 0.0
        self._held = 0

    def warning(self, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        if self._held:
            msg += " (%d similar held back)"
            args = (*args, self._held)
        log.warning(msg, *args)
        self._next, self._held = now + self.period_s, 0


class _Backoff:
    def __init__(self, first_s: float = 0.2, cap_s: float = 2.0) -> None:
        self.first_s, self.cap_s, self.next_s = first_s, cap_s, first_s

    async def wait(self) -> None:
        await asyncio.sleep(self.next_s)
        self.next_s = min(self.cap_s, self.next_s * 2)

    def reset(self) -> None:
        self.next_s = self.first_s


StatusCallback = Callable[[str | None], None]
"""``report(reason)`` while the NATS connection is lost, ``report(None)`` once it is back (the
server's supervisor shows it in ``/health``)."""


def _report(on_status: StatusCallback | None, reason: str | None) -> None:
    if on_status is not None:
        on_status(reason)


@contextlib.asynccontextmanager
async def _connection(
    spec: StreamSpec, name: str, noise: _Throttled, on_status: StatusCallback | None
) -> AsyncIterator:
    """A session with NATS; a lost connection (nats-py reconnects by itself) and its return are
    told to ``on_status`` as they happen, so an idle publisher's outage is seen at once."""
    connecting = True

    async def disconnected() -> None:
        _report(on_status, f"NATS {spec.url} disconnected; reconnecting")

    async def reconnected() -> None:
        _report(on_status, None)

    async def error_cb(exc: Exception) -> None:
        # Raised here, it leaves nats.connect: a refused login is a configuration error, not
        # an outage to wait out. (Once connected, a refusal on reconnect is only logged.)
        if connecting and "authorization violation" in str(exc).lower():
            raise InputError(f"NATS at {spec.url} refused the login of {spec.login}")
        noise.warning("NATS %s: %s", spec.url, exc)

    nc = nats.NATS()
    connected = nc.connect(
        servers=spec.servers,
        name=name,
        user=spec.user,
        password=spec.password,
        nkeys_seed=spec.nkey_seed_file,
        connect_timeout=spec.timeout_s,
        reconnect_time_wait=0.5,
        max_reconnect_attempts=-1,
        error_cb=error_cb,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
    )
    try:
        await connected
    except BaseException:
        with contextlib.suppress(*_TRANSIENT):
            await nc.close()  # nats-py leaves the socket of a refused login open
        raise
    connecting = False
    _report(on_status, None)
    try:
        yield nc
    finally:
        with contextlib.suppress(*_TRANSIENT):
            await nc.close()


async def _stream_info(js: nats.js.JetStreamContext, spec: StreamSpec, *, create: bool):
    try:
        info = await js.stream_info(spec.stream)
    except NotFoundError:
        if not create:
            raise
        config = api.StreamConfig(
            name=spec.stream,
            subjects=[spec.subject],
            storage=api.StorageType.FILE,
            num_replicas=spec.replicas,
            duplicate_window=120.0,
        )
        info = await js.add_stream(config)
    if spec.subject not in (info.config.subjects or ()):
        raise InputError(f"NATS stream {spec.stream} does not hold subject {spec.subject}")
    return info


async def last_signed(
    js: nats.js.JetStreamContext, spec: StreamSpec, public_key: Ed25519PublicKey, info
) -> tuple[int, bytes, int]:
    """The last message in the stream validly signed for it: ``(seq, body, stream_seq)``,
    ``(0, b"", 0)`` if none. Walks back from the stream's end past anything forged. (A replay
    of an older event at the very end sends the publisher back to it: it then republishes the
    events after it, which the stream drops as duplicates within its window and edges refuse
    as replayed after it: never a loss.)"""
    for stream_seq in range(info.state.last_seq, max(info.state.first_seq, 1) - 1, -1):
        try:
            msg = await js.get_msg(spec.stream, stream_seq)
        except NotFoundError:  # deleted
            continue
        body = msg.data or b""
        position = signed_position(public_key, spec.stream, msg.headers, body)
        if isinstance(position, Position):
            return position.seq, body, stream_seq
    return 0, b"", 0


@dataclass
class _Published:
    seq: int | None = None  # None until read from the stream
    stream_seq: int = 0


async def _sync(js, spec: StreamSpec, store: SQLiteEventStore, signer: Signer, at: _Published):
    """Find where to publish from: kept across reconnects unless the stream shrank."""
    info = await _stream_info(js, spec, create=True)
    if at.seq is not None and info.state.last_seq >= at.stream_seq:
        return
    seq, body, at.stream_seq = await last_signed(js, spec, signer.public_key, info)
    held = store.last_seq()
    if seq > held:
        raise StoreError(f"stream {spec.stream} holds {seq} events, the store only {held}")
    if seq and store.read_since(seq - 1, 1)[0].body != body:
        raise StoreError(f"stream {spec.stream} holds another log: its event {seq} differs")
    at.seq = seq


async def _publish_from(js, spec, store, signer: Signer, at: _Published, poll_s: float) -> None:
    log_id = store.log_id()
    while True:
        assert at.seq is not None
        rows = store.read_since(at.seq, 256)
        for row in rows:
            ack = await js.publish(
                spec.subject,
                row.body,
                stream=spec.stream,
                headers=signer.headers(spec.stream, Position(row.seq, log_id, row.term), row.body),
                timeout=spec.timeout_s,
            )
            at.seq, at.stream_seq = row.seq, ack.seq
        if not rows:
            await asyncio.sleep(poll_s)


async def _session_lost(
    who: str,
    exc: BaseException,
    spec: StreamSpec,
    noise: _Throttled,
    backoff: _Backoff,
    on_status: StatusCallback | None,
    on_reconnect: Callable[[], None] | None,
) -> None:
    """A NATS session of ``who`` (publisher or edge) ended in ``exc``: log (rate-limited), tell
    the supervisor and the metrics, and wait out the backoff before the next session."""
    noise.warning("NATS %s: %s: %s; reconnecting", who, type(exc).__name__, exc)
    _report(on_status, f"NATS {spec.url}: {type(exc).__name__}: {exc}")
    if on_reconnect is not None:
        on_reconnect()
    await backoff.wait()


async def publish_log(
    store: SQLiteEventStore,
    spec: StreamSpec,
    signer: Signer,
    *,
    poll_s: float = 0.01,
    on_reconnect: Callable[[], None] | None = None,
    on_status: StatusCallback | None = None,
    node_id: str = "core",
    heartbeat_s: float = HEARTBEAT_S,
) -> None:
    """Core side (the leader only): publish the store to the stream in ``seq`` order, each event
    signed under the store's log id and the fencing term it was stored under, and a signed
    heartbeat (the store's current term, ``node_id``) every ``heartbeat_s``, forever.

    Starts after the last event of this log the stream holds (so a restarted publisher, or a
    new leader on the same store with the same key, neither skips nor repeats) and rides out any
    NATS outage; the heartbeat has its own connection, so it goes on while the stream cannot take
    a publish (no quorum). Every event goes, an operator's alert open until ended by hand (no
    expiry) included. Raises StoreError if the stream and the store disagree (a stream made for
    another log); InputError if the stream exists without the subject.
    """
    jobs = [
        asyncio.ensure_future(
            _publish_events(store, spec, signer, poll_s, on_reconnect, on_status)
        ),
        asyncio.ensure_future(_heartbeats(store, spec, signer, node_id, heartbeat_s)),
    ]
    try:
        done, _ = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        for job in done:
            job.result()
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)


async def _publish_events(store, spec, signer, poll_s, on_reconnect, on_status) -> None:
    at = _Published()
    backoff, noise = _Backoff(), _Throttled()
    while True:
        try:
            async with _connection(spec, "redcolor-core", noise, on_status) as nc:
                js = nc.jetstream(timeout=spec.timeout_s)
                await _sync(js, spec, store, signer, at)
                backoff.reset()
                await _publish_from(js, spec, store, signer, at, poll_s)
        except _TRANSIENT as exc:
            await _session_lost("publisher", exc, spec, noise, backoff, on_status, on_reconnect)


async def _heartbeats(
    store: SQLiteEventStore,
    spec: StreamSpec,
    signer: Signer,
    node_id: str,
    every_s: float,
) -> None:
    """The leader's signed heartbeat on core NATS every ``every_s``: log id, the store's last seq
    (what the edges should hold), term, node id, wall clock."""
    log_id = store.log_id()
    backoff, noise = _Backoff(), _Throttled()
    while True:
        try:
            async with _connection(spec, "redcolor-core-heartbeat", noise, None) as nc:
                backoff.reset()
                while True:
                    beat = Heartbeat(log_id, store.last_seq(), store.term(), node_id, time.time())
                    body, headers = signer.heartbeat(spec.stream, beat)
                    await nc.publish(spec.heartbeat_subject, body, headers=headers)
                    await asyncio.sleep(every_s)
        except _TRANSIENT as exc:
            noise.warning("NATS heartbeat: %s: %s; reconnecting", type(exc).__name__, exc)
            await backoff.wait()


RefusedHook = Callable[[Reason], None]


class _EdgeCopy:
    """The edge's state across sessions: the verifier, where to read the stream from, and the
    accepted events not yet committed (flushed whenever the session ends, however it ends, so
    the verifier's position and the store's never part)."""

    def __init__(
        self,
        store: SQLiteEventStore,
        verifier: EdgeVerifier,
        on_append: Callable[[], None] | None,
        on_refused: RefusedHook | None,
        on_log_id: Callable[[str], None] | None,
    ) -> None:
        self.store, self.verifier = store, verifier
        self.on_append, self.on_refused, self.on_log_id = on_append, on_refused, on_log_id
        # The event after the store's last seq L sits at stream seq L + 1 or later (forged
        # messages only add to the stream), so reading from L cannot miss it.
        self.from_stream_seq = max(verifier.last_seq, 1)
        self.batch: list[tuple[AlertEvent, bytes]] = []
        self.noise = _Throttled()

    def take(self, stream_seq: int, headers: dict[str, str] | None, body: bytes) -> None:
        self.from_stream_seq = stream_seq + 1
        verdict = self.verifier.check(headers, body)
        if isinstance(verdict, Accepted):
            self.verifier.stored(verdict)
            self.batch.append((verdict.event, verdict.body))
            return
        if self.on_refused is not None:
            self.on_refused(verdict.reason)
        if verdict.reason == "foreign_log":
            raise StoreError(
                f"{self.store.path} is not a copy of the core's log {self.verifier.log_id}: the"
                f" core signed seq {verdict.seq} for another log or another body"
            )
        if verdict.reason != "rescanned":
            self.noise.warning(
                "refused bus message at stream seq %d: %s (signed seq %s)",
                stream_seq,
                verdict.reason,
                verdict.seq,
            )

    def flush(self) -> None:
        if self.batch:
            log_id = self.verifier.log_id
            if log_id is not None and log_id != self.store.log_id():
                # A fresh copy takes the core's log id: every edge serves the same log.
                self.store.adopt_log_id(log_id)
                if self.on_log_id is not None:
                    self.on_log_id(log_id)
            self.store.append_replica(self.batch)
            self.batch.clear()
            if self.on_append is not None:
                self.on_append()


async def _wait_for_stream(js, spec: StreamSpec, backoff: _Backoff, noise: _Throttled) -> None:
    while True:
        try:
            await _stream_info(js, spec, create=False)
            return
        except NotFoundError:
            noise.warning("NATS stream %s does not exist yet", spec.stream)
            await backoff.wait()


async def replicate(
    spec: StreamSpec,
    store: SQLiteEventStore,
    public_key: Ed25519PublicKey,
    *,
    on_append: Callable[[], None] | None = None,
    on_refused: RefusedHook | None = None,
    on_reconnect: Callable[[], None] | None = None,
    on_status: StatusCallback | None = None,
    on_log_id: Callable[[str], None] | None = None,
) -> None:
    """Edge side: append the core's signed events to ``store``, each under its own seq, forever.

    An empty ``store`` takes the core's log id with the first event (``on_log_id(log_id)`` is
    called then), so a client resumes by seq on any edge; a store that holds events holds them
    under the core's log id, and a message signed for another log stops replication.

    Every message goes through :class:`EdgeVerifier`; a refused one is passed to
    ``on_refused(reason)``, logged (rate-limited) and skipped. What arrives together (a
    catch-up) is stored in one transaction; ``on_append`` is called after each. Replication
    stops only for a StoreError (the local store cannot be written, or it is not a copy of the
    core's log) or an InputError (NATS refused the login).
    """
    last = store.last_seq()
    last_body = store.read_since(last - 1, 1)[0].body if last else None
    verifier = EdgeVerifier(
        public_key, spec.stream, last, last_body, store.log_id() if last else None
    )
    copy = _EdgeCopy(store, verifier, on_append, on_refused, on_log_id)
    backoff, noise = _Backoff(), _Throttled()
    while True:
        try:
            async with _connection(spec, "redcolor-edge", noise, on_status) as nc:
                js = nc.jetstream(timeout=spec.timeout_s)
                await _wait_for_stream(js, spec, backoff, noise)
                config = api.ConsumerConfig(
                    deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                    opt_start_seq=copy.from_stream_seq,
                )
                sub = await js.subscribe(
                    spec.subject,
                    stream=spec.stream,
                    ordered_consumer=True,
                    idle_heartbeat=1.0,
                    config=config,
                )
                backoff.reset()
                try:
                    async for msg in sub.messages:
                        copy.take(msg.metadata.sequence.stream, msg.headers, msg.data)
                        if sub.pending_msgs == 0 or len(copy.batch) >= _BATCH:
                            copy.flush()
                finally:
                    copy.flush()
        except _TRANSIENT as exc:
            await _session_lost("edge", exc, spec, noise, backoff, on_status, on_reconnect)


HeartbeatHook = Callable[[Heartbeat], None]


async def watch_leader(
    spec: StreamSpec, public_key: Ed25519PublicKey, on_beat: HeartbeatHook
) -> None:
    """Edge side: pass every heartbeat the core's key signed to ``on_beat``, forever (anything
    else on the subject is ignored; a lost connection is retried, and the silence is what
    :class:`~redcolor.bus.heartbeat.LeaderView` reports)."""
    backoff, noise = _Backoff(), _Throttled()

    async def take(msg) -> None:
        beat = signed_heartbeat(public_key, spec.stream, msg.headers, msg.data or b"")
        if beat is not None:
            on_beat(beat)

    while True:
        try:
            async with _connection(spec, "redcolor-edge-heartbeat", noise, None) as nc:
                await nc.subscribe(spec.heartbeat_subject, cb=take)
                backoff.reset()
                await asyncio.Event().wait()  # until cancelled; nats-py reconnects by itself
        except _TRANSIENT as exc:
            noise.warning("NATS heartbeat watch: %s: %s; reconnecting", type(exc).__name__, exc)
            await backoff.wait()
