"""Point-mass (3-DOF) flight physics in a local east-north-up frame, vectorised over N objects.

Frame
-----
Positions ``pos_enu_m`` (N, 3) and velocities ``vel_enu_m_s`` (N, 3) are metres and metres per
second in the tangent-plane ENU frame of an origin (the same frame as
:class:`redcolor.geo.frame.LocalFrame`). The frame is fixed to the rotating Earth.

Earth
-----
A sphere of radius ``R`` (IUGG mean radius, assumption: no oblateness, no J2) whose centre sits
at ``c = (0, 0, -(R + alt0_m))``. Altitude is ``|p - c| - R`` (metres above mean sea level), so
the ground curves away exactly as it does on a sphere. Gravity is ``-mu (p - c) / |p - c|^3``
(WGS84 GM). In the rotating frame the Coriolis ``-2 w x v`` and centrifugal ``-w x (w x (p - c))``
accelerations apply, with ``w = omega (0, cos lat0, sin lat0)`` (WGS84 rotation rate).

Drag (shared with the prediction stage)
---------------------------------------
::

    a_drag = -rho(h) |v_air| v_air cd_shape(M) / (2 beta),   v_air = v - wind,
    beta = m / (cd0 A)  [kg/m^2],   M = |v_air| / a(h)

``cd_shape`` is one Mach-dependent shape, 1.0 at low subsonic speed, the same for every
projectile, so a filter estimating ``beta`` uses exactly the simulator's physics. ``rho`` and the
speed of sound ``a`` come from the ISA 1976 (:mod:`redcolor.physics.atmosphere`), read from a 10 m
lookup table (log-linear for density; the relative error is below 1e-5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redcolor.physics.atmosphere import isa_density_kg_m3, isa_speed_of_sound_m_s
from redcolor.physics.kernel import coast_rows

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
AccelFn = Callable[[float, FloatArray, FloatArray], FloatArray]
"""``accel(frac, pos (N, 3), vel (N, 3)) -> (N, 3)``: acceleration at a fraction of a step."""

EARTH_MEAN_RADIUS_M = 6_371_008.8
"""IUGG mean Earth radius (Moritz 2000, Geodetic Reference System 1980)."""
EARTH_GM_M3_S2 = 3.986004418e14
"""WGS84 geocentric gravitational constant (NIMA TR8350.2)."""
EARTH_OMEGA_RAD_S = 7.292115e-5
"""WGS84 Earth rotation rate (NIMA TR8350.2)."""

# Mach-dependent drag shape, normalised to 1.0 at low subsonic speed. ASSUMPTION: a generic
# finned-rocket/projectile curve (drag rise from M 0.8, peak ~1.8x near M 1.1, falling roughly
# as the supersonic wave drag ~ 1/sqrt(M^2 - 1) does), not fitted to any one body. Each
# projectile's cd0 is calibrated with this shape to reach its published maximum range.
_CD_MACH = np.array(
    [0.0, 0.6, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 8.0, 30.0]
)
_CD_SHAPE = np.array(
    [
        1.0,
        1.0,
        1.03,
        1.12,
        1.3,
        1.55,
        1.72,
        1.78,
        1.75,
        1.62,
        1.5,
        1.32,
        1.16,
        1.05,
        0.93,
        0.86,
        0.8,
        0.78,
    ]
)

_TABLE_ALT0_M, _TABLE_STEP_M, _TABLE_TOP_M = -2_000.0, 10.0, 150_000.0
_TABLE_ALT_M = np.arange(_TABLE_ALT0_M, _TABLE_TOP_M + 1.0, _TABLE_STEP_M)
_TABLE_LOG_RHO = np.log(isa_density_kg_m3(_TABLE_ALT_M))
_TABLE_SOUND_M_S = isa_speed_of_sound_m_s(_TABLE_ALT_M)
_D_LOG_RHO = np.diff(_TABLE_LOG_RHO)
_D_SOUND = np.diff(_TABLE_SOUND_M_S)


def cd_shape(mach: ArrayLike) -> FloatArray:
    """The shared Mach-dependent drag-coefficient shape (1.0 at low subsonic), shape of ``mach``."""
    return np.interp(np.asarray(mach, dtype=np.float64), _CD_MACH, _CD_SHAPE)


def atmosphere(alt_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """ISA density (kg/m^3) and speed of sound (m/s) from the 10 m lookup table.

    The grid is uniform, so the cell is found by arithmetic rather than a search; density is
    interpolated in its logarithm. Altitudes outside [-2 km, 150 km] take the end values.
    """
    x = np.clip((np.asarray(alt_m, dtype=np.float64) - _TABLE_ALT0_M) / _TABLE_STEP_M, 0.0,
                len(_TABLE_ALT_M) - 1.000001)  # fmt: skip
    i = x.astype(np.intp)
    f = x - i
    rho = np.exp(_TABLE_LOG_RHO[i] + f * _D_LOG_RHO[i])
    return rho, _TABLE_SOUND_M_S[i] + f * _D_SOUND[i]


def air_density_kg_m3(alt_m: ArrayLike) -> FloatArray:
    """ISA density from the lookup table, kg/m^3."""
    return atmosphere(alt_m)[0]


def speed_of_sound_m_s(alt_m: ArrayLike) -> FloatArray:
    """ISA speed of sound from the lookup table, m/s."""
    return atmosphere(alt_m)[1]


@dataclass(frozen=True)
class EarthModel:
    """A spherical, optionally rotating Earth seen from an ENU frame at an origin.

    Parameters
    ----------
    lat0_deg, lon0_deg, alt0_m : float
        Origin of the ENU frame (degrees, metres above sea level).
    radius_m : float
        Sphere radius (default IUGG mean radius).
    rotating : bool
        Include Coriolis and centrifugal accelerations (default True).
    """

    lat0_deg: float
    lon0_deg: float
    alt0_m: float = 0.0
    radius_m: float = EARTH_MEAN_RADIUS_M
    rotating: bool = True

    @cached_property
    def centre_enu_m(self) -> FloatArray:
        """Earth's centre in the ENU frame, shape (3,)."""
        return np.array([0.0, 0.0, -(self.radius_m + self.alt0_m)])

    @cached_property
    def omega_enu_rad_s(self) -> FloatArray:
        """Earth's rotation vector in the ENU frame, rad/s, shape (3,)."""
        lat = np.radians(self.lat0_deg)
        w = EARTH_OMEGA_RAD_S if self.rotating else 0.0
        return np.array([0.0, w * np.cos(lat), w * np.sin(lat)])

    @cached_property
    def rotation_terms(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Matrices ``C``, ``F`` (3, 3) and offset ``c @ F`` (3,) such that the Coriolis plus
        centrifugal acceleration of row vectors is ``v @ C + p @ F - c @ F``.

        With ``[w]x`` the cross-product matrix (``w x v = [w]x v``): ``-2 w x v = v @ (2 [w]x)``
        (since ``[w]x`` is antisymmetric) and ``-w x (w x r) = |w|^2 r - (w . r) w
        = r @ (|w|^2 I - w w^T)``.
        """
        w = self.omega_enu_rad_s
        skew = np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])
        centrifugal = np.dot(w, w) * np.eye(3) - np.outer(w, w)
        return 2.0 * skew, centrifugal, self.centre_enu_m @ centrifugal

    def altitude_m(self, pos_enu_m: ArrayLike) -> FloatArray:
        """Altitude above the sphere (mean sea level), metres, shape (...) for (..., 3) input."""
        r = np.asarray(pos_enu_m, dtype=np.float64) - self.centre_enu_m
        return np.sqrt(np.einsum("...i,...i->...", r, r)) - self.radius_m

    def up_enu(self, pos_enu_m: ArrayLike) -> FloatArray:
        """Local vertical (unit radial vector) at each position, shape (..., 3)."""
        r = np.asarray(pos_enu_m, dtype=np.float64) - self.centre_enu_m
        return r / np.linalg.norm(r, axis=-1, keepdims=True)

    def at_altitude(self, pos_enu_m: ArrayLike, alt_m: ArrayLike) -> FloatArray:
        """Move each position along its local vertical to altitude ``alt_m``, shape (..., 3)."""
        alt = np.asarray(alt_m, dtype=np.float64)[..., None]
        return self.centre_enu_m + self.up_enu(pos_enu_m) * (self.radius_m + alt)

    def ground_range_m(self, a_enu_m: ArrayLike, b_enu_m: ArrayLike) -> FloatArray:
        """Great-circle distance at sea level between the points below ``a`` and ``b``, (...)."""
        ua, ub = self.up_enu(a_enu_m), self.up_enu(b_enu_m)
        cross = np.linalg.norm(np.cross(ua, ub), axis=-1)
        return self.radius_m * np.arctan2(cross, np.einsum("...i,...i->...", ua, ub))


class Terrain(Protocol):
    """The ground's altitude under positions of the ENU frame."""

    def ground_alt_m(self, pos_enu_m: FloatArray, earth: EarthModel) -> FloatArray:
        """Ground altitude above sea level below each position, metres; (N, 3) -> (N,)."""
        ...


@dataclass(frozen=True)
class FlatTerrain:
    """Ground at one altitude everywhere (``alt_m`` metres above sea level)."""

    alt_m: float = 0.0

    def ground_alt_m(self, pos_enu_m: FloatArray, earth: EarthModel) -> FloatArray:
        """Constant ground altitude, shape (N,)."""
        return np.full(np.shape(pos_enu_m)[:-1], self.alt_m)


def gravity_accel(pos_enu_m: FloatArray, earth: EarthModel) -> FloatArray:
    """Newtonian gravity toward Earth's centre, ``-mu r / |r|^3``, m/s^2, (N, 3)."""
    r = pos_enu_m - earth.centre_enu_m
    norm = np.sqrt(np.einsum("ij,ij->i", r, r))
    return -EARTH_GM_M3_S2 * r / (norm**3)[:, None]


def rotation_accel(pos_enu_m: FloatArray, vel_enu_m_s: FloatArray, earth: EarthModel) -> FloatArray:
    """Coriolis plus centrifugal acceleration in the Earth-fixed frame, m/s^2, (N, 3).

    ``-2 w x v - w x (w x r)`` is linear in ``v`` and ``r = p - c``, so it is evaluated as
    ``v @ C + p @ F - c @ F`` with the constant matrices of :attr:`EarthModel.rotation_terms`.
    """
    coriolis, centrifugal, offset = earth.rotation_terms
    return vel_enu_m_s @ coriolis + pos_enu_m @ centrifugal - offset


def drag_accel(
    pos_enu_m: FloatArray,
    vel_enu_m_s: FloatArray,
    beta_kg_m2: FloatArray,
    earth: EarthModel,
    wind_enu_m_s: ArrayLike | None = None,
    alt_m: FloatArray | None = None,
) -> FloatArray:
    """Drag deceleration ``-rho |v_air| v_air cd_shape(M) / (2 beta)``, m/s^2, (N, 3).

    ``alt_m`` (N,) may be passed when the caller already has the altitudes.
    """
    v_air = vel_enu_m_s if wind_enu_m_s is None else vel_enu_m_s - np.asarray(wind_enu_m_s)
    alt = earth.altitude_m(pos_enu_m) if alt_m is None else alt_m
    speed = np.sqrt(np.einsum("ij,ij->i", v_air, v_air))
    rho, sound = atmosphere(alt)
    k = rho * speed * cd_shape(speed / sound) / (2.0 * np.asarray(beta_kg_m2))
    return -k[:, None] * v_air


def coast_accel(
    pos_enu_m: FloatArray,
    vel_enu_m_s: FloatArray,
    beta_kg_m2: FloatArray,
    earth: EarthModel,
    wind_enu_m_s: ArrayLike | None = None,
) -> FloatArray:
    """Total unpowered acceleration: gravity + drag (+ Coriolis and centrifugal), (N, 3).

    Parameters
    ----------
    pos_enu_m, vel_enu_m_s : ndarray, shape (N, 3)
    beta_kg_m2 : ndarray, shape (N,)
        Ballistic coefficient ``m / (cd0 A)``; ``np.inf`` means no drag.
    earth : EarthModel
    wind_enu_m_s : array_like, shape (3,) or (N, 3), optional
        Air velocity (constant with height).
    """
    r = pos_enu_m - earth.centre_enu_m
    norm = np.sqrt(np.einsum("ij,ij->i", r, r))
    acc = (-EARTH_GM_M3_S2 / norm**3)[:, None] * r
    acc += drag_accel(
        pos_enu_m, vel_enu_m_s, beta_kg_m2, earth, wind_enu_m_s, alt_m=norm - earth.radius_m
    )
    if earth.rotating:
        acc += rotation_accel(pos_enu_m, vel_enu_m_s, earth)
    return acc


@dataclass(frozen=True)
class Impact:
    """Where and when N objects reach the ground.

    Attributes
    ----------
    pos_enu_m : ndarray (N, 3)
        Ground-crossing point (interpolated inside the last step).
    vel_enu_m_s : ndarray (N, 3)
        Velocity at the crossing.
    time_s : ndarray (N,)
        Time from the start state to the crossing; NaN where ``landed`` is False.
    apogee_m : ndarray (N,)
        Highest altitude above sea level reached after the start.
    landed : ndarray (N,) of bool
        False when ``max_time_s`` ran out first.
    """

    pos_enu_m: FloatArray
    vel_enu_m_s: FloatArray
    time_s: FloatArray
    apogee_m: FloatArray
    landed: BoolArray


def rk4_step(
    pos: FloatArray, vel: FloatArray, dt_s: float, accel: AccelFn
) -> tuple[FloatArray, FloatArray]:
    """One classical Runge-Kutta step of ``x'' = accel(t_frac, x, x')`` for (N, 3) states.

    ``accel(frac, pos, vel)`` receives the fraction of the step (0, 0.5 or 1) at which it is
    evaluated, so time-varying forces (thrust, mass flow) can be evaluated at the right time.
    """
    a1 = accel(0.0, pos, vel)
    p2, v2 = pos + 0.5 * dt_s * vel, vel + 0.5 * dt_s * a1
    a2 = accel(0.5, p2, v2)
    p3, v3 = pos + 0.5 * dt_s * v2, vel + 0.5 * dt_s * a2
    a3 = accel(0.5, p3, v3)
    p4, v4 = pos + dt_s * v3, vel + dt_s * a3
    a4 = accel(1.0, p4, v4)
    new_pos = pos + dt_s / 6.0 * (vel + 2.0 * v2 + 2.0 * v3 + v4)
    new_vel = vel + dt_s / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return new_pos, new_vel


def kernel_physics(earth: EarthModel) -> tuple[object, ...]:
    """The constants of :func:`coast_accel` as the compiled kernel takes them
    (:func:`redcolor.physics.kernel.coast_rows`): the Earth, the rotation terms, the
    atmosphere table and the Mach drag shape, from their one definition here."""
    coriolis, centrifugal, offset = earth.rotation_terms
    return (earth.centre_enu_m, float(earth.radius_m), EARTH_GM_M3_S2, bool(earth.rotating),
            coriolis, centrifugal, offset, _TABLE_ALT0_M, _TABLE_STEP_M, _TABLE_LOG_RHO,
            _D_LOG_RHO, _TABLE_SOUND_M_S, _D_SOUND, _CD_MACH, _CD_SHAPE)  # fmt: skip


NO_RECORDS = np.empty((0, 0, 3))
"""Record arrays of :func:`coast` when nothing is recorded."""


def coast(
    state: FlightState,
    landing: Landing,
    flying: BoolArray,
    beta_kg_m2: FloatArray,
    earth: EarthModel,
    terrain: FlatTerrain,
    *,
    t0_s: float,
    dt_s: float,
    n_steps: int,
    wind_enu_m_s: ArrayLike | None = None,
    records: tuple[FloatArray, FloatArray, int] = (NO_RECORDS, NO_RECORDS, 1),
) -> NDArray[np.intp]:
    """Coast the ``flying`` objects up to ``n_steps`` RK4 steps of ``dt_s`` from ``t0_s`` with
    the compiled kernel (:func:`redcolor.physics.kernel.coast_rows`, the physics of
    :func:`coast_accel`), in place: ``state`` advances, the objects that cross the ground get
    their crossing in ``landing`` and leave ``flying``, as do objects whose state stops being
    finite (not landed). ``records`` = ``(pos, vel, every)`` with ``pos``/``vel`` (R, N, 3)
    takes the state after every ``every``-th step. Returns the steps each object took, (N,).
    """
    n = state.pos_enu_m.shape[0]
    steps = np.zeros(n, np.intp)
    rec_pos, rec_vel, every = records
    coast_rows(
        state.pos_enu_m, state.vel_enu_m_s, state.height_m, state.apogee_m, flying,
        np.ascontiguousarray(np.broadcast_to(np.asarray(beta_kg_m2, np.float64), (n,))),
        _wind_rows(wind_enu_m_s, n), float(terrain.alt_m), float(t0_s), float(dt_s),
        int(n_steps), landing.pos_enu_m, landing.vel_enu_m_s, landing.time_s, steps,
        rec_pos, rec_vel, int(every), kernel_physics(earth),
    )  # fmt: skip
    return steps


def _wind_rows(wind_enu_m_s: ArrayLike | None, n: int) -> FloatArray:
    """The air velocity of each of ``n`` objects as the kernel takes it, (n, 3) (zero if None)."""
    if wind_enu_m_s is None:
        return np.zeros((n, 3))
    return np.ascontiguousarray(np.broadcast_to(np.asarray(wind_enu_m_s, np.float64), (n, 3)))


def propagate_to_ground(
    pos_enu_m: ArrayLike,
    vel_enu_m_s: ArrayLike,
    beta_kg_m2: ArrayLike,
    earth: EarthModel,
    terrain: FlatTerrain | None = None,
    *,
    dt_s: float = 0.1,
    max_time_s: float = 3_600.0,
    wind_enu_m_s: ArrayLike | None = None,
) -> Impact:
    """Fly N unpowered objects (RK4, fixed step) until each crosses the ground.

    The compiled kernel :func:`redcolor.physics.kernel.coast_rows` flies each object alone with
    the physics of :func:`coast_accel`. The crossing inside the last step is interpolated
    linearly in height above ground, which for a 0.1 s step is within a few centimetres of the
    true crossing. An object whose state stops being finite is reported as not landed.

    Parameters
    ----------
    pos_enu_m, vel_enu_m_s : array_like, shape (N, 3)
        Start states in the ENU frame of ``earth``.
    beta_kg_m2 : array_like, shape (N,) or scalar
        Ballistic coefficients (``np.inf`` for no drag).
    earth : EarthModel
    terrain : FlatTerrain, optional
        Defaults to ``FlatTerrain(0.0)`` (sea level).
    dt_s, max_time_s : float
        Step and time limit, seconds.
    wind_enu_m_s : array_like, shape (3,) or (N, 3), optional

    Returns
    -------
    Impact
    """
    terrain = FlatTerrain(0.0) if terrain is None else terrain
    pos = np.array(pos_enu_m, dtype=np.float64, ndmin=2, order="C")
    vel = np.array(vel_enu_m_s, dtype=np.float64, ndmin=2, order="C")
    n = pos.shape[0]
    out_pos, out_vel = pos.copy(), vel.copy()
    out_t = np.full(n, np.nan)
    apogee = earth.altitude_m(pos)
    flying = np.ones(n, np.bool_)
    coast(
        FlightState(pos, vel, apogee - terrain.alt_m, apogee), Landing(out_pos, out_vel, out_t),
        flying, beta_kg_m2, earth, terrain, t0_s=0.0, dt_s=dt_s,
        n_steps=int(np.ceil(max_time_s / dt_s)), wind_enu_m_s=wind_enu_m_s,
    )  # fmt: skip
    landed = ~np.isnan(out_t)
    out_pos[~landed], out_vel[~landed] = pos[~landed], vel[~landed]
    return Impact(out_pos, out_vel, out_t, apogee, landed)


def propagate_to_ground_numpy(
    pos_enu_m: ArrayLike,
    vel_enu_m_s: ArrayLike,
    beta_kg_m2: ArrayLike,
    earth: EarthModel,
    terrain: FlatTerrain | None = None,
    *,
    dt_s: float = 0.1,
    max_time_s: float = 3_600.0,
    wind_enu_m_s: ArrayLike | None = None,
) -> Impact:
    """:func:`propagate_to_ground` in numpy: all objects in lockstep (:func:`step_to_ground`)
    over :func:`coast_accel`. The reference the compiled kernel is tested and benchmarked
    against; every state must be finite (a non-finite one fails in the atmosphere table)."""
    terrain = FlatTerrain(0.0) if terrain is None else terrain
    pos = np.array(pos_enu_m, dtype=np.float64, ndmin=2)
    vel = np.array(vel_enu_m_s, dtype=np.float64, ndmin=2)
    n = pos.shape[0]
    beta = np.broadcast_to(np.asarray(beta_kg_m2, dtype=np.float64), (n,)).copy()
    wind = None if wind_enu_m_s is None else np.broadcast_to(wind_enu_m_s, (n, 3))
    out_pos, out_vel = pos.copy(), vel.copy()
    out_t = np.full(n, np.nan)
    apogee = earth.altitude_m(pos)
    state = FlightState(pos, vel, apogee - terrain.ground_alt_m(pos, earth), apogee)
    landing = Landing(out_pos, out_vel, out_t)
    active, t = np.arange(n), 0.0
    for _ in range(int(np.ceil(max_time_s / dt_s))):
        if active.size == 0:
            break
        b, w = beta[active], None if wind is None else wind[active]

        def accel(
            _frac: float, p: FloatArray, v: FloatArray, b: FloatArray = b, w: ArrayLike = w
        ) -> FloatArray:
            return coast_accel(p, v, b, earth, w)

        active = step_to_ground(state, landing, active, accel, t, dt_s, earth, terrain)
        t += dt_s
    out_pos[active], out_vel[active] = pos[active], vel[active]
    return Impact(out_pos, out_vel, out_t, apogee, ~np.isnan(out_t))


@dataclass(frozen=True, slots=True)
class FlightState:
    """Mutable arrays of N objects in flight, updated in place by :func:`step_to_ground`:
    ``pos_enu_m``/``vel_enu_m_s`` (N, 3), ``height_m`` above the terrain (N,), ``apogee_m``
    (N,), the highest altitude reached so far."""

    pos_enu_m: NDArray[np.float64]
    vel_enu_m_s: NDArray[np.float64]
    height_m: NDArray[np.float64]
    apogee_m: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Landing:
    """Where each object crossed the ground, filled in place: ``pos_enu_m``/``vel_enu_m_s``
    (N, 3) and ``time_s`` (N,, NaN until it lands)."""

    pos_enu_m: NDArray[np.float64]
    vel_enu_m_s: NDArray[np.float64]
    time_s: NDArray[np.float64]


def step_to_ground(
    state: FlightState,
    landing: Landing,
    active: NDArray[np.intp],
    accel: AccelFn,
    t_s: float,
    dt_s: float,
    earth: EarthModel,
    terrain: Terrain,
) -> NDArray[np.intp]:
    """Advance the ``active`` objects one RK4 step of ``dt_s`` from ``t_s``; record the ground
    crossing of those that land in it (linear in height within the step) and return the indices
    still flying. The one stepping loop shared by the simulator and the impact predictor."""
    p0, v0, h0 = state.pos_enu_m[active], state.vel_enu_m_s[active], state.height_m[active]
    p1, v1 = rk4_step(p0, v0, dt_s, accel)
    alt1 = earth.altitude_m(p1)
    h1 = alt1 - terrain.ground_alt_m(p1, earth)
    np.maximum.at(state.apogee_m, active, alt1)
    hit = h1 <= 0.0
    if hit.any():
        f = np.clip(h0[hit] / (h0[hit] - h1[hit]), 0.0, 1.0)[:, None]
        idx = active[hit]
        landing.pos_enu_m[idx] = p0[hit] + f * (p1[hit] - p0[hit])
        landing.vel_enu_m_s[idx] = v0[hit] + f * (v1[hit] - v0[hit])
        landing.time_s[idx] = t_s + f[:, 0] * dt_s
    state.pos_enu_m[active], state.vel_enu_m_s[active], state.height_m[active] = p1, v1, h1
    return active[~hit]
