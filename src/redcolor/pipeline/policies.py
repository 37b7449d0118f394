"""Policies by name, and the oracle's hindsight built from a simulation's ground truth.

Names: ``predicted``, ``zone``, ``oracle``, ``radius`` (3 km) and ``radius:<metres>``. The
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

POLICY_NAMES = ("predicted", "radius", "zone", "oracle")
DEFAULT_RADIUS_M = 3000.0
RADIUS_CHOICES_M = (1000.0, 2000.0, 3000.0, 5000.0, 8000.0)


def make_policy(name: str, index: AreaIndex, sim: SimulationResult | None) -> Policy:
    """The policy called ``name``; :class:`InputError` listing the choices otherwise.

    The oracle replays the simulation's scans once to find each projectile's first detection;
    without a simulation (``sim`` None: a feed of scans only) it is refused with InputError.
    """
    base, _, arg = name.partition(":")
    if base == "predicted" and not arg:
        return PredictedPolicy(index)
    if base == "zone" and not arg:
        return ZonePolicy(PredictedPolicy(index))
    if base == "oracle" and not arg:
        if sim is None:
            raise InputError("the oracle policy needs a simulation's ground truth, a feed has none")
        return OraclePolicy(oracle_threats(sim, index, first_detections(sim)))
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
