"""The leader lease on a NATS JetStream key-value bucket: the I/O of
:class:`~redcolor.alerts.lease.LeaseMachine`.

One key (``core``) in a bucket (file storage, one revision of history) holds the lease as JSON
``{"holder", "instance", "term"}``. Every write is ``kv.update(key, value, last=revision)``:
JetStream appends it only if the key's last revision is still ``last`` (``last=0``: the key
does not exist yet), which is the compare-and-swap the machine relies on; a refusal is
``KeyWrongLastSequenceError``. Nothing ever deletes the key: a clean stop writes it released.
Expiry is judged by each candidate from how long the revision has stood still on its own
monotonic clock, so no clock is compared across machines and the bucket needs no TTL.

:func:`campaign` runs for as long as the core runs (a supervised task of the server): it reads
and writes as the machine says, and on cancellation (a clean stop) releases the lease it holds,
so a standby takes over at once. A request that fails or times out is only a missed round: a
leader that cannot renew stops counting itself valid ``valid_s`` after its last successful
write, whatever the adapter does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

import nats
import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from redcolor.alerts.lease import NOBODY, Holding, Leadership, Write
from redcolor.bus.login import StreamSpec
from redcolor.errors import InputError

log = logging.getLogger("redcolor.lease")
BUCKET = "redcolor_lease"
"""The default bucket (one per group of cores)."""
KEY = "core"
RELEASE_TIMEOUT_S = 0.5
"""The longest a clean stop waits to write the lease released."""
_TRANSIENT = (nats.errors.Error, OSError, TimeoutError)

StatusCallback = Callable[[str | None], None]


def encode(holding: Holding) -> bytes:
    return json.dumps(
        {"holder": holding.holder, "instance": holding.instance, "term": holding.term}
    ).encode()


def decode(value: bytes | None, revision: int) -> Holding:
    """The lease a stored value says; a value that is not one (someone else's key) is
    InputError."""
    try:
        body = json.loads(value or b"")
        return Holding(str(body["holder"]), str(body["instance"]), int(body["term"]), revision)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the lease key holds no lease: {value!r:.80}") from exc


async def open_bucket(js: nats.js.JetStreamContext, bucket: str) -> KeyValue:
    """The lease bucket, made if missing (one revision kept, on disk)."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # another core made it
            await js.create_key_value(bucket=bucket, history=1)
        return await js.key_value(bucket)


async def read(kv: KeyValue) -> Holding:
    try:
        entry = await kv.get(KEY)
    except nats.js.errors.KeyNotFoundError:
        return NOBODY
    return decode(entry.value, entry.revision or 0)


async def attempt(kv: KeyValue, write: Write) -> int | None:
    """Write ``write``; its new revision, or None when the register had moved on."""
    try:
        return await kv.update(KEY, encode(write.holding), last=write.last)
    except nats.js.errors.KeyWrongLastSequenceError:
        return None


async def one_round(
    kv: KeyValue,
    leadership: Leadership,
    on_elected: Callable[[int], None] | None = None,
) -> float:
    """Read or write once as the machine says; the seconds to wait before the next round.
    ``on_elected(term)`` when this core starts a new term as the leader."""
    clock = leadership.clock
    machine, lock = leadership.machine, leadership.lock
    with lock:
        write = machine.due(clock())
    if write is None:
        held = await read(kv)
        with lock:
            machine.observe(held, clock())
            write = machine.due(clock())
    elected = False
    if write is not None:
        sent_s = clock()
        revision = await attempt(kv, write)
        with lock:
            if revision is None:
                machine.refused()
            else:
                was = machine.term
                machine.written(write, revision, sent_s)
                elected = write.holding.term != was
        if elected:
            log.warning("lease: %s leads, term %d", machine.node_id, write.holding.term)
            if on_elected is not None:
                on_elected(write.holding.term)
    with lock:
        return machine.wait_s(clock())


async def campaign(
    spec: StreamSpec,
    leadership: Leadership,
    *,
    bucket: str = BUCKET,
    on_status: StatusCallback | None = None,
    on_elected: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Campaign for (and hold) the lease until cancelled or ``stop`` is set, then release it
    (module docstring).
    NATS unreachable is reported through ``on_status`` and retried; meanwhile this core is a
    standby (or stops being the leader ``valid_s`` after its last renewal)."""
    timing = leadership.machine.timing
    request_s = timing.valid_s - timing.renew_s  # a renewal slower than this is too late
    said: list[str] = []

    async def error_cb(exc: Exception) -> None:  # one line per new error, never a traceback
        line = f"lease NATS {spec.url}: {type(exc).__name__}: {exc}"
        if not said or said[-1] != line:
            log.warning("%s", line)
            said[:] = [line]

    failing: str | None = None

    async def disconnected() -> None:  # told at once, not after a request times out
        nonlocal failing
        failing = f"lease on {spec.url}: NATS disconnected; reconnecting"
        log.warning("%s", failing)
        if on_status is not None:
            on_status(failing)

    nc = await nats.connect(
        spec.servers,
        error_cb=error_cb,
        disconnected_cb=disconnected,
        name=f"redcolor-lease-{leadership.node_id}",
        user=spec.user,
        password=spec.password,
        nkeys_seed=spec.nkey_seed_file,
        connect_timeout=spec.timeout_s,
        reconnect_time_wait=0.2,
        max_reconnect_attempts=-1,
    )
    kv: KeyValue | None = None
    try:
        while True:
            try:
                if kv is None:
                    kv = await open_bucket(nc.jetstream(timeout=request_s), bucket)
                wait_s = await one_round(kv, leadership, on_elected)
                if failing is not None and on_status is not None:
                    on_status(None)
                failing = None
            except _TRANSIENT as exc:
                reason = f"lease on {spec.url}: {type(exc).__name__}: {exc}"
                if reason != failing:
                    log.warning("%s", reason)
                    if on_status is not None:
                        on_status(reason)
                failing = reason
                wait_s = timing.poll_s
            if stop is None:
                await asyncio.sleep(wait_s)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait_s)
            if stop.is_set():
                return
    finally:
        with leadership.lock:
            release = leadership.machine.resign()
        if release is not None and kv is not None:
            with contextlib.suppress(*_TRANSIENT):
                await asyncio.wait_for(attempt(kv, release), RELEASE_TIMEOUT_S)
                log.warning("lease: %s released it", leadership.node_id)
        with contextlib.suppress(*_TRANSIENT):
            await nc.close()
