"""The fan-out core without an event loop: filters, exactly-once resume, slow-client drops."""

from __future__ import annotations

import asyncio
import json

import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import Dropped, QueueSink, catch_up
from redcolor.bus.frames import ControlFrames, EventFrames, ws_text_frame
from redcolor.bus.hub import Hub
from redcolor.model import AlertArea, AlertEvent


class ListSink:
    def __init__(self, room: int = 10**9) -> None:
        self.room, self.got, self.controls, self.reason = room, [], [], None

    def offer(self, frames: EventFrames) -> bool:
        if len(self.got) >= self.room:
            return False
        self.got.append(frames.seq)
        return True

    def control(self, frames) -> None:
        self.controls.append(frames.body)

    def dropped(self, reason: str) -> None:
        self.reason = reason


def _event(n: int, areas: tuple[int, ...]) -> AlertEvent:
    return AlertEvent(
        f"e{n}",
        0,
        "missiles",
        "alert",
        tuple(AlertArea(a, 30) for a in areas),
        1.7e9 + n,
        None,
        (),
        {},
    )


def _publish_all(store: SQLiteEventStore, hub: Hub) -> None:
    for row in store.read_since(hub.last_seq, 10_000):
        hub.publish(EventFrames.build(row, hub.log_id))


def test_ws_frame_header_lengths() -> None:
    for n in (0, 125, 126, 65535, 65536):
        frame = ws_text_frame(b"x" * n)
        assert frame[0] == 0x81 and frame.endswith(b"x" * n)
        assert len(frame) - n == (2 if n < 126 else 4 if n < 65536 else 10)


def test_every_frame_names_its_log_and_the_stored_body_is_kept(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "h.db")
    store.append([_event(1, (7,))])
    (row,) = store.read_since(0)
    log_id = store.log_id()
    frames = EventFrames.build(row, log_id)
    assert frames.body == row.body  # the channels' bytes are the stored ones
    wire = json.loads(frames.wire)
    assert wire == {"log_id": log_id, **json.loads(row.body)}
    assert frames.ws == ws_text_frame(frames.wire)
    assert frames.sse == f"id: {log_id}:1\nevent: alert\ndata: ".encode() + frames.wire + b"\n\n"
    beat = ControlFrames.heartbeat(5, log_id)
    assert json.loads(beat.wire) == {"type": "heartbeat", "log_id": log_id, "last_seq": 5}
    reset = ControlFrames.reset(log_id, 0, 9, "why")
    assert reset.sse.startswith(f"id: {log_id}:0\nevent: control\n".encode())
    assert json.loads(reset.wire)["type"] == "reset"
    assert b"id:" not in ControlFrames.dropped("slow", log_id).sse


def test_filters_and_order(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "h.db")
    hub = Hub(store.log_id())
    everyone, area7 = ListSink(), ListSink()
    for sink, areas in ((everyone, None), (area7, [7])):
        assert hub.try_go_live(hub.subscribe(sink, areas, 0))
    store.append([_event(1, (7, 8)), _event(2, (8,)), _event(3, (7,))])
    _publish_all(store, hub)
    assert everyone.got == [1, 2, 3] and area7.got == [1, 3]
    with pytest.raises(ValueError):
        hub.publish(EventFrames.build(store.read_since(0, 1)[0], hub.log_id))


def test_slow_subscriber_dropped_others_unaffected(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "h.db")
    dropped = []
    hub = Hub(store.log_id(), on_drop=lambda sub, reason: dropped.append(reason))
    slow, fast = ListSink(room=2), ListSink()
    for sink in (slow, fast):
        hub.try_go_live(hub.subscribe(sink, None, 0))
    store.append([_event(i, (1,)) for i in range(5)])
    _publish_all(store, hub)
    assert fast.got == [1, 2, 3, 4, 5] and slow.got == [1, 2]
    assert slow.reason and "too slow" in slow.reason and len(dropped) == 1


async def test_catch_up_then_live_has_no_gap_and_no_duplicate(tmp_path) -> None:
    """Events keep arriving while a subscriber replays; it must see each exactly once."""
    store = SQLiteEventStore(tmp_path / "h.db")
    hub = Hub(store.log_id())
    store.append([_event(i, (1,)) for i in range(50)])
    _publish_all(store, hub)
    sink = QueueSink(max_items=8)
    sub = hub.subscribe(sink, None, after_seq=10)
    got: list[int] = []

    async def reader() -> None:
        while len(got) < 140:
            got.append((await sink.get()).seq)

    async def writer() -> None:
        for i in range(100):
            store.append([_event(100 + i, (1,))])
            _publish_all(store, hub)
            await asyncio.sleep(0.001)

    await asyncio.gather(
        reader(),
        writer(),
        catch_up(hub, store, sub, has_space=sink.has_space, wait_space=sink.wait_space),
    )
    assert got == list(range(11, 151))


async def test_queue_sink_reports_drop_after_draining() -> None:
    sink = QueueSink(max_items=1)
    hub = Hub("0123456789abcdef")
    sub = hub.subscribe(sink, None, 0)
    hub.try_go_live(sub)
    hub.drop(sub, "test reason")
    with pytest.raises(Dropped, match="test reason"):
        await sink.get()


async def test_resume_point_ahead_of_the_hub_goes_live_and_dedupes(tmp_path) -> None:
    """A client replayed seq 3 from the store before the follower published it, reconnects with
    since=3: it must not see 3 again when the hub catches up, and must see 4."""
    store = SQLiteEventStore(tmp_path / "h.db")
    hub = Hub(store.log_id())
    store.append([_event(i, (1,)) for i in range(3)])
    sink = ListSink()
    sub = hub.subscribe(sink, None, after_seq=3)
    await catch_up(hub, store, sub, has_space=lambda: True, wait_space=lambda: asyncio.sleep(0))
    assert sub.live
    store.append([_event(4, (1,))])
    _publish_all(store, hub)
    assert sink.got == [4]
