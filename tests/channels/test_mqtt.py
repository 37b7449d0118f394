"""MQTT channel against the real Mosquitto broker on 127.0.0.1:1883: events, retained area
states, Home Assistant discovery. Every test uses a prefix of its own on the shared broker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import socket
import time

import aiomqtt
import jinja2
import msgspec
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.bus.follow import StoreFollower
from redcolor.bus.frames import EventFrames
from redcolor.bus.hub import Hub
from redcolor.channels.active import ActiveArea
from redcolor.channels.mqtt import (
    MqttOptions,
    RetainedStates,
    Topics,
    area_state,
    discovery_config,
    parse_broker,
    parse_ha_areas,
    parse_prefix,
    run_mqtt,
)
from redcolor.errors import InputError
from redcolor.model import AlertArea, AlertEvent

from . import ha_schema
from .mqtt_broker import clear_test_retained


@pytest.fixture(autouse=True, scope="module")
def _leave_the_broker_clean():
    """Retained test messages would outlive this module on the machine's shared broker."""
    yield
    with contextlib.suppress(OSError, aiomqtt.MqttError):  # no broker: the tests said so
        asyncio.run(clear_test_retained())


URL = "mqtt://127.0.0.1:1883"


def _broker_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 1883)) == 0


def _need_broker() -> None:
    if not _broker_up():
        pytest.fail("Mosquitto is expected on 127.0.0.1:1883 (see scripts/system-deps.sh)")


def _prefix() -> str:
    return f"rctest/{secrets.token_hex(4)}"


def _event(
    n: int,
    areas: tuple[int, ...],
    stage: str = "alert",
    *,
    alert_id: str | None = None,
    t: float = 1.7e9,
    expires_s: float | None = None,
    shelter_s: int = 15,
) -> AlertEvent:
    return AlertEvent(
        alert_id or f"m{n}",
        0,
        "missiles",
        stage,
        tuple(AlertArea(a, shelter_s) for a in areas),
        t + n,
        None if expires_s is None else t + n + expires_s,
        ("track:1",),
        {"en": "shelter"},
    )


async def _retained(*filters: str, live: bool = False) -> dict[str, bytes]:
    """What a fresh client subscribing to ``filters`` is handed at once: the broker's retained
    messages, read until a marker published after subscribing comes back. With ``live`` (the
    channel may be publishing meanwhile, as while it connects), a message published after the
    subscription, which comes without the retain flag, counts too as the newest value."""
    marker = f"rctest-marker/{secrets.token_hex(6)}"
    got: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.subscribe([(f, 1) for f in filters] + [(marker, 1)])
        await client.publish(marker, b"x", qos=1)
        async with asyncio.timeout(10):
            async for message in client.messages:
                if str(message.topic) == marker:
                    break
                assert message.retain or live
                got[str(message.topic)] = message.payload
    return got


async def _until_status(topics: Topics, want: bytes) -> None:
    async with asyncio.timeout(10):
        while (await _retained(topics.status, live=True)).get(topics.status) != want:
            await asyncio.sleep(0.05)


class Channel:
    """A store, its hub and follower, and the channel publishing them (one run at a time)."""

    def __init__(self, tmp_path, **options) -> None:
        self.store = SQLiteEventStore(tmp_path / "m.db")
        self.hub = Hub(self.store.log_id(), self.store.last_seq())
        self.follower = StoreFollower(self.store, self.hub)
        self.options = MqttOptions(**options)
        self.topics = Topics(self.options.prefix)
        self.sent: list[int] = []
        self.task: asyncio.Task | None = None

    async def start(self, **options) -> None:
        if options:
            self.options = dataclasses.replace(self.options, **options)
        self.task = asyncio.create_task(
            run_mqtt(
                self.hub,
                self.store,
                URL,
                on_sent=lambda f: self.sent.append(f.seq),
                start_seq=0,
                options=self.options,
            )
        )
        await _until_status(self.topics, b"online")

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def write(self, *events: AlertEvent) -> list[AlertEvent]:
        """Store ``events``, publish them, and wait until the channel has sent the last."""
        stored = self.store.append(list(events))
        self.follower.poll_once()
        async with asyncio.timeout(10):
            while not self.sent or self.sent[-1] < stored[-1].seq:
                await asyncio.sleep(0.01)
        return stored

    async def states(self) -> dict[int, dict]:
        got = await _retained(self.topics.states)
        return {self.topics.area_of_state(t): json.loads(p) for t, p in got.items()}


def test_parse_broker_prefix_and_areas() -> None:
    assert parse_broker("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_broker("localhost") == ("localhost", 1883)
    with pytest.raises(InputError):
        parse_broker("http://x:1")
    assert parse_prefix("home/redcolor") == "home/redcolor"
    for bad in ("", "a/+", "a/#", "#", "/a", "a/", "a//b", "$SYS/x", "a\0b", "x" * 129):
        with pytest.raises(InputError, match="--mqtt-prefix"):
            parse_prefix(bad)
    assert parse_ha_areas("175, 176,175") == (175, 176)
    for bad in ("175;176", "-1", "abc"):
        with pytest.raises(InputError, match="--mqtt-ha-areas"):
            parse_ha_areas(bad)


def _frames(store: SQLiteEventStore, *events: AlertEvent) -> list[EventFrames]:
    stored = store.append(list(events))
    return [EventFrames.build(r, store.log_id()) for r in store.read_since(stored[0].seq - 1)]


def test_retained_states_follow_the_log_and_the_clock() -> None:
    """The pure core: what to publish retained, and what to delete, as events and time pass."""
    store = SQLiteEventStore(":memory:")
    states = RetainedStates(exercises=False)
    drill = msgspec.structs.replace(_event(3, (9,)), status="exercise")
    for frames in _frames(store, _event(1, (7, 8), expires_s=60), drill):
        states.apply(frames)
    changes = states.changes(now_unix_s=1.7e9 + 10)
    assert [a for a, _ in changes] == [7, 8]  # the drill's area gets no state
    for area, payload in changes:
        states.published(area, payload)
    assert states.changes(now_unix_s=1.7e9 + 10) == []  # nothing changed, nothing to send
    (end,) = _frames(store, _event(4, (7,), "ended", alert_id="m1"))
    states.apply(end)
    states.apply(end)  # a repeat (after a reconnect) changes nothing
    assert states.changes(now_unix_s=1.7e9 + 10) == [(7, b"")]
    states.published(7, b"")
    assert states.changes(now_unix_s=1.7e9 + 62) == [(8, b"")]  # expired with no event


def test_area_state_carries_stage_and_countdown() -> None:
    entry = ActiveArea(175, "a1", "update", "missiles", 1_700_000_000.0, 90, 12)
    state = area_state(entry)
    assert (state.stage, state.status, state.alert_id, state.seq) == ("alert", "actual", "a1", 12)
    assert state.shelter_until_unix_s == 1_700_000_090.0
    assert state.since == "2023-11-14T22:13:20.000+00:00"
    assert state.shelter_until == "2023-11-14T22:14:50.000+00:00"


@pytest.mark.services
async def test_events_reach_all_and_area_topics_with_qos1(tmp_path) -> None:
    _need_broker()
    channel = Channel(tmp_path, prefix=_prefix())
    topics = channel.topics
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe([(topics.events, 1), (f"{topics.prefix}/alerts/+", 1)])
        await channel.start()
        stored = await channel.write(
            _event(1, (101, 102)), _event(2, (102,)), _event(3, (103,), "ended", alert_id="m1")
        )
        got: dict[str, list[int]] = {}
        async with asyncio.timeout(10):
            async for message in sub.messages:
                got.setdefault(str(message.topic), []).append(json.loads(message.payload)["seq"])
                if sum(map(len, got.values())) == 3 + 4:
                    break
        await channel.stop()
    seqs = [e.seq for e in stored]
    assert got[topics.events] == seqs
    assert got[topics.alerts(102)] == seqs[:2]
    assert got[topics.alerts(101)] == seqs[:1] and got[topics.alerts(103)] == seqs[2:]
    assert channel.sent == seqs


@pytest.mark.services
async def test_retained_state_of_every_alerted_area_mid_alert_and_gone_after_its_end(
    tmp_path,
) -> None:
    """Acceptance: a client connecting mid-alert is handed the state of every alerted area at
    once; each state is gone after its area's end; a restart keeps them right; a state the
    broker kept from another log is deleted."""
    _need_broker()
    channel = Channel(tmp_path, prefix=_prefix())
    topics = channel.topics
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topics.state(999), b'{"stale": true}', qos=1, retain=True)
    await channel.start()
    assert await channel.states() == {}  # the stale state went at connect
    t = time.time()
    s1 = (301, 302, 303)
    first = await channel.write(_event(1, s1, "pre_alert", alert_id="s1", t=t, shelter_s=90))
    second, *_ = await channel.write(
        _event(2, s1[:2], "alert", alert_id="s1", t=t, shelter_s=90),
        _event(3, (304,), "update", alert_id="s1", t=t, shelter_s=90),
        _event(4, (305,), "alert", alert_id="s2", t=t, shelter_s=15),
    )
    mid = await channel.states()
    assert sorted(mid) == [301, 302, 303, 304, 305]
    stages = [mid[a]["stage"] for a in sorted(mid)]
    assert stages == ["alert", "alert", "pre_alert", "alert", "alert"]
    assert {mid[a]["alert_id"] for a in s1} == {"s1"} and mid[305]["alert_id"] == "s2"
    # The countdown runs from the alert (a pre-alert's areas: from the pre-alert).
    assert mid[301]["since_unix_s"] == second.issued_at_unix_s
    assert mid[303]["since_unix_s"] == first[0].issued_at_unix_s
    assert mid[301]["shelter_until_unix_s"] == mid[301]["since_unix_s"] + 90
    assert mid[305]["shelter_s"] == 15 and mid[305]["status"] == "actual"
    # A restart mid-alert: offline while away, the same states after.
    await channel.stop()
    assert (await _retained(topics.status))[topics.status] == b"offline"
    await channel.start()
    assert await channel.states() == mid
    await channel.write(_event(5, (301,), "ended", alert_id="s1", t=t))
    assert sorted(await channel.states()) == [302, 303, 304, 305]
    await channel.write(_event(6, (), "ended", alert_id="s1", t=t))
    assert sorted(await channel.states()) == [305]
    await channel.write(_event(7, (305,), "cancelled", alert_id="s2", t=t))
    assert await channel.states() == {}
    await channel.stop()
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topics.status, b"", qos=1, retain=True)


@pytest.mark.services
@pytest.mark.parametrize("exercises", [False, True])
async def test_an_exercise_is_published_only_when_told_and_its_position_passes(
    tmp_path, exercises
) -> None:
    _need_broker()
    channel = Channel(tmp_path, prefix=_prefix(), exercises=exercises)
    topics = channel.topics
    drill = msgspec.structs.replace(_event(1, (201,), t=time.time()), status="exercise")
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe(topics.events, qos=1)
        await channel.start()
        # the exercise last: a skipped event must still move the durable position
        stored = channel.store.append(
            [_event(2, (202,)), _event(3, (202,), "cancelled", alert_id="m2"), drill]
        )
        channel.follower.poll_once()
        got: list[int] = []
        want = 3 if exercises else 2
        async with asyncio.timeout(10):
            async for message in sub.messages:
                got.append(json.loads(message.payload)["seq"])
                if len(got) == want:
                    break
            while len(channel.sent) < want:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # time to pass the skipped exercise
        states = await channel.states()
        await channel.stop()
    seqs = [e.seq for e in stored]
    assert got == (seqs if exercises else seqs[:2]) and channel.sent == got
    assert channel.store.channel_position("mqtt", 0) == seqs[-1]
    assert list(states) == ([201] if exercises else [])
    if exercises:
        assert states[201]["status"] == "exercise"
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.publish(topics.state(201), b"", qos=1, retain=True)
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topics.status, b"", qos=1, retain=True)


def _render(template: str, payload: bytes) -> str:
    """A Home Assistant MQTT template on a payload (its variables: ``value``, ``value_json``)."""
    value = payload.decode()
    try:
        value_json = json.loads(value)
    except ValueError:
        value_json = jinja2.Undefined(name="value_json")
    return jinja2.Environment().from_string(template).render(value=value, value_json=value_json)


def test_the_schema_check_catches_what_the_docs_forbid() -> None:
    good = discovery_config(Topics("redcolor"), 175, "Tel Aviv")
    assert ha_schema.check("homeassistant/binary_sensor/redcolor/area_175/config", good) == []
    bad = {
        **good,
        "device_class": "siren",
        "qos": 3,
        "stat_topic": "x",
        "availability": [{"topic": "a"}],
    }
    del bad["state_topic"], bad["unique_id"]
    problems = ha_schema.check("homeassistant/binary_sensor/red color/175/config", bad)
    for text in (
        "discovery topic",
        "stat_topic: not a documented key",
        "state_topic: required",
        "availability and availability_topic",
        "device_class 'siren'",
        "qos 3",
        "device: works only when unique_id is set",
    ):
        assert any(text in p for p in problems), (text, problems)


@pytest.mark.services
async def test_home_assistant_discovery_validates_and_follows_the_list(tmp_path) -> None:
    """Acceptance: each listed area's discovery config is retained and valid by Home
    Assistant's documented schema; its templates read the retained state as a safety sensor
    (on for a real alert, off once the state is deleted or for a drill); an area taken off
    the list loses its config at the next start."""
    _need_broker()
    prefix = _prefix()
    channel = Channel(tmp_path, prefix=prefix, ha_areas=[(401, "Area A"), (402, "Area B")])
    topics = channel.topics
    await channel.start()
    configs = await _retained(topics.discoveries)
    assert sorted(configs) == [topics.discovery(401), topics.discovery(402)]
    for topic, payload in configs.items():
        assert ha_schema.check(topic, json.loads(payload)) == [], topic
    config = json.loads(configs[topics.discovery(401)])
    assert config["device_class"] == "safety" and config["name"] == "Red alert Area A"
    assert config["state_topic"] == config["json_attributes_topic"] == topics.state(401)
    assert config["availability_topic"] == topics.status
    assert config["unique_id"] != json.loads(configs[topics.discovery(402)])["unique_id"]
    await channel.write(_event(1, (401,), "alert", alert_id="h1", t=time.time(), shelter_s=30))
    state = (await _retained(topics.state(401)))[topics.state(401)]
    assert _render(config["value_template"], state) == config["payload_on"]
    attributes = json.loads(_render(config["json_attributes_template"], state))
    assert attributes["stage"] == "alert" and attributes["shelter_s"] == 30
    assert attributes["shelter_until_unix_s"] == attributes["since_unix_s"] + 30
    drill = msgspec.json.encode({**json.loads(state), "status": "exercise"})
    assert _render(config["value_template"], drill) == config["payload_off"]
    await channel.write(_event(2, (401,), "ended", alert_id="h1", t=time.time()))
    assert await _retained(topics.state(401)) == {}
    # What Home Assistant receives when the state is deleted: an empty payload.
    assert _render(config["value_template"], b"") == config["payload_off"]
    assert json.loads(_render(config["json_attributes_template"], b"")) == {}
    await channel.stop()
    await channel.start(ha_areas=[(401, "Area A")])
    assert sorted(await _retained(topics.discoveries)) == [topics.discovery(401)]
    await channel.stop()
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for topic in (topics.discovery(401), topics.status):
            await client.publish(topic, b"", qos=1, retain=True)
