"""Powered flight of a batch of projectiles of one type, recorded as trajectories.

Motor model: constant thrust ``T`` for ``burn_s`` seconds while the mass falls linearly from
``m0`` to ``m0 - propellant``; the ballistic coefficient follows the mass,
``beta(t) = m(t) / (cd0 A)``. Unguided rockets (and mortar bombs, which have no motor) leave the
launcher along the launch direction at ``launch_speed_m_s`` and their thrust acts along the
ground-relative velocity. ASSUMPTION: weathercocking into a crosswind is ignored. (Thrust along
the air-relative velocity, i.e. full and instant weathercocking, from a 30 m/s launcher exit
turns a Grad by kilometres in a 10 m/s crosswind, which we judge implausible; without it the
same wind moves the impact ~260 m downwind.) Guided ballistic missiles thrust along the fixed
launch direction until burnout (assumption: a constant-attitude boost stands in for the real
pitch programme). The burn is stepped in numpy over
:func:`redcolor.physics.ballistics.coast_accel` plus thrust; after burnout all projectiles coast
in the compiled kernel of :func:`redcolor.physics.ballistics.coast` (the same physics), in
blocks of ``COAST_BLOCK_RECORDS`` records.

Trajectories are recorded at every burn step and every ``record_step_s`` in the coast, and
read back with cubic Hermite interpolation of position and velocity (exact to well under a
metre for a 0.5 s record step); the last interval before impact ends at the impact state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redcolor.physics.ballistics import (
    AccelFn,
    BoolArray,
    EarthModel,
    FlatTerrain,
    FlightState,
    FloatArray,
    Landing,
    coast,
    coast_accel,
    step_to_ground,
)
from redcolor.physics.catalogue import Projectile

IntArray = NDArray[np.intp]
MIN_BURN_STEPS = 40
"""The burn is integrated in at least this many equal steps (thrust ends on a step boundary)."""
COAST_BLOCK_RECORDS = 256
"""Coast records the kernel fills per call (the objects still flying carry on in the next)."""


@dataclass(frozen=True)
class Trajectory:
    """Recorded flights of N objects that share a flight-time grid.

    Attributes
    ----------
    t_grid_s : ndarray (K,)
        Flight times of the records, seconds since each object's own launch.
    pos_enu_m, vel_enu_m_s : ndarray (K, N, 3)
        Recorded states (meaningless after an object's impact).
    impact_pos_enu_m, impact_vel_enu_m_s : ndarray (N, 3)
    impact_time_s : ndarray (N,)
        Flight time to impact (NaN if the object never landed).
    apogee_m : ndarray (N,)
        Highest altitude above sea level.
    beta_burnout_kg_m2 : ndarray (N,)
        True ballistic coefficient after burnout (``inf`` for drag-free objects).
    """

    t_grid_s: FloatArray
    pos_enu_m: FloatArray
    vel_enu_m_s: FloatArray
    impact_pos_enu_m: FloatArray
    impact_vel_enu_m_s: FloatArray
    impact_time_s: FloatArray
    apogee_m: FloatArray
    beta_burnout_kg_m2: FloatArray

    @property
    def landed(self) -> BoolArray:
        """Objects that reached the ground, (N,)."""
        return np.isfinite(self.impact_time_s)

    def state_at(self, idx: ArrayLike, tau_s: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Positions and velocities of objects ``idx`` at flight times ``tau_s``.

        Parameters
        ----------
        idx : array_like of int, shape (M,)
            Object indices.
        tau_s : array_like, shape (M,)
            Flight times, seconds (clipped to ``[0, impact_time_s]``).

        Returns
        -------
        pos_enu_m, vel_enu_m_s : ndarray (M, 3)
        """
        idx = np.asarray(idx, dtype=np.intp)
        t_end = self._t_end_s[idx]
        tau = np.minimum(np.maximum(np.asarray(tau_s, dtype=np.float64), 0.0), t_end)
        grid = self.t_grid_s
        last = grid.size - 1
        j = np.minimum(np.searchsorted(grid, tau, side="right") - 1, last)
        j1 = np.minimum(j + 1, last)
        t1_grid = grid[j1]
        to_impact = (j1 == j) | (t1_grid >= t_end)
        t1 = np.where(to_impact, t_end, t1_grid)
        p0, v0 = self.pos_enu_m[j, idx], self.vel_enu_m_s[j, idx]
        p1, v1 = self.pos_enu_m[j1, idx], self.vel_enu_m_s[j1, idx]
        if to_impact.any():
            p1[to_impact] = self.impact_pos_enu_m[idx[to_impact]]
            v1[to_impact] = self.impact_vel_enu_m_s[idx[to_impact]]
        return hermite(p0, v0, p1, v1, grid[j], t1, tau)

    @cached_property
    def _t_end_s(self) -> FloatArray:
        """Last readable flight time of each object: impact, or the end of the records."""
        return np.where(self.landed, self.impact_time_s, self.t_grid_s[-1])


def _beta(mass_kg: float | FloatArray, cda_m2: FloatArray) -> FloatArray:
    """Ballistic coefficient ``m / (cd0 A)``; ``inf`` where there is no drag."""
    with np.errstate(divide="ignore"):
        return np.asarray(mass_kg, dtype=np.float64) / cda_m2


def hermite(
    p0: FloatArray,
    v0: FloatArray,
    p1: FloatArray,
    v1: FloatArray,
    t0: FloatArray,
    t1: FloatArray,
    t: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Cubic Hermite interpolation between states (M, 3) at times t0, t1 (M,); returns at t."""
    h = np.maximum(t1 - t0, 1e-12)[:, None]
    s = np.minimum(np.maximum((t - t0)[:, None] / h, 0.0), 1.0)
    s2 = s * s
    s3 = s2 * s
    h01 = 3 * s2 - 2 * s3
    pos = p0 + h01 * (p1 - p0) + ((s3 - 2 * s2 + s) * h) * v0 + ((s3 - s2) * h) * v1
    d01 = (6 * s - 6 * s2) / h
    vel = d01 * (p1 - p0) + (3 * s2 - 4 * s + 1) * v0 + (3 * s2 - 2 * s) * v1
    return pos, vel


def fly(
    projectile: Projectile,
    launch_pos_enu_m: ArrayLike,
    launch_dir_enu: ArrayLike,
    earth: EarthModel,
    terrain: FlatTerrain,
    *,
    thrust_factor: ArrayLike = 1.0,
    drag_factor: ArrayLike = 1.0,
    wind_enu_m_s: ArrayLike | None = None,
    record_step_s: float = 0.5,
    max_time_s: float = 3_600.0,
) -> Trajectory:
    """Fly N projectiles of one type from launch to impact.

    Parameters
    ----------
    projectile : Projectile
    launch_pos_enu_m : array_like (N, 3)
        Where each leaves the launcher.
    launch_dir_enu : array_like (N, 3)
        Unit launch directions (for guided missiles also the thrust direction).
    earth, terrain : EarthModel, FlatTerrain
    thrust_factor, drag_factor : array_like (N,) or scalar
        Multipliers on the nominal thrust (the launch speed for projectiles without a motor)
        and on the drag coefficient (dispersion).
    wind_enu_m_s : array_like (3,), optional
    record_step_s : float
        Record interval in the coast, seconds (rounded to a multiple of the step).
    max_time_s : float
        Give up after this flight time.

    Returns
    -------
    Trajectory
    """
    pos = np.array(launch_pos_enu_m, dtype=np.float64, ndmin=2)
    n = pos.shape[0]
    direction = np.array(launch_dir_enu, dtype=np.float64, ndmin=2)
    direction = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    burn_s = projectile.burn_s
    factor = np.broadcast_to(np.asarray(thrust_factor, dtype=np.float64), (n,))
    # without a motor (mortar bombs) the thrust factor is the muzzle-velocity spread
    speed = projectile.launch_speed_m_s * (factor if burn_s == 0 else np.ones(n))
    vel = direction * speed[:, None]
    thrust_n = projectile.thrust_n * factor
    cda_m2 = (
        projectile.cd0 * projectile.area_m2 * np.broadcast_to(np.asarray(drag_factor, float), (n,))
    )
    wind = None if wind_enu_m_s is None else np.asarray(wind_enu_m_s, dtype=np.float64)
    mdot = projectile.propellant_kg / burn_s if burn_s > 0 else 0.0

    def burn_accel(t_start: float, dt: float, act: IntArray) -> AccelFn:
        thr, cda, fixed_dir = thrust_n[act], cda_m2[act], direction[act]

        def accel(frac: float, p: FloatArray, v: FloatArray) -> FloatArray:
            mass = projectile.mass_kg - mdot * (t_start + frac * dt)
            a = coast_accel(p, v, _beta(mass, cda), earth, wind)
            if projectile.guided_boost:
                along = fixed_dir
            else:
                along = v / np.linalg.norm(v, axis=1, keepdims=True)
            return a + (thr / mass)[:, None] * along

        return accel

    coast_dt = projectile.step_s
    n_burn = max(int(np.ceil(burn_s / (coast_dt / 2))), MIN_BURN_STEPS) if burn_s > 0 else 0
    every = max(1, round(record_step_s / coast_dt))

    t_rec, p_rec, v_rec = [np.zeros(1)], [pos[None].copy()], [vel[None].copy()]
    imp_pos, imp_vel = pos.copy(), vel.copy()
    imp_t = np.full(n, np.nan)
    apogee = earth.altitude_m(pos)
    h = apogee - terrain.ground_alt_m(pos, earth)
    flying = FlightState(pos, vel, h, apogee)
    landing = Landing(imp_pos, imp_vel, imp_t)
    active = np.arange(n)
    t = 0.0
    for _ in range(n_burn):
        if not (active.size and t < max_time_s):
            break
        dt = burn_s / n_burn
        active = step_to_ground(
            flying, landing, active, burn_accel(t, dt, active), t, dt, earth, terrain
        )
        t += dt
        t_rec.append(np.array([t]))
        p_rec.append(pos[None].copy())
        v_rec.append(vel[None].copy())
    in_air = np.zeros(n, np.bool_)
    in_air[active] = True
    # t after each coast step, accumulated as a step-by-step loop would; steps while t < max
    n_max = max(int(np.ceil((max_time_s - t) / coast_dt)), 0) + 2
    times = np.add.accumulate(np.r_[t, np.full(n_max, coast_dt)])
    allowed = int(np.searchsorted(times, max_time_s, side="left"))
    beta_dry = _beta(projectile.dry_mass_kg, cda_m2)
    done = 0
    while in_air.any() and done < allowed:
        n_steps = min(COAST_BLOCK_RECORDS * every, allowed - done)
        rec_pos, rec_vel = np.empty((2, n_steps // every, n, 3))
        steps = coast(
            flying, landing, in_air, beta_dry, earth, terrain, t0_s=float(times[done]),
            dt_s=coast_dt, n_steps=n_steps, wind_enu_m_s=wind, records=(rec_pos, rec_vel, every),
        )  # fmt: skip
        kept = int(steps.max()) // every
        t_rec.append(times[done + every : done + every * kept + 1 : every])
        p_rec.append(rec_pos[:kept])
        v_rec.append(rec_vel[:kept])
        done += int(steps.max())
    return Trajectory(
        t_grid_s=np.concatenate(t_rec),
        pos_enu_m=np.concatenate(p_rec),
        vel_enu_m_s=np.concatenate(v_rec),
        impact_pos_enu_m=imp_pos,
        impact_vel_enu_m_s=imp_vel,
        impact_time_s=imp_t,
        apogee_m=apogee,
        beta_burnout_kg_m2=beta_dry,
    )
