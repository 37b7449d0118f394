"""The sensor registry: TOML in, checked :class:`Registry` out, and back to TOML unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from redcolor.errors import InputError
from redcolor.sensors.registry import (
    Registry,
    SensorConfig,
    dump_registry,
    load_registry,
    parse_address,
    parse_registry,
)

GOOD = """
[[sensor]]
id = "north"
sac = 1
sic = 7
sources = ["10.1.2.3", "10.9.0.0/16", "fe80::1"]
lat = 32.1
lon = 34.8
alt_m = 40
scan_period_s = 1.0
range_sigma_m = 30.0
angle_sigma_mrad = 1.5
detection_probability = 0.95
false_alarms_per_scan = 0.5
max_range_km = 600.0
range_rate_sigma_m_s = 2.0

[[sensor]]
id = "south.sim"
sac = 1
sic = 8
sources = ["127.0.0.1", "::1"]
clock_offset_s = -2.5
simulated = true
lat = 31.2
lon = 34.9
alt_m = 300.0
scan_period_s = 4.0
range_sigma_m = 50.0
angle_sigma_mrad = 2.0
detection_probability = 0.9
false_alarms_per_scan = 0.0
max_range_km = 1500.0
min_elevation_deg = 1.0
"""


def test_parse_reads_every_field_and_defaults() -> None:
    reg = parse_registry(GOOD, "s.toml")
    north, south = reg.sensors
    assert (north.id, north.sac, north.sic) == ("north", 1, 7)
    assert north.alt_m == 40.0 and isinstance(north.alt_m, float)
    assert north.clock_offset_s == 0.0 and north.simulated is False
    assert north.min_elevation_deg == 0.0 and north.range_rate_sigma_m_s == 2.0
    assert south.simulated is True and south.clock_offset_s == -2.5
    assert south.range_rate_sigma_m_s is None
    assert reg.by_sac_sic(1, 8) is south and reg.by_sac_sic(1, 9) is None
    assert reg.by_id("north") is north and reg.by_id("x") is None


def test_dump_then_parse_is_the_same_registry(tmp_path: Path) -> None:
    reg = parse_registry(GOOD, "s.toml")
    text = dump_registry(reg)
    assert parse_registry(text, "again") == reg
    path = tmp_path / "sensors.toml"
    path.write_text(text, encoding="utf-8")
    assert load_registry(path) == reg


def test_dump_keeps_awkward_values_exactly() -> None:
    cfg = parse_registry(GOOD, "s").sensors[0]
    odd = SensorConfig(
        **{
            **{f: getattr(cfg, f) for f in SensorConfig.__struct_fields__},
            "id": "r-1.x:y_z",
            "lat": 0.1 + 0.2,
            "lon": -1e-9,
            "clock_offset_s": 1 / 3,
            "sources": ["2001:db8::/32"],
        }
    )
    reg = Registry((odd,))
    assert parse_registry(dump_registry(reg), "odd") == reg


def test_source_addresses_and_networks() -> None:
    reg = parse_registry(GOOD, "s")
    north, south = reg.sensors
    assert reg.allows(north, "10.1.2.3") and not reg.allows(north, "10.1.2.4")
    assert reg.allows(north, "10.9.200.1") and reg.allows(north, "::ffff:10.9.0.5")
    assert reg.allows(north, "fe80::1%eth0")
    assert not reg.allows(north, "not an address") and not reg.allows(north, "")
    assert reg.allows(south, "127.0.0.1") and reg.allows(south, "::1")
    assert reg.owner_of("10.9.1.1") is north and reg.owner_of("8.8.8.8") is None
    assert parse_address("::ffff:1.2.3.4") == parse_address("1.2.3.4")


def _one(**changes: object) -> str:
    """The first sensor of GOOD alone, with some lines replaced (None deletes the field)."""
    lines = GOOD.split("[[sensor]]")[1].strip().splitlines()
    out = ["[[sensor]]"]
    for line in lines:
        key = line.split("=")[0].strip()
        if key in changes:
            if changes[key] is not None:
                out.append(f"{key} = {changes.pop(key)}")
            else:
                changes.pop(key)
        else:
            out.append(line)
    out += [f"{k} = {v}" for k, v in changes.items() if v is not None]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[sensor]\nid=1", "s.toml: not valid TOML"),
        ("", "s.toml: expected one or more [[sensor]] tables"),
        ("sensor = 3", "s.toml: expected one or more [[sensor]] tables"),
        ("name = 'x'\n" + _one(), "s.toml: name: unknown top-level field"),
        (_one(sac=256), "s.toml: sensor[0] 'north': sac: expected a number in [0, 255], got 256"),
        (_one(sic=-1), "sensor[0] 'north': sic: expected a number in [0, 255], got -1"),
        (_one(sac="'1'"), "sensor[0] 'north': sac: Expected `int`, got `str`"),
        (_one(sac="true"), "sensor[0] 'north': sac: Expected `int`, got `bool`"),
        (_one(lat=91), "sensor[0] 'north': lat: expected a number in [-90, 90], got 91.0"),
        (_one(lat="nan"), "sensor[0] 'north': lat: expected a number in [-90, 90], got nan"),
        (_one(scan_period_s=0), "scan_period_s: expected a number in [0.05, 60], got 0.0"),
        (_one(detection_probability=1.5), "detection_probability: expected a number in [0, 1]"),
        (_one(range_rate_sigma_m_s=0), "range_rate_sigma_m_s: expected a number in [0.001"),
        (_one(clock_offset_s=1e6), "clock_offset_s: expected a number in [-86400, 86400]"),
        (_one(simulated=1), "sensor[0] 'north': simulated: Expected `bool`, got `int`"),
        (_one(sac=None), "sensor[0] 'north': Object missing required field `sac`"),
        (_one(colour="'red'"), "sensor[0] 'north': Object contains unknown field `colour`"),
        (_one(id="''"), "sensor[0] '': id: expected 1-64 letters"),
        (_one(id="'a b'"), "sensor[0] 'a b': id: expected 1-64 letters"),
        (_one(id="'unregistered'"), "id: expected 1-64 letters, digits or . _ : - (not"),
        (_one(sources="[]"), "sensor[0] 'north': sources: expected at least one address"),
        (_one(sources="['10.0.0.300']"), "sensor[0] 'north': sources[0]: '10.0.0.300' does not"),
        (_one(sources="['10.0.0.1/24']"), "sources[0]: 10.0.0.1/24 has host bits set"),
        (_one(sources="['localhost']"), "sources[0]: 'localhost' does not appear to be"),
        (_one(sources="'10.0.0.1'"), "sensor[0] 'north': sources: Expected `array`, got `str`"),
        (_one() + _one(sic=9), "s.toml: sensor[1] 'north': id: 'north' is registered twice"),
        (
            _one() + _one(id="'other'"),
            "s.toml: sensor[1] 'other': sac/sic: (1, 7) is already 'north''s",
        ),
        ("[[sensor]]\n", "s.toml: sensor[0]: Object missing required field"),
    ],
)
def test_bad_registries_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_registry(text, "s.toml")
    line = str(info.value)
    assert message in line, line
    assert "\n" not in line and line.startswith("s.toml: ")


def test_load_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(InputError, match=r"nope\.toml: cannot read the sensor registry"):
        load_registry(missing)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match=r"bin\.toml: cannot read"):
        load_registry(binary)


def test_a_registry_built_in_code_is_checked_too() -> None:
    cfg = parse_registry(GOOD, "s").sensors[0]
    with pytest.raises(InputError, match=r"sensor\[1\] 'north': id: 'north' is registered twice"):
        Registry((cfg, cfg))
