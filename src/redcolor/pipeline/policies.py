"""Policies by name, and the oracle's hindsight built from a simulation's ground truth.

Names: ``predicted``, ``zone``, ``oracle``, ``causal``, ``radius`` (3 km) and
``radius:<metres>``. ``oracle`` warns exactly the areas each projectile lands in at its first
radar plot (a bound no system meets: one plot cannot be told from clutter); ``causal`` the same
areas at its second plot, the first moment a track of it can exist (the yardstick for
``late_unavoidable``). The
``radius`` baseline of issue 5 picks its radius with hindsight (the smallest of 1, 2, 3, 5 and
8 km that misses nothing); :mod:`redcolor.eval` does that by running ``radius:<m>`` lanes.
"""

from __future__ import annotations

import numpy as np

from redcolor.errors import InputError
from redcolor.geo import AreaIndex
from redcolor.pipeline.truth import first_detections
from redcolor.sim.run import SimulationResult
from redcolor.warning.base import Policy
from redcolor.warning.policies import (
    OraclePolicy,
    OracleThreat,
    PredictedPolicy,
    RadiusPolicy,
    ZonePolicy,
)

POLICY_NAMES = ("predicted", "radius", "zone", "oracle", "causal")
ORACLE_PLOTS = {"oracle": 1, "causal": 2}
"""The hindsight policies: how many radar plots of a projectile each waits for."""
DEFAULT_RADIUS_M = 3000.0
RADIUS_CHOICES_M = (1000.0, 2000.0, 3000.0, 5000.0, 8000.0)


def make_policy(name: str, index: AreaIndex, sim: SimulationResult | None) -> Policy:
    """The policy called ``name``; :class:`InputError` listing the choices otherwise.

    The oracles replay the simulation's scans once to find each projectile's first (second)
    plot; without a simulation (``sim`` None: a feed of scans only) they are refused with
    InputError.
    """
    base, _, arg = name.partition(":")
    if base == "predicted" and not arg:
        return PredictedPolicy(index)
    if base == "zone" and not arg:
        return ZonePolicy(PredictedPolicy(index))
    if base in ORACLE_PLOTS and not arg:
        if sim is None:
            raise InputError(
                f"the {base} policy needs a simulation's ground truth; a feed has none"
            )
        return oracle_policy(base, sim, index)
    if base == "radius":
        try:
            radius_m = float(arg) if arg else DEFAULT_RADIUS_M
        except ValueError:
            radius_m = -1.0
        if radius_m > 0:
            policy = RadiusPolicy(index, radius_m)
            policy.name = name
            return policy
    raise InputError(f"unknown policy {name!r}; choose one of {', '.join(POLICY_NAMES)}")


def oracle_policy(name: str, sim: SimulationResult, index: AreaIndex) -> OraclePolicy:
    """The hindsight policy ``name`` (``oracle`` or ``causal``, :data:`ORACLE_PLOTS`) on ``sim``."""
    seen = first_detections(sim, ORACLE_PLOTS[name])
    policy = OraclePolicy(oracle_threats(sim, index, seen))
    policy.name = name
    return policy


def oracle_threats(
    sim: SimulationResult, index: AreaIndex, first_seen: dict[str, float]
) -> list[OracleThreat]:
    """Per true projectile: its areas in danger and the time radar first saw it.

    ``needed_area_ids`` follows the scoring rule of :mod:`redcolor.eval.score`: the areas within
    the projectile's ``danger_radius_m`` of its true impact point.
    """
    out = []
    for rec in sim.truth:
        needed = index.within_m(rec.impact.lat, rec.impact.lon, rec.danger_radius_m)
        first = first_seen.get(rec.id)
        out.append(
            OracleThreat(
                threat_id=f"truth:{rec.id}",
                category="hostile_aircraft" if rec.kind == "drone" else "missiles",
                first_detection_t_unix_s=np.inf if first is None else first,
                impact_t_unix_s=rec.impact.t,
                needed_area_ids=needed,
            )
        )
    return out
