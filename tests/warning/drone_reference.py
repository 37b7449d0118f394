"""The drone rule as it was before it was batched (one area query per track and scan), kept
as the reference the batched rule is checked against (tests/warning/test_drone_batch.py) and
timed against (bench/bench_drone_rule.py)."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from redcolor.warning.base import PredictionLike, ThreatDecision
from redcolor.warning.policies import CORRIDOR_ARC_POINTS, DRONE_STEP_S, _Policy


def drone_decision(policy: _Policy, p: PredictionLike, now: float) -> ThreatDecision | None:
    """One drone track's decision, queried on its own (the pre-batch ``_Policy._drone``)."""
    st, frame = policy.staging, policy.areas.frame
    horizon_s = policy.areas.max_shelter_s + st.margin_s
    t = np.asarray(p.path_t_unix_s, dtype=np.float64)
    lat = np.asarray(p.path_lat, dtype=np.float64)
    lon = np.asarray(p.path_lon, dtype=np.float64)
    if t.size == 0:
        t = np.array([max(now, p.impact_t_unix_s)])
        lat, lon = np.array([p.impact_lat]), np.array([p.impact_lon])
    x, y = frame.project(lat, lon)
    t_end = min(float(t[-1]), now + horizon_s)
    ts = np.append(np.arange(float(t[0]), t_end, DRONE_STEP_S), t_end)
    xs, ys = np.interp(ts, t, x), np.interp(ts, t, y)
    cov = np.asarray(p.cov_en_m2, dtype=np.float64)
    sigma_end_m = float(np.sqrt(max(np.linalg.eigvalsh(0.5 * (cov + cov.T)).max(), 0.0)))
    tau = np.clip((ts - now) / max(float(t[-1]) - now, 1.0), 0.0, 1.0)
    radius_m = float(policy._class_radius_m([p])[0])
    gap_m = np.hypot(np.diff(xs), np.diff(ys))
    half_gap_m = 0.5 * np.maximum(np.r_[gap_m, 0.0], np.r_[0.0, gap_m])
    reach_m = radius_m + policy.k * sigma_end_m * tau**1.5 + half_gap_m
    points = shapely.points(np.column_stack([xs, ys]))
    which, hit = policy.areas.tree.query(points, predicate="dwithin", distance=reach_m)
    ids = np.zeros(0, dtype=np.int64)
    reach_t = leave_t = np.zeros(0)
    if which.size:
        order = np.argsort(which, kind="stable")
        hit_ids = policy.areas.ids[hit[order]]
        ids, first = np.unique(hit_ids, return_index=True)
        _, last = np.unique(hit_ids[::-1], return_index=True)
        reach_t, leave_t = ts[which[order][first]], ts[which[order][::-1][last]]
        keep = reach_t - now <= policy.areas.shelter_s[ids] + st.margin_s
        ids, reach_t, leave_t = ids[keep], reach_t[keep], leave_t[keep]
    heading = np.arctan2(x[-1] - x[0], y[-1] - y[0])
    pre_ids = np.setdiff1d(_pre_alert_ids(policy, p, xs[0], ys[0], heading), ids)
    if ids.size + pre_ids.size == 0:
        return None
    all_ids = np.concatenate([ids, pre_ids])
    alert_at = np.concatenate([np.full(ids.shape, now), np.full(pre_ids.shape, np.inf)])
    unknown = np.full(pre_ids.shape, np.nan)
    earliest = np.concatenate([reach_t, unknown])
    latest = np.concatenate([leave_t, unknown])
    order = np.argsort(all_ids)
    return ThreatDecision(
        p.track_id,
        "hostile_aircraft",
        now,
        all_ids[order],
        alert_at[order],
        t_end,
        True,
        earliest[order],
        latest[order],
    )


def _pre_alert_ids(
    policy: _Policy, p: PredictionLike, x_m: float, y_m: float, heading_rad: float
) -> NDArray[np.int64]:
    st = policy.staging
    cruise = policy._classes([p])[0] == "cruise"
    radius_m = policy.radius_m["cruise" if cruise else "drone"]
    horizon_s = st.cruise_pre_alert_s if cruise else st.drone_pre_alert_s
    if horizon_s <= 0.0:
        return np.zeros(0, dtype=np.int64)
    reach_m = p.speed_m_s * horizon_s
    if not cruise or st.cruise_corridor_deg >= 180.0:
        return policy.areas.query(shapely.points([x_m], [y_m]), "dwithin", reach_m + radius_m)[0]
    half = np.radians(st.cruise_corridor_deg)
    bearing = heading_rad + np.linspace(-half, half, CORRIDOR_ARC_POINTS)
    ring = np.column_stack(
        [
            np.r_[x_m, x_m + reach_m * np.sin(bearing)],
            np.r_[y_m, y_m + reach_m * np.cos(bearing)],
        ]
    )
    return policy.areas.query(np.array([shapely.polygons(ring)]), "dwithin", radius_m)[0]
