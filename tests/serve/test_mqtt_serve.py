"""`redcolor serve --mqtt --mqtt-prefix --mqtt-ha-areas` end to end on the real Mosquitto: the
server process announces the listed areas to Home Assistant, retains the state of an alerted
area, and when it dies without a word the broker says so for it (the will)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.channels.mqtt import Topics
from redcolor.model import AlertArea, AlertEvent

from ..channels.mqtt_broker import clear_test_retained


@pytest.fixture(autouse=True, scope="module")
def _leave_the_broker_clean():
    """Retained test messages would outlive this module on the machine's shared broker."""
    yield
    with contextlib.suppress(OSError, aiomqtt.MqttError):  # no broker: the tests said so
        asyncio.run(clear_test_retained())


pytestmark = pytest.mark.services
AREA = 1502  # an area of the current edition (see tests/serve/test_map.py)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _retained(topic: str, want, timeout_s: float = 15.0) -> bytes | None:
    """The retained payload of ``topic`` once ``want(payload)`` holds (None: nothing retained),
    read by a fresh client each time as a home automation client connecting then would."""
    deadline = time.monotonic() + timeout_s
    while True:
        marker = f"rctest-marker/{secrets.token_hex(6)}"
        payload = None
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            await client.subscribe([(topic, 1), (marker, 1)])
            await client.publish(marker, b"x", qos=1)
            async with asyncio.timeout(10):
                async for message in client.messages:
                    if str(message.topic) == marker:
                        break
                    payload = message.payload
        if want(payload):
            return payload
        assert time.monotonic() < deadline, f"{topic}: {payload!r}"
        await asyncio.sleep(0.1)


async def test_serve_announces_retains_and_leaves_a_will(tmp_path, areas) -> None:
    prefix = f"rctest/{secrets.token_hex(4)}"
    topics = Topics(prefix)
    db = tmp_path / "alerts.db"
    command = [
        *(str(Path(sys.executable).with_name("redcolor")), "serve", "--db", str(db)),
        *("--port", str(_free_port()), "--mqtt", "mqtt://127.0.0.1:1883"),
        *("--mqtt-prefix", prefix, "--mqtt-ha-areas", str(AREA)),
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await _retained(topics.status, lambda p: p == b"online")
        config = json.loads(await _retained(topics.discovery(AREA), bool))
        assert config["name"] == f"Red alert {areas.get(AREA).name_en}"
        assert config["state_topic"] == topics.state(AREA)
        with contextlib.closing(SQLiteEventStore(db)) as store:
            store.append(
                [
                    AlertEvent(
                        "serve-1",
                        0,
                        "missiles",
                        "alert",
                        (AlertArea(AREA, areas.get(AREA).shelter_s),),
                        time.time(),
                        None,
                        ("track:1",),
                        {"en": "shelter"},
                    )
                ]
            )
        state = json.loads(await _retained(topics.state(AREA), bool))
        assert (state["area_id"], state["alert_id"], state["stage"]) == (AREA, "serve-1", "alert")
        server.send_signal(signal.SIGKILL)  # no DISCONNECT: the broker publishes the will
        server.wait(10)
        await _retained(topics.status, lambda p: p == b"offline")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            for topic in (topics.status, topics.discovery(AREA), topics.state(AREA)):
                await client.publish(topic, b"", qos=1, retain=True)
