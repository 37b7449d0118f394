"""Shared pieces of the bus tests: events with an expiry, specs per user, forged messages."""

from __future__ import annotations

import asyncio
from collections import Counter

import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from redcolor.bus.login import StreamSpec
from redcolor.bus.signing import Signer
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent

from .natsd import STREAM, SUBJECT, USERS


def event(n: int, *, expires: bool = True) -> AlertEvent:
    t = 1.7e9 + n
    return AlertEvent(
        f"j{n}",
        0,
        "missiles",
        "alert",
        (AlertArea(n % 5 + 1, 15),),
        t,
        t + 600.0 if expires else None,
        ("track:9",),
        {"en": "Shelter"},
    )


def spec(url: str, user: str | None, **kw) -> StreamSpec:
    password = USERS[user] if user else None
    return StreamSpec(url=url, stream=STREAM, subject=SUBJECT, user=user, password=password, **kw)


def forged_body(seq: int) -> bytes:
    """What the probe sent: a well-formed event with no expiry, under the next seq."""
    return EVENT_ENCODER.encode(
        AlertEvent("forged", seq, "missiles", "alert", (AlertArea(1, 15),), 1.7e9, None, ("x",), {})
    )


def other_signer() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


async def stream_last_seq(url: str) -> int:
    nc = await nats.connect(url, user="admin", password=USERS["admin"])
    try:
        return (await nc.jetstream().stream_info(STREAM)).state.last_seq
    finally:
        await nc.close()


async def until(cond, timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.01)


async def stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results


class Refusals(Counter):
    def __call__(self, reason: str) -> None:
        self[reason] += 1
