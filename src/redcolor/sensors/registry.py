"""The sensor registry: which radars may send, from where, with what pose and noise.

A TOML file of ``[[sensor]]`` tables, nothing else at the top level. Each table is one
:class:`SensorConfig`: the :class:`redcolor.model.SensorRegistration` fields (pose, scan period,
noise figures) plus the wire fields::

    [[sensor]]
    id = "north"
    sac = 1                       # ASTERIX System Area Code, 0..255
    sic = 7                       # ASTERIX System Identification Code, 0..255
    sources = ["10.1.2.3", "10.9.0.0/16", "fe80::1"]   # addresses it may send from
    clock_offset_s = 0.0          # added to its time of day [0]
    simulated = false             # SIM=1 reports are accepted only if true [false]
    lat = 32.1
    lon = 34.8
    alt_m = 40.0
    scan_period_s = 1.0
    range_sigma_m = 30.0
    angle_sigma_mrad = 1.5
    detection_probability = 0.95
    false_alarms_per_scan = 0.5
    max_range_km = 600.0
    min_elevation_deg = 0.0       # [0]
    range_rate_sigma_m_s = 2.0    # [none: the radar measures no Doppler]

Every problem is one :class:`~redcolor.errors.InputError` line naming the file, the sensor and
the field. A :class:`Registry` checks itself when built (in code too, e.g. by the simulator), so
no invalid registry exists: ids and (SAC, SIC) pairs are unique, every number is finite and in
the range of :data:`FIELD_BOUNDS`, every source is an IP address or a CIDR network (host bits
zero).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from redcolor.errors import InputError
from redcolor.model import SensorRegistration

UNREGISTERED = "unregistered"
"""The sensor name counts use for data no registered sensor owns; no sensor may take it."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SensorConfig(SensorRegistration, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One registry entry: a sensor's registration plus how it appears on the wire."""

    sac: int
    sic: int
    sources: list[str]
    clock_offset_s: float = 0.0
    simulated: bool = False


FIELD_BOUNDS: dict[str, tuple[float, float]] = {
    "sac": (0, 255),
    "sic": (0, 255),
    "lat": (-90.0, 90.0),
    "lon": (-180.0, 180.0),
    "alt_m": (-500.0, 9_000.0),
    "scan_period_s": (0.05, 60.0),
    "range_sigma_m": (0.01, 10_000.0),
    "angle_sigma_mrad": (0.001, 100.0),
    "detection_probability": (0.0, 1.0),
    "false_alarms_per_scan": (0.0, 10_000.0),
    "max_range_km": (0.1, 5_000.0),
    "min_elevation_deg": (-5.0, 60.0),
    "range_rate_sigma_m_s": (1e-3, 1_000.0),
    "clock_offset_s": (-86_400.0, 86_400.0),
}
"""Closed ranges of the numeric fields; a scenario file's ``[[radar]]`` tables are held to the
same (``sim/scenario.py``). The clock offset is at most a day either way."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""A sensor id: 1-64 characters, letters, digits and ``. _ : -`` (it becomes a metric label)."""


def _networks(cfg: SensorConfig, where: str) -> tuple[Network, ...]:
    if not cfg.sources:
        raise InputError(f"{where}: sources: expected at least one address or network")
    nets = []
    for i, text in enumerate(cfg.sources):
        try:
            nets.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise InputError(f"{where}: sources[{i}]: {exc}") from None
    return tuple(nets)


def _check(cfg: SensorConfig, where: str) -> None:
    if not _ID.fullmatch(cfg.id) or cfg.id == UNREGISTERED:
        raise InputError(
            f"{where}: id: expected 1-64 letters, digits or . _ : - (not {UNREGISTERED!r}),"
            f" got {cfg.id!r}"
        )
    for name, (lo, hi) in FIELD_BOUNDS.items():
        value = getattr(cfg, name)
        if value is None:
            continue
        if not (math.isfinite(value) and lo <= value <= hi):
            expected = f"a number in [{lo:g}, {hi:g}]"
            raise InputError(f"{where}: {name}: expected {expected}, got {value!r}")


@dataclass(frozen=True)
class Registry:
    """The registered sensors, checked; looked up by (SAC, SIC) and by source address."""

    sensors: tuple[SensorConfig, ...]
    _by_key: dict[tuple[int, int], SensorConfig] = field(init=False, repr=False, compare=False)
    _nets: dict[str, tuple[Network, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[tuple[int, int], SensorConfig] = {}
        nets: dict[str, tuple[Network, ...]] = {}
        for i, cfg in enumerate(self.sensors):
            where = f"sensor[{i}] {cfg.id!r}"
            _check(cfg, where)
            if cfg.id in nets:
                raise InputError(f"{where}: id: {cfg.id!r} is registered twice")
            key = (cfg.sac, cfg.sic)
            if key in by_key:
                raise InputError(
                    f"{where}: sac/sic: ({cfg.sac}, {cfg.sic}) is already {by_key[key].id!r}'s"
                )
            nets[cfg.id] = _networks(cfg, where)
            by_key[key] = cfg
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_nets", nets)

    def by_sac_sic(self, sac: int, sic: int) -> SensorConfig | None:
        """The sensor registered with this SAC/SIC, or None."""
        return self._by_key.get((sac, sic))

    def by_id(self, sensor_id: str) -> SensorConfig | None:
        """The sensor with this id, or None."""
        return next((s for s in self.sensors if s.id == sensor_id), None)

    def allows(self, cfg: SensorConfig, source_ip: str) -> bool:
        """Whether ``source_ip`` is one of ``cfg``'s sources (False for a malformed address).

        An IPv4-mapped IPv6 address (``::ffff:10.1.2.3``, what a dual-stack socket reports)
        counts as its IPv4 address; an IPv6 zone (``%eth0``) is ignored.
        """
        addr = parse_address(source_ip)
        return addr is not None and any(addr in net for net in self._nets[cfg.id])

    def owner_of(self, source_ip: str) -> SensorConfig | None:
        """The one sensor allowed to send from ``source_ip``, or None if none or several are."""
        owners = [s for s in self.sensors if self.allows(s, source_ip)]
        return owners[0] if len(owners) == 1 else None


@functools.lru_cache(maxsize=4_096)
def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address (IPv4-mapped IPv6 as IPv4, zone dropped), or None if ``text`` is not one
    (remembered for the last few thousand addresses: a sensor sends from the same few)."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


_AT = re.compile(r"^(?P<msg>.*) - at `\$\.(?P<field>[^`]*)`$")


def _convert(table: object, where: str) -> SensorConfig:
    try:
        return msgspec.convert(table, SensorConfig)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _AT.match(text)
        msg = f"{m['field']}: {m['msg']}" if m else text
        raise InputError(f"{where}: {msg}") from None


def parse_registry(text: str, source: str) -> Registry:
    """The registry in TOML ``text``; ``source`` names it in errors (a path, ``"<stdin>"``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"sensor"})
    if extra:
        raise InputError(f"{source}: {extra[0]}: unknown top-level field (only [[sensor]])")
    tables = data.get("sensor")
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{source}: expected one or more [[sensor]] tables")
    configs = []
    for i, table in enumerate(tables):
        name = table.get("id") if isinstance(table, dict) else None
        where = f"sensor[{i}]" + (f" {name!r}" if isinstance(name, str) else "")
        configs.append(_convert(table, f"{source}: {where}"))
    try:
        return Registry(tuple(configs))
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None


def load_registry(path: Path) -> Registry:
    """The registry in the TOML file at ``path`` (InputError in one line naming it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the sensor registry: {exc}") from None
    return parse_registry(text, str(path))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def dump_registry(registry: Registry) -> str:
    """The registry as TOML text that :func:`parse_registry` reads back equal."""
    blocks = []
    for cfg in registry.sensors:
        lines = ["[[sensor]]"]
        for name in SensorConfig.__struct_fields__:
            value = getattr(cfg, name)
            if value is not None:
                lines.append(f"{name} = {_toml_value(value)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
