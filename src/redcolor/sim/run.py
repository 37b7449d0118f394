"""Running a scenario: fly every salvo, then stream the radars' scans in time order.

``simulate(scenario)`` flies all projectiles up front (vectorised per salvo) and returns a
:class:`SimulationResult`; its ``scans`` are generated lazily, merged across radars in time
order, so a 3,000-round barrage never holds its measurement feed in memory.

Randomness: one ``numpy`` generator per salvo (``[seed, 1, i]``), per radar (``[seed, 2, j]``)
and for radar phases (``[seed, 3]``), so the same seed gives byte-identical output however the
output is consumed.

Frames: the ENU frame of :class:`redcolor.geo.frame.LocalFrame` at ``origin`` (the scenario's
origin at the ground altitude). Altitudes in the truth are the physics model's (metres above
the spherical sea level); latitudes and longitudes come from ``LocalFrame`` (WGS84).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np

from redcolor.errors import InputError, ScenarioError
from redcolor.geo.frame import LocalFrame
from redcolor.model import Scan
from redcolor.physics.ballistics import EarthModel, FlatTerrain, FloatArray
from redcolor.physics.catalogue import get_projectile
from redcolor.sim.flight import Trajectory
from redcolor.sim.radar import RadarModel
from redcolor.sim.salvo import IntArray, PolylineTrajectory, fly_ballistic, fly_drones
from redcolor.sim.scenario import Scenario


class TruthPoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A point of a projectile's life: ``t`` Unix seconds, degrees, metres above sea level."""

    t: float
    lat: float
    lon: float
    alt_m: float


class TruthRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Ground truth of one projectile (one line of ``truth.jsonl``)."""

    id: str
    projectile: str
    kind: str
    salvo: int
    launch: TruthPoint
    impact: TruthPoint
    apogee_m: float
    danger_radius_m: float
    flight_time_s: float
    impact_speed_m_s: float
    beta_kg_m2: float | None


class RunInfo(msgspec.Struct, frozen=True, omit_defaults=True):
    """``run.json``: what was flown and on which clock.

    ``sim run --out`` writes it on the scenario clock (no ``offset_s``); ``sim emit
    --truth-out`` on the clock it sent the scans on: every time in its files is the scenario's
    plus ``offset_s`` (``start_unix_s``, ``end_unix_s`` included), the scans went out at
    ``speed`` x real time, and ``radars`` lists the radars it sent. ``source`` is what
    :func:`~redcolor.sim.scenario.load_scenario` takes to fly the same scenario again (a
    built-in name or a file path). ``scans`` and ``plots`` count what was written or sent, when
    known when the file was written.
    """

    scenario: str
    description: str
    seed: int
    start_unix_s: float
    end_unix_s: float
    origin: dict[str, float]
    ground_alt_m: float
    projectiles: int
    scans: int | None = None
    plots: int | None = None
    source: str | None = None
    offset_s: float | None = None
    speed: float | None = None
    radars: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TruthState:
    """Objects in flight at one time: ids (M,) and ENU states (M, 3)."""

    ids: tuple[str, ...]
    pos_enu_m: FloatArray
    vel_enu_m_s: FloatArray


@dataclass(frozen=True)
class _Group:
    """One salvo's flown trajectories and their launch times."""

    salvo: int
    ids: tuple[str, ...]
    launch_unix_s: FloatArray
    impact_unix_s: FloatArray
    trajectory: Trajectory | PolylineTrajectory

    def in_flight(self, t_unix_s: float) -> IntArray:
        return np.flatnonzero((self.launch_unix_s <= t_unix_s) & (t_unix_s < self.impact_unix_s))


class SimulationResult:
    """A flown scenario: ground truth, sensor registrations and a lazy scan stream."""

    def __init__(
        self,
        scenario: Scenario,
        frame: LocalFrame,
        earth: EarthModel,
        groups: list[_Group],
        radars: list[RadarModel],
        phases_s: list[float],
    ) -> None:
        self.scenario = scenario
        self.frame = frame
        self.earth = earth
        self.radars = radars
        self._groups = groups
        self._phases_s = phases_s
        self.start_unix_s = scenario.start_unix_s
        ends = [float(np.max(g.impact_unix_s)) + scenario.tail_s for g in groups]
        if scenario.duration_s is not None:
            ends.append(self.start_unix_s + scenario.duration_s)
        self.end_unix_s = max(ends)
        self.origin = (frame.lat0_deg, frame.lon0_deg, frame.alt0_m)
        self.registrations = [r.registration for r in radars]
        self.truth = [rec for g in groups for rec in self._records(g)]

    def _records(self, g: _Group) -> list[TruthRecord]:
        p = get_projectile(self.scenario.salvos[g.salvo].projectile)
        tr = g.trajectory
        launch_pos, _ = tr.state_at(np.arange(len(g.ids)), np.zeros(len(g.ids)))
        pts = np.concatenate([launch_pos, tr.impact_pos_enu_m])
        lat, lon, _ = self.frame.geodetic_from_enu(pts[:, 0], pts[:, 1], pts[:, 2])
        alt = self.earth.altitude_m(pts)
        n = len(g.ids)
        speed = np.linalg.norm(tr.impact_vel_enu_m_s, axis=1)
        beta = tr.beta_burnout_kg_m2
        return [
            TruthRecord(
                id=g.ids[i],
                projectile=p.name,
                kind=p.kind,
                salvo=g.salvo,
                launch=TruthPoint(
                    round(float(g.launch_unix_s[i]), 6),
                    round(float(lat[i]), 7),
                    round(float(lon[i]), 7),
                    round(float(alt[i]), 2),
                ),
                impact=TruthPoint(
                    round(float(g.impact_unix_s[i]), 6),
                    round(float(lat[n + i]), 7),
                    round(float(lon[n + i]), 7),
                    round(float(alt[n + i]), 2),
                ),
                apogee_m=round(float(tr.apogee_m[i]), 2),
                danger_radius_m=p.danger_radius_m,
                flight_time_s=round(float(tr.impact_time_s[i]), 6),
                impact_speed_m_s=round(float(speed[i]), 2),
                beta_kg_m2=round(float(beta[i]), 2) if np.isfinite(beta[i]) else None,
            )
            for i in range(n)
        ]

    def truth_at(self, t_unix_s: float) -> TruthState:
        """True states of every object in flight at ``t_unix_s`` (launched, not yet landed)."""
        ids: list[str] = []
        pos, vel = [np.empty((0, 3))], [np.empty((0, 3))]
        for g, idx, p, v in self._in_flight(t_unix_s):
            ids.extend(g.ids[i] for i in idx)
            pos.append(p)
            vel.append(v)
        return TruthState(tuple(ids), np.concatenate(pos), np.concatenate(vel))

    def _in_flight(
        self, t_unix_s: float
    ) -> Iterator[tuple[_Group, IntArray, FloatArray, FloatArray]]:
        for g in self._groups:
            idx = g.in_flight(t_unix_s)
            if idx.size:
                p, v = g.trajectory.state_at(idx, t_unix_s - g.launch_unix_s[idx])
                yield g, idx, p, v

    def scan_times(self, radar: int) -> FloatArray:
        """Scan times (Unix s) of radar ``radar``, from start + phase to the end."""
        period = self.radars[radar].registration.scan_period_s
        first = self.start_unix_s + self._phases_s[radar]
        n = int(np.floor((self.end_unix_s - first) / period)) + 1
        return np.asarray(first + period * np.arange(max(n, 0)), dtype=np.float64)

    def scan_count(self) -> int:
        """How many scans ``scans`` yields."""
        return sum(len(self.scan_times(j)) for j in range(len(self.radars)))

    def _tagged_times(self, radar: int) -> Iterator[tuple[float, int]]:
        for t in self.scan_times(radar):
            yield float(t), radar

    @property
    def scans(self) -> Iterator[Scan]:
        """A fresh, lazy iterator over every radar's scans in time order (ties by radar)."""
        return self.scans_of(range(len(self.radars)))

    def scans_of(self, radars: Iterable[int]) -> Iterator[Scan]:
        """The scans of the radars numbered ``radars`` (indices into :attr:`radars`) as
        :attr:`scans` yields them: each radar draws from its own random stream, so its scans
        are the same whichever others are flown beside it."""
        seed = self.scenario.seed
        chosen = sorted(set(radars))
        rngs = {j: np.random.default_rng([seed, 2, j]) for j in chosen}
        streams = [self._tagged_times(j) for j in chosen]
        for t, j in heapq.merge(*streams):
            states = [(p, v) for _, _, p, v in self._in_flight(t)]
            pos = np.concatenate([p for p, _ in states]) if states else np.empty((0, 3))
            vel = np.concatenate([v for _, v in states]) if states else np.empty((0, 3))
            yield self.radars[j].scan(t, pos, vel, rngs[j])

    def trajectory_samples(self, step_s: float = 1.0) -> Iterator[dict[str, object]]:
        """Each projectile's true path every ``step_s`` seconds and at impact: ``t`` (Unix s),
        ``enu_m`` (scenario frame, 0.1 m) and ``lat_lon_alt`` (degrees to 1e-7, metres above
        sea level of the physics model)."""
        for g in self._groups:
            tr = g.trajectory
            for i, obj_id in enumerate(g.ids):
                t_end = float(tr.impact_time_s[i])
                tau = np.append(np.arange(0.0, t_end, step_s), t_end)
                pos, _ = tr.state_at(np.full(tau.size, i), tau)
                lat, lon, _ = self.frame.geodetic_from_enu(pos[:, 0], pos[:, 1], pos[:, 2])
                lla = np.column_stack(
                    [np.round(lat, 7), np.round(lon, 7), np.round(self.earth.altitude_m(pos), 1)]
                )
                yield {
                    "id": obj_id,
                    "t": np.round(g.launch_unix_s[i] + tau, 6).tolist(),
                    "enu_m": np.round(pos, 1).tolist(),
                    "lat_lon_alt": lla.tolist(),
                }

    def run_info(self, offset_s: float = 0.0) -> RunInfo:
        """This run's ``run.json`` with its times ``offset_s`` later (without counts, offset
        and speed: the writer adds those it knows)."""
        s = self.scenario
        source = Path(s.source)
        return RunInfo(
            scenario=s.name,
            description=s.description,
            seed=s.seed,
            start_unix_s=self.start_unix_s + offset_s,
            end_unix_s=self.end_unix_s + offset_s,
            origin={"lat": self.origin[0], "lon": self.origin[1], "alt_m": self.origin[2]},
            ground_alt_m=s.ground_alt_m,
            projectiles=len(self.truth),
            source=str(source.resolve()) if source.is_file() else s.name,
        )

    def write(self, out_dir: Path, on_scan: Callable[[int], None] | None = None) -> dict[str, int]:
        """Write ``truth.jsonl``, ``measurements.jsonl``, ``sensors.jsonl``,
        ``trajectories.jsonl`` and ``run.json`` into ``out_dir``; return line counts.

        Raises
        ------
        InputError
            ``out_dir`` cannot be created or written.
        """
        try:
            return self._write(out_dir, on_scan)
        except OSError as exc:
            raise InputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None

    def _write(self, out_dir: Path, on_scan: Callable[[int], None] | None) -> dict[str, int]:
        out_dir.mkdir(parents=True, exist_ok=True)
        enc = msgspec.json.Encoder()
        with (out_dir / "truth.jsonl").open("wb") as f:
            for rec in self.truth:
                f.write(enc.encode(rec) + b"\n")
        with (out_dir / "sensors.jsonl").open("wb") as f:
            for reg in self.registrations:
                f.write(enc.encode(reg) + b"\n")
        with (out_dir / "trajectories.jsonl").open("wb") as f:
            for sample in self.trajectory_samples():
                f.write(enc.encode(sample) + b"\n")
        scans = plots = 0
        with (out_dir / "measurements.jsonl").open("wb") as f:
            for scan in self.scans:
                f.write(enc.encode(scan) + b"\n")
                scans += 1
                plots += len(scan.plots)
                if on_scan is not None:
                    on_scan(scans)
        info = msgspec.structs.replace(self.run_info(), scans=scans, plots=plots)
        (out_dir / "run.json").write_bytes(msgspec.json.format(enc.encode(info)) + b"\n")
        return {"projectiles": len(self.truth), "scans": scans, "plots": plots}


def simulate(scenario: Scenario) -> SimulationResult:
    """Fly every salvo of ``scenario`` and place its radars.

    Raises
    ------
    ScenarioError
        A salvo's target is out of its projectile's reach, or a round never lands.
    """
    ground = scenario.ground_alt_m
    lat0, lon0 = scenario.origin
    frame = LocalFrame(lat0, lon0, ground)
    earth = EarthModel(lat0, lon0, ground)
    terrain = FlatTerrain(ground)
    wind = None
    if scenario.wind_speed_m_s > 0:
        frm = np.radians(scenario.wind_from_deg)
        wind = -scenario.wind_speed_m_s * np.array([np.sin(frm), np.cos(frm), 0.0])
    groups = []
    for i, spec in enumerate(scenario.salvos):
        rng = np.random.default_rng([scenario.seed, 1, i])
        launch_s = np.sort(spec.at_s + spec.over_s * rng.random(spec.count))
        try:
            if get_projectile(spec.projectile).kind == "drone":
                traj: Trajectory | PolylineTrajectory = fly_drones(spec, rng, frame, earth, ground)
            else:
                traj = fly_ballistic(spec, rng, frame, earth, terrain, ground, wind)
        except ScenarioError as exc:
            raise ScenarioError(f"{scenario.source}: salvo[{i}]: {exc}") from None
        if not np.isfinite(traj.impact_time_s).all():
            raise ScenarioError(f"{scenario.source}: salvo[{i}]: a round never lands")
        launch_unix = scenario.start_unix_s + launch_s
        ids = tuple(f"s{i}-{k:04d}" for k in range(spec.count))
        groups.append(_Group(i, ids, launch_unix, launch_unix + traj.impact_time_s, traj))
    radars = [RadarModel.place(r.registration, frame, earth, ground) for r in scenario.radars]
    phase_rng = np.random.default_rng([scenario.seed, 3])
    phases = [
        r.phase_s
        if r.phase_s is not None
        else float(phase_rng.uniform(0, r.registration.scan_period_s))
        for r in scenario.radars
    ]
    return SimulationResult(scenario, frame, earth, groups, radars, phases)
