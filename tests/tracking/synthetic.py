"""A small synthetic world for tracker unit tests (independent of the simulator).

Flat Earth, constant gravity, exponential atmosphere, quadratic drag with a constant drag
coefficient folded into beta. Radars sit in the same ENU frame (identity rotation).
"""

from __future__ import annotations

import numpy as np

from redcolor.model import Plot, Scan
from redcolor.tracking.measurement import RadarPose, polar_from_enu

G_M_S2 = 9.80665
RHO0_KG_M3 = 1.225
SCALE_HEIGHT_M = 8500.0


def simple_accel(pos_enu_m, vel_enu_m_s, beta_kg_m2):
    rho = RHO0_KG_M3 * np.exp(-np.clip(pos_enu_m[:, 2], -500.0, None) / SCALE_HEIGHT_M)
    speed = np.linalg.norm(vel_enu_m_s, axis=1)
    a = -(rho * speed / (2.0 * beta_kg_m2))[:, None] * vel_enu_m_s
    a[:, 2] -= G_M_S2
    return a


def pose(radar_id="r1", pos=(0.0, 0.0, 0.0), range_sigma_m=10.0, angle_sigma_rad=1e-3, rr=None):
    return RadarPose(
        id=radar_id,
        pos_enu_m=np.asarray(pos, dtype=float),
        rot_enu_from_radar=np.eye(3),
        range_sigma_m=range_sigma_m,
        angle_sigma_rad=angle_sigma_rad,
        range_rate_sigma_m_s=rr,
        max_range_m=100_000.0,
        min_elevation_rad=0.0,
    )


def fly(pos0, vel0, beta, t0, dt=0.01, t_max=200.0):
    """Truth trajectories: list of (t (K,), pos (K,3), vel (K,3)) per object, until ground."""
    out = []
    for p0, v0, b, s in zip(pos0, vel0, beta, t0, strict=True):
        p, v = np.array(p0, float), np.array(v0, float)
        ts, ps, vs = [s], [p.copy()], [v.copy()]
        t = s
        while p[2] >= 0.0 and t - s < t_max:
            a = simple_accel(p[None], v[None], np.array([b]))[0]
            v = v + a * dt
            p = p + v * dt
            t += dt
            ts.append(t)
            ps.append(p.copy())
            vs.append(v.copy())
        out.append((np.array(ts), np.array(ps), np.array(vs)))
    return out


def scans(truths, radar, t_start, t_end, period=1.0, pd=1.0, clutter=0.0, seed=0):
    """Noisy scans of one radar over the truths (nearest truth sample to each scan time)."""
    rng = np.random.default_rng(seed)
    result = []
    t = t_start
    while t <= t_end:
        rows = []
        for ts, ps, vs in truths:
            if ts[0] <= t <= ts[-1] and rng.random() < pd:
                k = int(np.searchsorted(ts, t))
                z = polar_from_enu(ps[k][None], vs[k][None], radar)[0]
                if z[2] < 0:
                    continue
                rows.append(z)
        n_clutter = rng.poisson(clutter)
        plots = []
        for z in rows:
            plots.append(
                Plot(
                    r=float(z[0] + rng.normal(0, radar.range_sigma_m)),
                    az=float(np.mod(z[1] + rng.normal(0, radar.angle_sigma_rad), 2 * np.pi)),
                    el=float(z[2] + rng.normal(0, radar.angle_sigma_rad)),
                )
            )
        for _ in range(n_clutter):
            plots.append(
                Plot(
                    r=float(rng.uniform(1000, 60000)),
                    az=float(rng.uniform(0, 2 * np.pi)),
                    el=float(rng.uniform(0.0, 0.5)),
                )
            )
        result.append(Scan(sensor=radar.id, t=float(t), plots=plots))
        t += period
    return result
