"""Scenario files (TOML, DESIGN.md "Scenario files"): loading and validation.

Every problem is a :class:`~redcolor.errors.ScenarioError` whose message names the file, the
field (``salvo[2].launch.lat``) and what was expected; unknown fields are errors too. Built-in
scenarios live in ``redcolor/sim/scenarios/*.toml`` and are found by name.

Fields (beyond the DESIGN.md example; defaults in brackets)
-----------------------------------------------------------
top level
    ``name`` [file stem], ``description`` [""], ``start`` (ISO 8601; UTC if no offset),
    ``seed`` [0], ``ground_alt_m`` [0], ``tail_s`` (scan on after the last impact) [10],
    ``duration_s`` (scan at least this long after ``start``) [none]. With no ``[[salvo]]`` (a
    run of clutter alone, to count false alerts) ``duration_s`` and ``[origin]`` are required.
    ``[origin] lat, lon`` (ENU frame origin) [mean of the target centres],
    ``[wind] speed_m_s, from_deg`` (constant; not corrected for by the aim) [calm].
``[real_alerts]`` (optional: what the real alert system did in the event a scenario models)
    ``file`` (a CSV in ``redcolor/data/real_alerts/``, the real feed's history columns),
    ``edition`` (the area edition its names are in), ``time_zone`` (of its times, IANA),
    ``source`` (where it was published).
``[[radar]]``
    the :class:`redcolor.model.SensorRegistration` fields (``alt_m`` must be at least
    ``ground_alt_m``; ``min_elevation_deg`` [0], ``range_rate_sigma_m_s`` [none]) and
    ``phase_s`` (first scan after ``start``) [random in one period].
``[[salvo]]``
    ``projectile``, ``count``, ``at_s`` [0], ``over_s`` [0], ``launch``/``target``
    ``{lat, lon, radius_m [0]}``; ``trajectory`` ("low"/"high"), or ``apogee_m`` (above sea
    level) or ``flight_time_s`` to pick the nearer branch [catalogue default]; drones and
    cruise missiles only: ``speed_m_s`` (10-400) [uniform in the catalogue's cruise speeds]
    and ``[[salvo.waypoints]] lat, lon, alt_m`` [cruise height]; a drone salvo without
    ``target`` dives onto its last waypoint.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from redcolor.errors import NotFoundError, ScenarioError
from redcolor.model import SensorRegistration
from redcolor.physics.catalogue import CATALOGUE, Branch
from redcolor.sensors.registry import FIELD_BOUNDS

_MISSING: Any = object()


@dataclass(frozen=True)
class Place:
    """A disc on the ground: centre (degrees) and radius (metres)."""

    lat_deg: float
    lon_deg: float
    radius_m: float = 0.0


@dataclass(frozen=True)
class Waypoint:
    """A drone waypoint; ``alt_m`` above sea level, or None for the cruise height."""

    lat_deg: float
    lon_deg: float
    alt_m: float | None = None


@dataclass(frozen=True)
class SalvoSpec:
    """One ``[[salvo]]``: ``count`` rounds of one projectile launched over ``over_s`` seconds."""

    projectile: str
    count: int
    at_s: float
    over_s: float
    launch: Place
    target: Place
    trajectory: Branch | None = None
    apogee_m: float | None = None
    flight_time_s: float | None = None
    speed_m_s: float | None = None
    waypoints: tuple[Waypoint, ...] = ()


@dataclass(frozen=True)
class RadarSpec:
    """One ``[[radar]]``: its registration plus the offset of its first scan after the start."""

    registration: SensorRegistration
    phase_s: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    ``origin`` is the (lat, lon) of the local ENU frame: the ``origin`` table if given, else the
    mean of the target centres. ``wind_from_deg`` is where the wind blows from (clockwise from
    north); the wind is constant in space and time.
    """

    name: str
    description: str
    source: str
    start_unix_s: float
    seed: int
    ground_alt_m: float
    origin: tuple[float, float]
    radars: tuple[RadarSpec, ...]
    salvos: tuple[SalvoSpec, ...]
    wind_speed_m_s: float = 0.0
    wind_from_deg: float = 0.0
    tail_s: float = 10.0
    duration_s: float | None = None
    real_alerts: RealAlertsSpec | None = None


@dataclass(frozen=True)
class RealAlertsSpec:
    """``[real_alerts]``: the real system's alerts in the event the scenario models (a file of
    the real feed's history rows), to set the simulated warnings beside."""

    file: str
    edition: str
    time_zone: str
    source: str


class _Table:
    """Reads typed fields out of one TOML table, naming ``file: where.key`` in every error."""

    def __init__(self, src: str, where: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(f"{src}: {where}: expected a table, got {_show(data)}")
        self.src, self.where, self.data = src, where, data
        self.used: set[str] = set()

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, expected: str, got: Any = _MISSING) -> ScenarioError:
        tail = "" if got is _MISSING else f", got {_show(got)}"
        return ScenarioError(f"{self.src}: {self._path(key)}: expected {expected}{tail}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise ScenarioError(f"{self.src}: {self._path(key)}: missing required field")
            return default
        return self.data[key]

    def num(
        self, key: str, default: Any = _MISSING, lo: float = -math.inf, hi: float = math.inf
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not lo <= value <= hi:
            raise self.fail(key, f"a number in [{lo:g}, {hi:g}]", value)
        return float(value)

    def integer(self, key: str, default: Any = _MISSING, lo: int = 0, hi: int = 10**9) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self.fail(key, f"an integer in [{lo}, {hi}]", value)
        return value

    def text(self, key: str, default: Any = _MISSING, choices: Any = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string", value)
        if choices is not None and value not in choices:
            raise self.fail(key, f"one of {', '.join(sorted(choices))}", value)
        return value

    def sub(self, key: str) -> _Table:
        return _Table(self.src, self._path(key), self.raw(key))

    def optional_sub(self, key: str) -> _Table | None:
        value = self.raw(key, None)
        return None if value is None else _Table(self.src, self._path(key), value)

    def array(self, key: str) -> list[_Table]:
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "an array of tables", value)
        return [_Table(self.src, f"{self._path(key)}[{i}]", v) for i, v in enumerate(value)]

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise ScenarioError(f"{self.src}: {self._path(extra[0])}: unknown field")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _place(t: _Table, radius: bool = True) -> Place:
    lat, lon = t.num("lat", lo=-90.0, hi=90.0), t.num("lon", lo=-180.0, hi=180.0)
    r = t.num("radius_m", 0.0, lo=0.0, hi=200_000.0) if radius else 0.0
    t.done()
    return Place(lat, lon, r)


def _start(t: _Table) -> float:
    value = t.raw("start")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise t.fail("start", "an ISO 8601 time like 2024-01-06T06:00:00Z", value) from None
    if not isinstance(value, datetime):
        raise t.fail("start", "an ISO 8601 time like 2024-01-06T06:00:00Z", value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _radar(t: _Table, ground_alt_m: float) -> RadarSpec:
    def num(key: str, default: Any = _MISSING) -> Any:
        lo, hi = FIELD_BOUNDS[key]  # the sensor registry's bounds: one definition
        return t.num(key, default, lo=lo, hi=hi)

    alt = num("alt_m")
    if alt < ground_alt_m:
        raise t.fail("alt_m", f"at least the ground altitude {ground_alt_m:g} m", alt)
    reg = SensorRegistration(
        id=t.text("id"),
        lat=num("lat"),
        lon=num("lon"),
        alt_m=alt,
        scan_period_s=num("scan_period_s"),
        range_sigma_m=num("range_sigma_m"),
        angle_sigma_mrad=num("angle_sigma_mrad"),
        detection_probability=num("detection_probability"),
        false_alarms_per_scan=num("false_alarms_per_scan", 0.0),
        max_range_km=num("max_range_km"),
        min_elevation_deg=num("min_elevation_deg", 0.0),
        range_rate_sigma_m_s=num("range_rate_sigma_m_s", None),
    )
    phase = t.num("phase_s", None, lo=0.0, hi=reg.scan_period_s)
    t.done()
    return RadarSpec(reg, phase)


def _salvo(t: _Table) -> SalvoSpec:
    name = t.text("projectile", choices=CATALOGUE)
    waypoints = []
    for w in t.array("waypoints"):
        lat, lon = w.num("lat", lo=-90.0, hi=90.0), w.num("lon", lo=-180.0, hi=180.0)
        waypoints.append(Waypoint(lat, lon, w.num("alt_m", None, lo=-500.0, hi=20_000.0)))
        w.done()
    drone = CATALOGUE[name].kind == "drone"
    if waypoints and not drone:
        raise t.fail("waypoints", f"no waypoints: {name} is not a drone")
    launch = _place(t.sub("launch"))
    if drone and "target" not in t.data and waypoints:
        # a drone without a target ends at its last waypoint
        last = waypoints.pop()
        target = Place(last.lat_deg, last.lon_deg)
    else:
        target = _place(t.sub("target"))
    spec = SalvoSpec(
        projectile=name,
        count=t.integer("count", lo=1, hi=100_000),
        at_s=t.num("at_s", 0.0, lo=0.0, hi=86_400.0),
        over_s=t.num("over_s", 0.0, lo=0.0, hi=86_400.0),
        launch=launch,
        target=target,
        trajectory=t.text("trajectory", None, choices={"low", "high"}),
        apogee_m=t.num("apogee_m", None, lo=1.0, hi=2_000_000.0),
        flight_time_s=t.num("flight_time_s", None, lo=1.0, hi=7_200.0),
        speed_m_s=t.num("speed_m_s", None, lo=10.0, hi=400.0) if drone else None,
        waypoints=tuple(waypoints),
    )
    t.done()
    return spec


def _real_alerts(t: _Table | None) -> RealAlertsSpec | None:
    if t is None:
        return None
    spec = RealAlertsSpec(
        file=t.text("file"),
        edition=t.text("edition"),
        time_zone=t.text("time_zone"),
        source=t.text("source"),
    )
    t.done()
    return spec


def parse_scenario(data: dict[str, Any], src: str) -> Scenario:
    """Validate a decoded TOML document; ``src`` names it in errors."""
    top = _Table(src, "", data)
    ground = top.num("ground_alt_m", 0.0, lo=-500.0, hi=9_000.0)
    radars = tuple(_radar(r, ground) for r in top.array("radar"))
    ids = [r.registration.id for r in radars]
    if len(set(ids)) != len(ids):
        raise top.fail("radar", "distinct radar ids", sorted(i for i in ids if ids.count(i) > 1))
    salvos = tuple(_salvo(s) for s in top.array("salvo"))
    duration = top.num("duration_s", None, lo=1.0, hi=86_400.0)
    origin_t = top.optional_sub("origin")
    if not salvos and (duration is None or origin_t is None):
        raise ScenarioError(
            f"{src}: salvo: expected at least one [[salvo]], or duration_s and [origin] for a "
            "run without launches"
        )
    if origin_t is None:
        lat = sum(s.target.lat_deg for s in salvos) / len(salvos)
        lon = sum(s.target.lon_deg for s in salvos) / len(salvos)
    else:
        o = _place(origin_t, radius=False)
        lat, lon = o.lat_deg, o.lon_deg
    wind = top.optional_sub("wind")
    wind_speed, wind_from = 0.0, 0.0
    if wind is not None:
        wind_speed = wind.num("speed_m_s", lo=0.0, hi=60.0)
        wind_from = wind.num("from_deg", lo=0.0, hi=360.0)
        wind.done()
    scenario = Scenario(
        name=top.text("name", Path(src).stem),
        description=top.text("description", ""),
        source=src,
        start_unix_s=_start(top),
        seed=top.integer("seed", 0, lo=0, hi=2**63 - 1),
        ground_alt_m=ground,
        origin=(lat, lon),
        radars=radars,
        salvos=salvos,
        wind_speed_m_s=wind_speed,
        wind_from_deg=wind_from,
        tail_s=top.num("tail_s", 10.0, lo=0.0, hi=3_600.0),
        duration_s=duration,
        real_alerts=_real_alerts(top.optional_sub("real_alerts")),
    )
    top.done()
    return scenario


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with redcolor, sorted."""
    folder = resources.files("redcolor.sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name or a TOML file by path, validated.

    Raises
    ------
    NotFoundError
        Neither a built-in name nor an existing file.
    ScenarioError
        The file is not valid TOML or a field is wrong.
    """
    text_name = str(name_or_path)
    if text_name in builtin_names():
        res = resources.files("redcolor.sim") / "scenarios" / f"{text_name}.toml"
        raw, src = res.read_text(encoding="utf-8"), f"{text_name}.toml"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise NotFoundError(
                f"no scenario {text_name!r}: not a file and not one of {', '.join(builtin_names())}"
            )
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read: {exc}") from None
        src = str(path)
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{src}: not valid TOML: {exc}") from None
    return parse_scenario(data, src)
