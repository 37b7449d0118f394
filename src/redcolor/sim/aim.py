"""Aim solving: the launch elevation that reaches a ground range, from a range table.

The range table of a projectile is one batched flight of the nominal round (no dispersion, no
wind, no Earth rotation) at every elevation the launcher can lay, in steps of 0.5 degrees,
from flat ground at a given altitude. Ranges are great-circle distances at sea level. For a
requested range there are up to two elevations: the *low* one below the elevation of maximum
range and the *high* one above it; each branch is interpolated linearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from redcolor.errors import ScenarioError
from redcolor.physics.ballistics import EarthModel, FlatTerrain, FloatArray
from redcolor.physics.catalogue import Branch, get_projectile
from redcolor.sim.flight import fly

LAUNCHER_HEIGHT_M = 1.5
"""Height above ground at which a projectile leaves its launcher (assumption)."""


@dataclass(frozen=True)
class RangeTable:
    """Nominal range, flight time and apogee against launch elevation for one projectile.

    Attributes
    ----------
    projectile : str
    ground_alt_m : float
        Altitude of the flat ground the table was flown over.
    elevation_deg, range_m, flight_time_s, apogee_agl_m, impact_speed_m_s : ndarray (M,)
        Apogee is above the launch ground.
    """

    projectile: str
    ground_alt_m: float
    elevation_deg: FloatArray
    range_m: FloatArray
    flight_time_s: FloatArray
    apogee_agl_m: FloatArray
    impact_speed_m_s: FloatArray

    @property
    def best(self) -> int:
        """Index of the maximum range."""
        return int(np.argmax(self.range_m))

    @property
    def max_range_m(self) -> float:
        """Longest nominal range, metres."""
        return float(self.range_m[self.best])

    def _branch(self, branch: Branch) -> slice:
        return slice(0, self.best + 1) if branch == "low" else slice(self.best, None)

    def elevation_for(self, range_m: ArrayLike, branch: Branch) -> FloatArray:
        """Launch elevations (degrees) reaching ``range_m`` on the given branch, shape (N,).

        Raises
        ------
        ScenarioError
            If a range is outside what the branch reaches.
        """
        sl = self._branch(branch)
        ranges, elev = self.range_m[sl], self.elevation_deg[sl]
        order = np.argsort(ranges)
        r = np.atleast_1d(np.asarray(range_m, dtype=np.float64))
        lo, hi = float(ranges.min()), float(ranges.max())
        bad = (r < lo) | (r > hi)
        if bad.any():
            worst = float(r[bad][0])
            raise ScenarioError(
                f"{self.projectile} cannot reach {worst / 1000:.2f} km on a {branch} trajectory"
                f" (it reaches {lo / 1000:.2f}-{hi / 1000:.2f} km)"
            )
        return np.interp(r, ranges[order], elev[order])

    def at_range(self, range_m: float, branch: Branch) -> tuple[float, float, float]:
        """Elevation (deg), flight time (s) and apogee above ground (m) for one range."""
        elev = float(self.elevation_for([range_m], branch)[0])
        sl = self._branch(branch)
        el = self.elevation_deg[sl]
        return (
            elev,
            float(np.interp(elev, el, self.flight_time_s[sl])),
            float(np.interp(elev, el, self.apogee_agl_m[sl])),
        )


@lru_cache(maxsize=64)
def range_table(name: str, ground_alt_m: float = 0.0, step_deg: float = 0.5) -> RangeTable:
    """Fly the nominal projectile ``name`` at every elevation it can lay (cached).

    Parameters
    ----------
    name : str
        Catalogue name (not a drone).
    ground_alt_m : float
        Altitude of the flat ground, metres above sea level.
    step_deg : float
        Elevation step, degrees.
    """
    projectile = get_projectile(name)
    if projectile.kind == "drone":
        raise ScenarioError(f"{name} flies waypoints; it has no range table")
    lo, hi = projectile.elevation_deg
    elevation = np.arange(lo, hi + step_deg / 2, step_deg)
    earth = EarthModel(0.0, 0.0, ground_alt_m, rotating=False)
    n = elevation.size
    launch = np.tile([0.0, 0.0, LAUNCHER_HEIGHT_M], (n, 1))
    el = np.radians(elevation)
    direction = np.column_stack([np.zeros(n), np.cos(el), np.sin(el)])
    traj = fly(projectile, launch, direction, earth, FlatTerrain(ground_alt_m))
    return RangeTable(
        projectile=name,
        ground_alt_m=ground_alt_m,
        elevation_deg=elevation,
        range_m=earth.ground_range_m(launch, traj.impact_pos_enu_m),
        flight_time_s=traj.impact_time_s,
        apogee_agl_m=traj.apogee_m - ground_alt_m,
        impact_speed_m_s=np.linalg.norm(traj.impact_vel_enu_m_s, axis=1),
    )


def launch_directions(
    earth: EarthModel,
    launch_pos_enu_m: FloatArray,
    aim_pos_enu_m: FloatArray,
    elevation_deg: ArrayLike,
    azimuth_offset_rad: ArrayLike = 0.0,
) -> FloatArray:
    """Unit launch directions (N, 3) toward aim points at given elevations.

    The azimuth is that of the aim point in the launcher's local horizontal plane, turned by
    ``azimuth_offset_rad`` (positive = anticlockwise seen from above).
    """
    up = earth.up_enu(launch_pos_enu_m)
    d = aim_pos_enu_m - launch_pos_enu_m
    horiz = d - np.einsum("ij,ij->i", d, up)[:, None] * up
    horiz /= np.linalg.norm(horiz, axis=1, keepdims=True)
    off = np.asarray(azimuth_offset_rad, dtype=np.float64)
    off = np.broadcast_to(off, (launch_pos_enu_m.shape[0],))[:, None]
    horiz = horiz * np.cos(off) + np.cross(up, horiz) * np.sin(off)
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))[:, None]
    return horiz * np.cos(el) + up * np.sin(el)


def cross_track_m(
    earth: EarthModel, launch_pos_enu_m: FloatArray, aim_pos_enu_m: FloatArray, point: FloatArray
) -> FloatArray:
    """Signed distance of ``point`` from the launch-aim vertical plane (+ = anticlockwise side)."""
    up = earth.up_enu(launch_pos_enu_m)
    d = aim_pos_enu_m - launch_pos_enu_m
    horiz = d - np.einsum("ij,ij->i", d, up)[:, None] * up
    side = np.cross(up, horiz)
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", point - launch_pos_enu_m, side)
