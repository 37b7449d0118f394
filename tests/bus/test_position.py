"""Durable channel positions on a real SQLite store, consume() resuming from one, and the
low-water cursor of a channel whose sends finish out of order."""

from __future__ import annotations

import asyncio

import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import StoreFollower, consume
from redcolor.bus.hub import Hub, ResumeCursor
from redcolor.bus.position import DurableCursor, LowWaterCursor
from redcolor.model import AlertArea, AlertEvent


def _event(n: int) -> AlertEvent:
    return AlertEvent(
        f"a{n}",
        0,
        "missiles",
        "alert",
        (AlertArea(7, 15),),
        1.7e9 + n,
        1.7e9 + n + 600,
        ("track:1",),
        {"en": "shelter"},
    )


def test_fresh_store_starts_at_zero_and_upgraded_store_at_the_end(tmp_path) -> None:
    fresh = SQLiteEventStore(tmp_path / "fresh.db")
    assert DurableCursor(fresh, "mqtt", fresh.last_seq()).last_seq == 0
    old = SQLiteEventStore(tmp_path / "old.db")
    old.append([_event(i) for i in range(5)])
    # no row for this channel yet: it starts where the log ends (no flood of old alerts)
    assert DurableCursor(old, "push", old.last_seq()).last_seq == 5
    # and that start is durable at once
    assert DurableCursor(SQLiteEventStore(tmp_path / "old.db"), "push", 0).last_seq == 5


def test_position_survives_reopen_and_never_moves_back(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    cursor = DurableCursor(store, "mqtt", 0, flush_s=0.0)
    assert [cursor.accept(s) for s in (1, 2, 2, 3, 1)] == [True, True, False, True, False]
    again = DurableCursor(SQLiteEventStore(tmp_path / "a.db"), "mqtt", 0)
    assert again.last_seq == 3
    store.save_channel_position("mqtt", 2)  # a late writer cannot move it back
    assert DurableCursor(store, "mqtt", 0).last_seq == 3
    assert DurableCursor(store, "sirens", 0).last_seq == 0  # channels are separate


def test_writes_are_batched_and_the_last_one_is_flushed_by_a_timer(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")

    def saved() -> int:
        return DurableCursor(store, "mqtt", 0).last_seq

    async def main() -> None:
        cursor = DurableCursor(store, "mqtt", 0, flush_s=0.2)
        for seq in range(1, 51):
            cursor.accept(seq)
        assert saved() == 0  # within flush_s of the start: nothing written yet
        await asyncio.sleep(0.35)
        assert saved() == 50  # the timer wrote the last position after the burst

    asyncio.run(main())


async def test_consume_resumes_from_the_durable_position_after_a_restart(tmp_path) -> None:
    path = tmp_path / "a.db"
    store = SQLiteEventStore(path)
    store.append([_event(i) for i in range(1, 4)])

    async def deliver(until_seq: int) -> list[int]:
        """One server life: a channel consuming from its durable position."""
        server_store = SQLiteEventStore(path)
        hub = Hub(server_store.log_id(), server_store.last_seq())
        got: list[int] = []

        async def handler(frames) -> None:
            got.append(frames.seq)

        position = DurableCursor(server_store, "mqtt", 0)
        task = asyncio.create_task(consume(hub, server_store, handler, position))
        follower = StoreFollower(server_store, hub, poll_s=0.01)
        follow = asyncio.create_task(follower.run())
        async with asyncio.timeout(5):
            while not got or got[-1] < until_seq:
                await asyncio.sleep(0.01)
        task.cancel()
        follow.cancel()
        await asyncio.gather(task, follow, return_exceptions=True)
        position.flush()
        return got

    assert await deliver(3) == [1, 2, 3]
    store.append([_event(i) for i in range(4, 7)])  # stored while the channel was down
    assert await deliver(6) == [4, 5, 6]


def test_low_water_waits_for_the_oldest_send_finished_out_of_order() -> None:
    durable = ResumeCursor(10)
    c = LowWaterCursor(durable)
    assert c.last_seq == c.mark == 10
    for seq in (11, 12, 13):
        c.owe(seq)
        c.accept(seq)
    assert (c.last_seq, c.mark, durable.last_seq) == (13, 10, 10)
    c.finish(13)
    c.finish(12)
    assert c.mark == durable.last_seq == 10  # 11 still out: nothing after it is durable
    c.finish(11)
    assert c.mark == durable.last_seq == 13


def test_low_water_over_several_subscriptions_and_events_owing_nothing() -> None:
    durable = ResumeCursor(0)
    c = LowWaterCursor(durable)
    c.owe(1)  # fast subscription
    c.owe(1)  # slow subscription
    c.accept(1)
    c.accept(2)  # names no subscription's area: owes nothing
    c.owe(3)  # fast only
    c.accept(3)
    c.finish(1)  # fast is done with 1 and 3; slow still sends 1
    c.finish(3)
    assert durable.last_seq == 0
    c.owe(4)  # slow only
    c.accept(4)
    c.finish(1)  # slow done with 1: everything to 3 is finished, 4 is not
    assert durable.last_seq == 3
    c.finish(4)
    c.accept(5)  # nothing owed at all: the mark follows what is handed on
    assert c.mark == durable.last_seq == 5


def test_a_dropped_send_is_never_owed_and_cannot_stall_the_mark() -> None:
    durable = ResumeCursor(0)
    c = LowWaterCursor(durable)
    c.owe(1)  # queued for a
    c.accept(1)  # b's queue was full: dropped (counted by the channel), not owed
    c.owe(2)
    c.accept(2)
    c.finish(1)
    c.finish(2)
    assert durable.last_seq == 2


def test_low_water_refuses_what_it_cannot_track() -> None:
    c = LowWaterCursor(ResumeCursor(5))
    with pytest.raises(ValueError, match="out of order"):
        c.owe(5)  # already handed on
    c.owe(7)
    with pytest.raises(ValueError, match="out of order"):
        c.owe(6)
    with pytest.raises(ValueError, match="nothing is owed"):
        c.finish(6)
    assert not c.accept(4)  # an old seq is not new, as with any cursor
    c.accept(7)
    c.finish(7)
    with pytest.raises(ValueError, match="nothing is owed"):
        c.finish(7)  # finished twice


def test_low_water_moves_a_durable_cursor_in_the_store(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    c = LowWaterCursor(DurableCursor(store, "push", 0, flush_s=0.0))
    c.owe(1)
    c.accept(1)
    c.accept(2)
    assert DurableCursor(store, "push", 0).last_seq == 0  # 1 not finished: nothing durable
    c.finish(1)
    assert DurableCursor(SQLiteEventStore(tmp_path / "a.db"), "push", 0).last_seq == 2
