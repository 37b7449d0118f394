"""Hindsight from the ground truth: when radar first saw each projectile, and saw it again.

The simulator's scans are unlabelled, like a real radar's. A plot is taken as a detection of a
projectile when it lies within a 5-sigma gate of that projectile's true position at the scan
time (sigma from the radar's declared range and angle noise at that range). Clutter inside so
small a gate is negligible. This is only for the oracle and for scoring; the tracker never sees
the truth.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from redcolor.sim.run import SimulationResult

GATE_SIGMA = 5.0


def first_detections(sim: SimulationResult, plots: int = 1) -> dict[str, float]:
    """Projectile id -> time (Unix s) of the scan bringing its ``plots``-th plot (1: the first
    radar plot of it, what the oracle acts on; 2: the first time a track of it can exist, what
    the causal oracle acts on); absent if it never had that many.

    Parameters
    ----------
    sim : a finished simulation (its lazy scan stream is replayed once).
    plots : how many plots of the projectile (one per scan at most) make it detected.
    """
    radars = {r.registration.id: r for r in sim.radars}
    first: dict[str, float] = {}
    seen: dict[str, int] = {}
    pending_total = len(sim.truth)
    for scan in sim.scans:
        if not scan.plots or len(first) == pending_total:
            continue
        state = sim.truth_at(scan.t)
        todo = np.array([i for i, obj in enumerate(state.ids) if obj not in first], dtype=int)
        if todo.size == 0:
            continue
        radar = radars[scan.sensor]
        reg = radar.registration
        r = np.array([p.r for p in scan.plots])
        az = np.array([p.az for p in scan.plots])
        el = np.array([p.el for p in scan.plots])
        local = r[:, None] * np.column_stack(
            [np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)]
        )
        plots_enu_m = radar.pos_enu_m + local @ radar.axes
        pos = state.pos_enu_m[todo]
        range_m = np.linalg.norm(pos - radar.pos_enu_m, axis=1)
        sigma_m = np.hypot(reg.range_sigma_m, np.sqrt(2.0) * range_m * reg.angle_sigma_mrad * 1e-3)
        dist_m, _ = cKDTree(plots_enu_m).query(pos)
        for i in todo[dist_m <= GATE_SIGMA * sigma_m]:
            obj = state.ids[i]
            seen[obj] = seen.get(obj, 0) + 1
            if seen[obj] == plots:
                first[obj] = float(scan.t)
    return first
