"""Home Assistant's documented schema for an MQTT binary sensor discovered over MQTT, as a check.

Written from Home Assistant's documentation, not its code:

- "MQTT binary sensor", https://www.home-assistant.io/integrations/binary_sensor.mqtt/
  ("Configuration Variables": the keys, their types, ``state_topic`` required, ``availability``
  not together with ``availability_topic``; ``device`` "only works through MQTT discovery and
  when unique_id is set", "at least one of identifiers or connections must be present");
- "MQTT Discovery", https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery (the topic
  ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config``, node and object ids of
  ``[a-zA-Z0-9_-]``, "the payload must be a JSON dictionary", ``discovery_prefix`` default
  ``homeassistant``, an empty payload removes the entity);
- "Binary sensor", https://www.home-assistant.io/integrations/binary_sensor/#device-class (the
  device classes).

``check`` returns the problems found (none: valid), so a test can show them all at once.
"""

from __future__ import annotations

import re
from typing import Any

DISCOVERY_TOPIC = re.compile(
    r"(?P<prefix>[^/+#]+)/(?P<component>[a-z_]+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?"
    r"(?P<object>[a-zA-Z0-9_-]+)/config"
)
STRING, TEMPLATE, BOOL, INT = str, str, bool, int
KEYS: dict[str, Any] = {
    "availability": list,
    "availability_mode": STRING,
    "availability_template": TEMPLATE,
    "availability_topic": STRING,
    "default_entity_id": STRING,
    "device": dict,
    "device_class": STRING,
    "enabled_by_default": BOOL,
    "encoding": STRING,
    "entity_category": STRING,
    "entity_picture": STRING,
    "expire_after": INT,
    "force_update": BOOL,
    "icon": STRING,
    "json_attributes_template": TEMPLATE,
    "json_attributes_topic": STRING,
    "name": (STRING, type(None)),
    "object_id": STRING,
    "off_delay": INT,
    "payload_available": STRING,
    "payload_not_available": STRING,
    "payload_off": STRING,
    "payload_on": STRING,
    "platform": STRING,
    "qos": INT,
    "state_topic": STRING,
    "unique_id": STRING,
    "value_template": TEMPLATE,
}
REQUIRED = ("state_topic",)
DEVICE_KEYS: dict[str, Any] = {
    "configuration_url": STRING,
    "connections": list,
    "hw_version": STRING,
    "identifiers": (list, STRING),
    "manufacturer": STRING,
    "model": STRING,
    "model_id": STRING,
    "name": STRING,
    "serial_number": STRING,
    "suggested_area": STRING,
    "sw_version": STRING,
    "via_device": STRING,
}
AVAILABILITY_KEYS: dict[str, Any] = {
    "payload_available": STRING,
    "payload_not_available": STRING,
    "topic": STRING,
    "value_template": TEMPLATE,
}
DEVICE_CLASSES = frozenset(
    [
        "battery",
        "battery_charging",
        "carbon_monoxide",
        "cold",
        "connectivity",
        "door",
        "garage_door",
        "gas",
        "heat",
        "light",
        "lock",
        "moisture",
        "motion",
        "moving",
        "occupancy",
        "opening",
        "plug",
        "power",
        "presence",
        "problem",
        "running",
        "safety",
        "smoke",
        "sound",
        "tamper",
        "update",
        "vibration",
        "window",
    ]
)
AVAILABILITY_MODES = frozenset({"all", "any", "latest"})
ENTITY_CATEGORIES = frozenset({"config", "diagnostic"})


def _typed(where: str, mapping: dict[str, Any], keys: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in mapping.items():
        if key not in keys:
            problems.append(f"{where}{key}: not a documented key")
        elif isinstance(value, bool) and keys[key] is INT:
            problems.append(f"{where}{key}: expected an integer, got a boolean")
        elif not isinstance(value, keys[key]):
            problems.append(f"{where}{key}: expected {keys[key]}, got {type(value).__name__}")
    return problems


def _topic_name(where: str, topic: Any) -> list[str]:
    """A topic Home Assistant subscribes to by name: non-empty, no wildcard, no NUL."""
    if not isinstance(topic, str) or not topic or any(c in topic for c in "+#\0"):
        return [f"{where}: {topic!r} is not an MQTT topic name"]
    return []


def check(topic: str, config: Any, *, discovery_prefix: str = "homeassistant") -> list[str]:
    """Problems of one ``binary_sensor`` discovery message (``topic``, decoded JSON payload)."""
    problems: list[str] = []
    match = DISCOVERY_TOPIC.fullmatch(topic)
    if match is None:
        problems.append(f"discovery topic {topic!r}: not <prefix>/<component>/[<node>/]<id>/config")
    elif match["prefix"] != discovery_prefix or match["component"] != "binary_sensor":
        problems.append(f"discovery topic {topic!r} is not {discovery_prefix}/binary_sensor/...")
    if not isinstance(config, dict):
        return [*problems, "payload: not a JSON dictionary"]
    problems += _typed("", config, KEYS)
    problems += [f"{key}: required" for key in REQUIRED if key not in config]
    for key in ("state_topic", "json_attributes_topic", "availability_topic"):
        if key in config:
            problems += _topic_name(key, config[key])
    if "availability" in config and "availability_topic" in config:
        problems.append("availability and availability_topic must not be used together")
    for i, item in enumerate(config.get("availability") or []):
        if not isinstance(item, dict) or "topic" not in item:
            problems.append(f"availability[{i}]: a map with a topic")
        else:
            problems += _typed(f"availability[{i}].", item, AVAILABILITY_KEYS)
    if config.get("device_class") not in (None, *DEVICE_CLASSES):
        problems.append(f"device_class {config['device_class']!r}: not a binary sensor class")
    if config.get("availability_mode") not in (None, *AVAILABILITY_MODES):
        problems.append(f"availability_mode {config['availability_mode']!r}: all, any or latest")
    if config.get("entity_category") not in (None, *ENTITY_CATEGORIES):
        problems.append(f"entity_category {config['entity_category']!r}: config or diagnostic")
    if config.get("qos") not in (None, 0, 1, 2):
        problems.append(f"qos {config['qos']!r}: 0, 1 or 2")
    device = config.get("device")
    if isinstance(device, dict):
        problems += _typed("device.", device, DEVICE_KEYS)
        if "unique_id" not in config:
            problems.append("device: works only when unique_id is set")
        if not device.get("identifiers") and not device.get("connections"):
            problems.append("device: at least one of identifiers or connections")
    return problems
