"""Turn a ``[[salvo]]`` into flown trajectories: launch times and points, aim, dispersion.

Ballistic salvos (rockets, mortars, missiles)
---------------------------------------------
* Launch times: ``at_s + over_s * U`` sorted; launch and aim points uniform in their discs.
* Aim: the elevation for each round's great-circle range from the projectile's range table
  (:mod:`redcolor.sim.aim`), on the salvo's branch (``trajectory``, or the one whose apogee is
  nearer ``apogee_m``, or whose flight time is nearer ``flight_time_s``, or the catalogue
  default). The aim then corrects for Earth rotation and curvature: nominal rounds are flown
  with the full physics and their range and cross-track misses fed back (twice; three times
  for ballistic missiles), round by
  round for salvos of up to 64, else for one round from the launch centre to the target
  centre whose correction every round shares. Wind is *not* corrected for (assumption).
* Dispersion per round: elevation and azimuth errors ``N(0, aim_sigma)``, thrust factor
  ``1 + N(0, thrust_sigma)``, drag factor ``1 + N(0, drag_sigma)``; plus the scenario wind.

Drones
------
Straight legs at a constant speed (``speed_m_s`` or uniform in the catalogue's range): from
the launch point up to the first waypoint at cruise height, through the waypoints, to a dive
point 1.5 cruise heights short of the target, then down onto it. Legs are split into pieces of
at most 5 km so chords follow the curved Earth to within a metre.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.errors import ScenarioError
from redcolor.geo.frame import LocalFrame
from redcolor.physics.atmosphere import G0_M_S2
from redcolor.physics.ballistics import EarthModel, FlatTerrain, FloatArray
from redcolor.physics.catalogue import Branch, Projectile, get_projectile
from redcolor.sim.aim import LAUNCHER_HEIGHT_M, cross_track_m, launch_directions, range_table
from redcolor.sim.flight import Trajectory, fly
from redcolor.sim.scenario import Place, SalvoSpec

IntArray = NDArray[np.intp]
DRONE_DIVE_RATIO = 1.5
"""Dive starts this many cruise heights before the target (a ~34 degree dive; assumption)."""
DRONE_LEG_PIECE_M = 5_000.0
DRONE_TURN_POINTS = 12
"""Points each rounded waypoint corner is drawn with."""
AIM_ITERATIONS = {"ballistic": 3}
"""Aim-correction passes per projectile kind (2 otherwise: rocket corrections are metres)."""
PER_ROUND_AIM_MAX = 64
"""Salvos up to this size are aimed round by round; larger ones share the centre's correction."""


@dataclass(frozen=True)
class PolylineTrajectory:
    """N objects flying straight pieces at constant speeds (drones). Same reading API as
    :class:`redcolor.sim.flight.Trajectory`.

    Attributes
    ----------
    vertices_enu_m : ndarray (N, V, 3)
    vertex_time_s : ndarray (N, V)
        Flight time at each vertex; the last is the impact.
    speed_m_s : ndarray (N,)
    """

    vertices_enu_m: FloatArray
    vertex_time_s: FloatArray
    speed_m_s: FloatArray
    apogee_m: FloatArray

    @property
    def impact_time_s(self) -> FloatArray:
        return self.vertex_time_s[:, -1]

    @property
    def impact_pos_enu_m(self) -> FloatArray:
        return self.vertices_enu_m[:, -1]

    @property
    def impact_vel_enu_m_s(self) -> FloatArray:
        leg = self.vertices_enu_m[:, -1] - self.vertices_enu_m[:, -2]
        return leg / np.linalg.norm(leg, axis=1, keepdims=True) * self.speed_m_s[:, None]

    @property
    def beta_burnout_kg_m2(self) -> FloatArray:
        return np.full(self.speed_m_s.shape, np.inf)

    def state_at(self, idx: IntArray, tau_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities (M, 3) of objects ``idx`` at flight times ``tau_s`` (M,)."""
        idx = np.asarray(idx, dtype=np.intp)
        times = self.vertex_time_s[idx]
        tau = np.clip(np.asarray(tau_s, dtype=np.float64), 0.0, times[:, -1])
        seg = np.clip((times <= tau[:, None]).sum(axis=1) - 1, 0, times.shape[1] - 2)
        rows = np.arange(idx.size)
        a = self.vertices_enu_m[idx, seg]
        b = self.vertices_enu_m[idx, seg + 1]
        leg = b - a
        unit = leg / np.maximum(np.linalg.norm(leg, axis=1, keepdims=True), 1e-9)
        vel = unit * self.speed_m_s[idx, None]
        return a + vel * (tau - times[rows, seg])[:, None], vel


def _rounded(points: list[FloatArray], radius_m: float, earth: EarthModel) -> list[FloatArray]:
    """The polyline ``points`` (each (n, 3), one row per drone) with every interior corner
    replaced by a turn: a quadratic curve tangent to both legs, from ``d`` before the corner to
    ``d`` after it. A symmetric quadratic curve is tightest at its middle, with radius
    ``d cos^2(theta/2) / sin(theta/2)`` (theta the turn angle), so ``d = radius_m
    sin(theta/2) / cos^2(theta/2)`` makes that ``radius_m`` (``d`` is capped at 45% of either
    leg, which only near-reversals reach). A drone cannot turn in an instant."""
    out = [points[0]]
    for a, c, b in zip(points, points[1:], points[2:], strict=False):
        leg_in, leg_out = c - a, b - c
        len_in = np.linalg.norm(leg_in, axis=1, keepdims=True)
        len_out = np.linalg.norm(leg_out, axis=1, keepdims=True)
        u_in, u_out = leg_in / len_in, leg_out / len_out
        theta = np.arccos(np.clip(np.sum(u_in * u_out, axis=1, keepdims=True), -1.0, 1.0))
        half = np.minimum(theta, 3.0) / 2.0
        reach = np.minimum(radius_m * np.sin(half) / np.cos(half) ** 2, 0.45 * len_in)
        reach = np.minimum(reach, 0.45 * len_out)
        start, end = c - u_in * reach, c + u_out * reach
        alt_start, alt_end = earth.altitude_m(start), earth.altitude_m(end)
        for t in np.linspace(0.0, 1.0, DRONE_TURN_POINTS):
            curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * c + t**2 * end
            out.append(earth.at_altitude(curve, alt_start + t * (alt_end - alt_start)))
    out.append(points[-1])
    return out


def _disc(rng: np.random.Generator, frame: LocalFrame, place: Place, n: int) -> FloatArray:
    """n points uniform in a disc, as (lat, lon) columns (n, 2)."""
    r = place.radius_m * np.sqrt(rng.random(n))
    th = 2.0 * np.pi * rng.random(n)
    x0, y0 = frame.project(place.lat_deg, place.lon_deg)
    lat, lon = frame.unproject(x0 + r * np.sin(th), y0 + r * np.cos(th))
    return np.column_stack([lat, lon])


def _ground_points(
    frame: LocalFrame, earth: EarthModel, latlon: FloatArray, alt_m: float | FloatArray
) -> FloatArray:
    """ENU of (lat, lon) points at a (spherical) altitude, (n, 3)."""
    alt = np.broadcast_to(np.asarray(alt_m, dtype=np.float64), latlon.shape[:1])
    p = np.column_stack(frame.enu_from_geodetic(latlon[:, 0], latlon[:, 1], alt))
    return earth.at_altitude(p, alt)


def choose_branch(spec: SalvoSpec, projectile: Projectile, range_m: float, ground: float) -> Branch:
    """The salvo's trajectory branch: explicit, nearest to ``apogee_m`` or ``flight_time_s``
    (apogee above sea level), or the catalogue default."""
    if spec.trajectory is not None:
        return spec.trajectory
    if spec.apogee_m is None and spec.flight_time_s is None:
        return projectile.default_trajectory
    table = range_table(projectile.name, ground)
    best: tuple[float, Branch] | None = None
    for branch in ("low", "high"):
        try:
            _, flight_time_s, apogee_agl_m = table.at_range(range_m, branch)
        except ScenarioError:
            continue
        if spec.apogee_m is not None:
            miss = abs(apogee_agl_m + ground - spec.apogee_m)
        else:
            miss = abs(flight_time_s - float(spec.flight_time_s or 0.0))
        if best is None or miss < best[0]:
            best = (miss, branch)
    return projectile.default_trajectory if best is None else best[1]


def fly_ballistic(
    spec: SalvoSpec,
    rng: np.random.Generator,
    frame: LocalFrame,
    earth: EarthModel,
    terrain: FlatTerrain,
    ground_alt_m: float,
    wind_enu_m_s: FloatArray | None,
) -> Trajectory:
    """Aim and fly every round of a rocket, mortar or missile salvo."""
    p = get_projectile(spec.projectile)
    n = spec.count
    launch = _ground_points(frame, earth, _disc(rng, frame, spec.launch, n), ground_alt_m)
    launch = earth.at_altitude(launch, ground_alt_m + LAUNCHER_HEIGHT_M)
    aim = _ground_points(frame, earth, _disc(rng, frame, spec.target, n), ground_alt_m)
    if n <= PER_ROUND_AIM_MAX:
        from_l, to_a = launch, aim
    else:  # one nominal round from the launch centre to the target centre stands for all
        from_l = earth.at_altitude(
            _ground_points(frame, earth, np.array([[spec.launch.lat_deg, spec.launch.lon_deg]]),
                           ground_alt_m),
            ground_alt_m + LAUNCHER_HEIGHT_M,
        )  # fmt: skip
        to_a = _ground_points(
            frame, earth, np.array([[spec.target.lat_deg, spec.target.lon_deg]]), ground_alt_m
        )
    table = range_table(p.name, ground_alt_m)
    want = earth.ground_range_m(from_l, to_a)
    branch = choose_branch(spec, p, float(np.mean(want)), ground_alt_m)
    aim_range, az_off = want.copy(), np.zeros_like(want)
    for _ in range(AIM_ITERATIONS.get(p.kind, 2)):
        d = launch_directions(earth, from_l, to_a, table.elevation_for(aim_range, branch), az_off)
        t = fly(p, from_l, d, earth, terrain)
        aim_range += want - earth.ground_range_m(from_l, t.impact_pos_enu_m)
        az_off -= cross_track_m(earth, from_l, to_a, t.impact_pos_enu_m) / want
    ranges = earth.ground_range_m(launch, aim) + (aim_range - want)
    elev = table.elevation_for(ranges, branch)
    sig_rad = p.aim_sigma_mrad * 1e-3
    noise = rng.standard_normal((n, 4))
    elev = elev + np.degrees(sig_rad) * noise[:, 0]
    direction = launch_directions(earth, launch, aim, elev, az_off + sig_rad * noise[:, 1])
    return fly(
        p,
        launch,
        direction,
        earth,
        terrain,
        thrust_factor=1.0 + p.thrust_sigma * noise[:, 2],
        drag_factor=1.0 + p.drag_sigma * noise[:, 3],
        wind_enu_m_s=wind_enu_m_s,
    )


def fly_drones(
    spec: SalvoSpec,
    rng: np.random.Generator,
    frame: LocalFrame,
    earth: EarthModel,
    ground_alt_m: float,
) -> PolylineTrajectory:
    """Fly every drone (or cruise missile) of a salvo along its waypoints, turning at each in a
    level turn at the type's ``bank_deg`` and top cruise speed (so no tighter at any slower
    speed): a coordinated turn at bank phi has radius ``v^2 / (g tan phi)``."""
    p = get_projectile(spec.projectile)
    n = spec.count
    launch = _ground_points(frame, earth, _disc(rng, frame, spec.launch, n), ground_alt_m)
    launch = earth.at_altitude(launch, ground_alt_m + LAUNCHER_HEIGHT_M)
    target = _ground_points(frame, earth, _disc(rng, frame, spec.target, n), ground_alt_m)
    cruise = ground_alt_m + p.cruise_agl_m
    way = [
        _ground_points(
            frame,
            earth,
            np.array([[w.lat_deg, w.lon_deg]]),
            cruise if w.alt_m is None else w.alt_m,
        ).repeat(n, axis=0)
        for w in spec.waypoints
    ]
    last = way[-1] if way else launch
    approach = target - last
    approach /= np.linalg.norm(approach, axis=1, keepdims=True)
    dive = earth.at_altitude(target - approach * DRONE_DIVE_RATIO * p.cruise_agl_m, cruise)
    turn_radius_m = p.cruise_speed_m_s[1] ** 2 / (G0_M_S2 * np.tan(np.radians(p.bank_deg)))
    corners = [launch, *_rounded([launch, *way, dive], turn_radius_m, earth)[1:], target]
    pieces = [launch]
    for a, b in itertools.pairwise(corners):
        k = max(1, int(np.ceil(np.linalg.norm(b - a, axis=1).max() / DRONE_LEG_PIECE_M)))
        alt_a, alt_b = earth.altitude_m(a), earth.altitude_m(b)
        for f in np.arange(1, k + 1) / k:
            pieces.append(earth.at_altitude(a + f * (b - a), alt_a + f * (alt_b - alt_a)))
    vertices = np.stack(pieces, axis=1)
    if spec.speed_m_s is not None:
        speed = np.full(n, spec.speed_m_s)
    else:
        speed = rng.uniform(*p.cruise_speed_m_s, n)
    seg = np.linalg.norm(np.diff(vertices, axis=1), axis=2)
    times = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1) / speed[:, None]
    apogee = earth.altitude_m(vertices).max(axis=1)
    return PolylineTrajectory(vertices, times, speed, apogee)
