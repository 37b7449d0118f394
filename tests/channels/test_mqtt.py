"""MQTT channel against the real Mosquitto broker on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
import json
import socket

import aiomqtt
import msgspec
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import StoreFollower
from redcolor.bus.hub import Hub
from redcolor.channels.mqtt import parse_broker, run_mqtt
from redcolor.errors import InputError
from redcolor.model import AlertArea, AlertEvent


def _broker_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 1883)) == 0


pytestmark = pytest.mark.services


def _event(n: int, areas: tuple[int, ...], stage: str = "alert") -> AlertEvent:
    return AlertEvent(
        f"m{n}",
        0,
        "missiles",
        stage,
        tuple(AlertArea(a, 15) for a in areas),
        1.7e9 + n,
        None,
        ("track:1",),
        {"en": "shelter"},
    )


def test_parse_broker() -> None:
    assert parse_broker("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_broker("localhost") == ("localhost", 1883)
    with pytest.raises(InputError):
        parse_broker("http://x:1")


async def test_events_reach_all_and_area_topics_with_qos1(tmp_path) -> None:
    if not _broker_up():
        pytest.fail("Mosquitto is expected on 127.0.0.1:1883 (see scripts/system-deps.sh)")
    store = SQLiteEventStore(tmp_path / "m.db")
    hub = Hub(store.log_id(), store.last_seq())
    follower = StoreFollower(store, hub)
    sent = []
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe("redcolor/#", qos=1)
        task = asyncio.create_task(
            run_mqtt(hub, store, "mqtt://127.0.0.1:1883", on_sent=lambda f: sent.append(f.seq))
        )
        await asyncio.sleep(0.3)
        stored = store.append(
            [_event(1, (101, 102)), _event(2, (102,)), _event(3, (103,), "ended")]
        )
        follower.poll_once()
        got: dict[str, list[int]] = {}
        async with asyncio.timeout(10):
            async for message in sub.messages:
                got.setdefault(str(message.topic), []).append(json.loads(message.payload)["seq"])
                if sum(map(len, got.values())) == 3 + 4:
                    break
            # the subscriber can see the last message before the publisher has its PUBACK
            while len(sent) < 3:
                await asyncio.sleep(0.01)
        task.cancel()
    seqs = [e.seq for e in stored]
    assert got["redcolor/events"] == seqs
    assert got["redcolor/alerts/102"] == seqs[:2]
    assert got["redcolor/alerts/101"] == seqs[:1] and got["redcolor/alerts/103"] == seqs[2:]
    assert sent == seqs


@pytest.mark.parametrize("exercises", [False, True])
async def test_an_exercise_is_published_only_when_told_and_its_position_passes(
    tmp_path, exercises
) -> None:
    if not _broker_up():
        pytest.fail("Mosquitto is expected on 127.0.0.1:1883 (see scripts/system-deps.sh)")
    store = SQLiteEventStore(tmp_path / "m.db")
    hub = Hub(store.log_id(), store.last_seq())
    follower = StoreFollower(store, hub)
    sent: list[int] = []
    drill = msgspec.structs.replace(_event(1, (201,)), status="exercise")
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe("redcolor/events", qos=1)
        task = asyncio.create_task(
            run_mqtt(
                hub,
                store,
                "mqtt://127.0.0.1:1883",
                on_sent=lambda f: sent.append(f.seq),
                exercises=exercises,
            )
        )
        await asyncio.sleep(0.3)
        # the exercise last: a skipped event must still move the durable position
        stored = store.append([_event(2, (202,)), _event(3, (202,), "cancelled"), drill])
        follower.poll_once()
        got: list[int] = []
        want = 3 if exercises else 2
        async with asyncio.timeout(10):
            async for message in sub.messages:
                got.append(json.loads(message.payload)["seq"])
                if len(got) == want:
                    break
            while len(sent) < want:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # time to pass the skipped exercise
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    seqs = [e.seq for e in stored]
    assert got == (seqs if exercises else seqs[:2]) and sent == got
    assert store.channel_position("mqtt", 0) == seqs[-1]
