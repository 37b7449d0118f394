"""Slow, per-object reference implementations for redcolor.physics and redcolor.sim, written
line by line from the docstring equations of ``redcolor.physics.ballistics`` and
``redcolor.sim.radar`` with plain floats."""

from __future__ import annotations

import math

from redcolor.physics.atmosphere import isa_density_kg_m3, isa_speed_of_sound_m_s
from redcolor.physics.ballistics import (
    EARTH_GM_M3_S2,
    EARTH_MEAN_RADIUS_M,
    EARTH_OMEGA_RAD_S,
    cd_shape,
)

Vec = tuple[float, float, float]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _add(a: Vec, b: Vec, k: float = 1.0) -> Vec:
    return (a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2])


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a: Vec) -> float:
    return math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)


def coast_accel_ref(
    pos: Vec, vel: Vec, beta: float, lat0_deg: float, alt0_m: float, wind: Vec = (0.0, 0.0, 0.0)
) -> Vec:
    """gravity -mu r/|r|^3 + drag -rho |v_air| v_air cd(M) / (2 beta) - 2 w x v - w x (w x r)."""
    centre = (0.0, 0.0, -(EARTH_MEAN_RADIUS_M + alt0_m))
    r = _sub(pos, centre)
    rn = _norm(r)
    g = tuple(-EARTH_GM_M3_S2 * c / rn**3 for c in r)
    alt = rn - EARTH_MEAN_RADIUS_M
    v_air = _sub(vel, wind)
    speed = _norm(v_air)
    rho = float(isa_density_kg_m3(alt))
    mach = speed / float(isa_speed_of_sound_m_s(alt))
    k = rho * speed * float(cd_shape(mach)) / (2.0 * beta)
    drag = tuple(-k * c for c in v_air)
    lat = math.radians(lat0_deg)
    w = (0.0, EARTH_OMEGA_RAD_S * math.cos(lat), EARTH_OMEGA_RAD_S * math.sin(lat))
    cor = tuple(-2.0 * c for c in _cross(w, vel))
    cen = tuple(-c for c in _cross(w, _cross(w, r)))
    return tuple(g[i] + drag[i] + cor[i] + cen[i] for i in range(3))  # type: ignore[return-value]


def propagate_ref(
    pos: Vec, vel: Vec, beta: float, lat0_deg: float, alt0_m: float, ground_alt_m: float, dt: float
) -> tuple[Vec, float]:
    """RK4 until the altitude drops to the ground; linear interpolation inside the last step."""
    centre = (0.0, 0.0, -(EARTH_MEAN_RADIUS_M + alt0_m))

    def height(p: Vec) -> float:
        return _norm(_sub(p, centre)) - EARTH_MEAN_RADIUS_M - ground_alt_m

    def acc(p: Vec, v: Vec) -> Vec:
        return coast_accel_ref(p, v, beta, lat0_deg, alt0_m)

    t = 0.0
    h0 = height(pos)
    while True:
        a1 = acc(pos, vel)
        p2, v2 = _add(pos, vel, dt / 2), _add(vel, a1, dt / 2)
        a2 = acc(p2, v2)
        p3, v3 = _add(pos, v2, dt / 2), _add(vel, a2, dt / 2)
        a3 = acc(p3, v3)
        p4, v4 = _add(pos, v3, dt), _add(vel, a3, dt)
        a4 = acc(p4, v4)
        new_pos = tuple(
            pos[i] + dt / 6 * (vel[i] + 2 * v2[i] + 2 * v3[i] + v4[i]) for i in range(3)
        )
        new_vel = tuple(vel[i] + dt / 6 * (a1[i] + 2 * a2[i] + 2 * a3[i] + a4[i]) for i in range(3))
        h1 = height(new_pos)  # type: ignore[arg-type]
        if h1 <= 0.0:
            f = h0 / (h0 - h1)
            hit = tuple(pos[i] + f * (new_pos[i] - pos[i]) for i in range(3))
            return hit, t + f * dt  # type: ignore[return-value]
        pos, vel, h0, t = new_pos, new_vel, h1, t + dt  # type: ignore[assignment]


def polar_ref(radar_enu: Vec, east: Vec, north: Vec, up: Vec, target: Vec) -> tuple[float, ...]:
    """Range, azimuth clockwise from north in [0, 2 pi) and elevation in the radar's axes."""
    d = _sub(target, radar_enu)
    e = sum(d[i] * east[i] for i in range(3))
    n = sum(d[i] * north[i] for i in range(3))
    u = sum(d[i] * up[i] for i in range(3))
    r = math.sqrt(e * e + n * n + u * u)
    az = math.atan2(e, n) % (2 * math.pi)
    return r, az, math.asin(u / r)
