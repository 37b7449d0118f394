"""Leave the machine's shared Mosquitto as the tests found it.

The MQTT tests publish retained messages (area states, status, Home Assistant discovery) under
prefixes of their own, ``rctest/<random>``. Retained messages outlive the test on the broker the
machine runs (and that later sessions and CI runs use), so each module deletes what it retained:
an empty retained payload removes a retained message (MQTT 3.1.1 §3.3.1.3).
"""

from __future__ import annotations

import asyncio
import secrets

import aiomqtt

TEST_FILTERS = ("rctest/#", "homeassistant/binary_sensor/+/+/config")


async def clear_test_retained() -> int:
    """Delete every retained message under the tests' prefixes; how many there were."""
    marker = f"rctest-marker/{secrets.token_hex(6)}"
    topics: list[str] = []
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.subscribe([(f, 1) for f in TEST_FILTERS] + [(marker, 1)])
        await client.publish(marker, b"x", qos=1)
        async with asyncio.timeout(10):
            async for message in client.messages:
                topic = str(message.topic)
                if topic == marker:
                    break
                node = topic.split("/")[2] if topic.startswith("homeassistant/") else ""
                if message.retain and (topic.startswith("rctest/") or node.startswith("rctest_")):
                    topics.append(topic)
        for topic in topics:
            await client.publish(topic, b"", qos=1, retain=True)
    return len(topics)
