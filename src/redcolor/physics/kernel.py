"""The compiled coast kernel: N unpowered objects flown to the ground, one fused loop per row.

This is the implementation of :func:`redcolor.physics.ballistics.propagate_to_ground` (the
impact predictor) and of the coast phase of the simulator's flights. The physics is that of
the numpy :func:`redcolor.physics.ballistics.coast_accel` (the tracker's motion model and the
reference this kernel is tested against, ``tests/sim/test_kernel.py``): gravity toward the
centre of a sphere, drag with the Mach shape and the ISA lookup table, Coriolis and
centrifugal terms, RK4 steps and the ground crossing interpolated linearly in height. No
constant lives here: the tables, the Earth and the rotation matrices come in as arguments
(:func:`redcolor.physics.ballistics.kernel_physics` builds them from their one definition).

Rows are independent and spread over the cores (``prange``); the machine code is cached on
disk (``cache=True``) so it is compiled once per install, or once per process when no cache
directory is writable. A row whose state stops being finite is dropped (not landed).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
Physics = tuple[Any, ...]
"""The constants of the coast physics, as built by ``ballistics.kernel_physics``."""
_JIT_OPTIONS: dict[str, Any] = {"nogil": True, "error_model": "numpy", "fastmath": False}


def _compiled(fn: Callable[..., Any], **options: Any) -> Any:
    """``numba.njit`` with the on-disk cache, or without it when no cache directory is usable
    (numba refuses to decorate then)."""
    try:
        return numba.njit(cache=True, **_JIT_OPTIONS, **options)(fn)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        warnings.warn(f"numba cache unavailable, compiling each run: {exc}", stacklevel=2)
        return numba.njit(cache=False, **_JIT_OPTIONS, **options)(fn)


def _atmosphere(
    alt_m: float, alt0_m: float, step_m: float, log_rho: F64, d_log_rho: F64, sound: F64,
    d_sound: F64,
) -> tuple[float, float]:  # fmt: skip
    """Density and speed of sound from the uniform lookup table (as ``ballistics.atmosphere``)."""
    x = (alt_m - alt0_m) / step_m
    if x != x:  # NaN: no table cell
        return math.nan, math.nan
    x = min(max(x, 0.0), log_rho.shape[0] - 1.000001)
    i = int(x)
    f = x - i
    return math.exp(log_rho[i] + f * d_log_rho[i]), sound[i] + f * d_sound[i]


_atmosphere = _compiled(_atmosphere, inline="always")


def _interp(x: float, xp: F64, fp: F64) -> float:
    """``np.interp(x, xp, fp)`` for one ``x`` (end values outside ``xp``, NaN for NaN)."""
    if x != x:
        return math.nan
    last = xp.shape[0] - 1
    if x >= xp[last]:
        return fp[last]
    if x <= xp[0]:
        return fp[0]
    j, hi = 0, last  # xp[j] < x < xp[hi]
    while hi - j > 1:
        mid = (j + hi) // 2
        if xp[mid] <= x:
            j = mid
        else:
            hi = mid
    return (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) * (x - xp[j]) + fp[j]


_interp = _compiled(_interp, inline="always")


def _accel(
    px: float, py: float, pz: float, vx: float, vy: float, vz: float, beta: float,
    wx: float, wy: float, wz: float, phys: Physics,
) -> tuple[float, float, float]:  # fmt: skip
    """Coast acceleration of one object (as ``ballistics.coast_accel``)."""
    centre, radius, gm, rotating, cor, cen, off, alt0, step, lr, dlr, snd, dsnd, cm, cs = phys
    rx, ry, rz = px - centre[0], py - centre[1], pz - centre[2]
    norm = math.sqrt(rx * rx + ry * ry + rz * rz)
    g = -gm / (norm * norm * norm)
    ux, uy, uz = vx - wx, vy - wy, vz - wz
    speed = math.sqrt(ux * ux + uy * uy + uz * uz)
    rho, a_sound = _atmosphere(norm - radius, alt0, step, lr, dlr, snd, dsnd)
    k = rho * speed * _interp(speed / a_sound, cm, cs) / (2.0 * beta)
    ax, ay, az = g * rx - k * ux, g * ry - k * uy, g * rz - k * uz
    if rotating:
        ax += vx * cor[0, 0] + vy * cor[1, 0] + vz * cor[2, 0] + (
            px * cen[0, 0] + py * cen[1, 0] + pz * cen[2, 0]) - off[0]  # fmt: skip
        ay += vx * cor[0, 1] + vy * cor[1, 1] + vz * cor[2, 1] + (
            px * cen[0, 1] + py * cen[1, 1] + pz * cen[2, 1]) - off[1]  # fmt: skip
        az += vx * cor[0, 2] + vy * cor[1, 2] + vz * cor[2, 2] + (
            px * cen[0, 2] + py * cen[1, 2] + pz * cen[2, 2]) - off[2]  # fmt: skip
    return ax, ay, az


_accel = _compiled(_accel, inline="always")


def _rk4(
    px: float, py: float, pz: float, vx: float, vy: float, vz: float, beta: float,
    wx: float, wy: float, wz: float, dt: float, phys: Physics,
) -> tuple[float, float, float, float, float, float]:  # fmt: skip
    """One classical RK4 step of one object (as ``ballistics.rk4_step``)."""
    h = 0.5 * dt
    a1x, a1y, a1z = _accel(px, py, pz, vx, vy, vz, beta, wx, wy, wz, phys)
    v2x, v2y, v2z = vx + h * a1x, vy + h * a1y, vz + h * a1z
    a2x, a2y, a2z = _accel(px + h * vx, py + h * vy, pz + h * vz, v2x, v2y, v2z,
                           beta, wx, wy, wz, phys)  # fmt: skip
    v3x, v3y, v3z = vx + h * a2x, vy + h * a2y, vz + h * a2z
    a3x, a3y, a3z = _accel(px + h * v2x, py + h * v2y, pz + h * v2z, v3x, v3y, v3z,
                           beta, wx, wy, wz, phys)  # fmt: skip
    v4x, v4y, v4z = vx + dt * a3x, vy + dt * a3y, vz + dt * a3z
    a4x, a4y, a4z = _accel(px + dt * v3x, py + dt * v3y, pz + dt * v3z, v4x, v4y, v4z,
                           beta, wx, wy, wz, phys)  # fmt: skip
    s = dt / 6.0
    return (
        px + s * (vx + 2.0 * v2x + 2.0 * v3x + v4x),
        py + s * (vy + 2.0 * v2y + 2.0 * v3y + v4y),
        pz + s * (vz + 2.0 * v2z + 2.0 * v3z + v4z),
        vx + s * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + s * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        vz + s * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
    )


_rk4 = _compiled(_rk4, inline="always")


def coast_rows(
    pos: F64, vel: F64, height: F64, apogee: F64, flying: NDArray[np.bool_], beta: F64,
    wind: F64, ground_alt_m: float, t0_s: float, dt_s: float, n_steps: int,
    imp_pos: F64, imp_vel: F64, imp_t: F64, steps: NDArray[np.intp], rec_pos: F64,
    rec_vel: F64, record_every: int, phys: Physics,
) -> None:  # fmt: skip
    """Fly the ``flying`` rows up to ``n_steps`` RK4 steps of ``dt_s`` from time ``t0_s``.

    In place, for each flying row ``i``: ``pos``/``vel`` (N, 3), ``height`` above the ground
    (N,) and ``apogee`` (N,) advance step by step; on the step that ends at or below the ground
    the crossing (linear in height within the step) goes to ``imp_pos``/``imp_vel`` (N, 3) and
    ``imp_t`` (N,), the row stops (the state kept is the one after that step) and ``flying[i]``
    turns False; a row whose height stops being finite stops too, not landed. ``steps[i]`` is
    the number of steps the row took. ``rec_pos``/``rec_vel`` (R, N, 3) record the state after
    steps ``record_every``, ``2 record_every``, ... (up to R of them; a stopped row repeats its
    last state); R may be 0. ``wind`` is (N, 3); ``phys`` is
    :func:`redcolor.physics.ballistics.kernel_physics`.
    """
    n = pos.shape[0]
    n_rec = rec_pos.shape[0]
    every = record_every
    for i in numba.prange(n):
        if not flying[i]:
            for r in range(n_rec):
                for j in range(3):
                    rec_pos[r, i, j] = pos[i, j]
                    rec_vel[r, i, j] = vel[i, j]
            steps[i] = 0
            continue
        px, py, pz = pos[i, 0], pos[i, 1], pos[i, 2]
        vx, vy, vz = vel[i, 0], vel[i, 1], vel[i, 2]
        wx, wy, wz = wind[i, 0], wind[i, 1], wind[i, 2]
        b, h0, top = beta[i], height[i], apogee[i]
        cx, cy, cz = phys[0][0], phys[0][1], phys[0][2]
        radius = phys[1]
        t = t0_s
        taken = 0
        for k in range(n_steps):
            qx, qy, qz, ux, uy, uz = _rk4(px, py, pz, vx, vy, vz, b, wx, wy, wz, dt_s, phys)
            rx, ry, rz = qx - cx, qy - cy, qz - cz
            alt1 = math.sqrt(rx * rx + ry * ry + rz * rz) - radius
            h1 = alt1 - ground_alt_m
            if not alt1 <= top:  # also takes a NaN, as np.maximum does
                top = alt1
            taken = k + 1
            if h1 <= 0.0:
                f = h0 / (h0 - h1)
                if f < 0.0:
                    f = 0.0
                elif f > 1.0:
                    f = 1.0
                imp_pos[i, 0], imp_pos[i, 1], imp_pos[i, 2] = (
                    px + f * (qx - px), py + f * (qy - py), pz + f * (qz - pz))  # fmt: skip
                imp_vel[i, 0], imp_vel[i, 1], imp_vel[i, 2] = (
                    vx + f * (ux - vx), vy + f * (uy - vy), vz + f * (uz - vz))  # fmt: skip
                imp_t[i] = t + f * dt_s
                flying[i] = False
            elif not math.isfinite(h1):
                flying[i] = False
            px, py, pz, vx, vy, vz, h0 = qx, qy, qz, ux, uy, uz, h1
            t += dt_s
            if taken % every == 0 and taken // every <= n_rec:
                r = taken // every - 1
                rec_pos[r, i, 0], rec_pos[r, i, 1], rec_pos[r, i, 2] = px, py, pz
                rec_vel[r, i, 0], rec_vel[r, i, 1], rec_vel[r, i, 2] = vx, vy, vz
            if not flying[i]:
                break
        for r in range(taken // every, n_rec):
            rec_pos[r, i, 0], rec_pos[r, i, 1], rec_pos[r, i, 2] = px, py, pz
            rec_vel[r, i, 0], rec_vel[r, i, 1], rec_vel[r, i, 2] = vx, vy, vz
        pos[i, 0], pos[i, 1], pos[i, 2] = px, py, pz
        vel[i, 0], vel[i, 1], vel[i, 2] = vx, vy, vz
        height[i], apogee[i], steps[i] = h0, top, taken


coast_rows = _compiled(coast_rows, parallel=True)
