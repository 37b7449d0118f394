"""Threat classes a real system can tell apart, and a conservative danger radius for each.

The tracker does not know which projectile it follows, so the warning cannot use the true
projectile's danger radius. It knows what radar sees: the motion model (ballistic or slow
drone), the speed, and how long the flight lasts (predicted impact minus first detection).
From those it sorts a threat into a class, and the class's danger radius is the largest
``danger_radius_m`` among the catalogue projectiles of that class: conservative for every member.

Classes
-------
``rocket``
    Ballistic track, predicted flight since detection under ``MISSILE_FLIGHT_S`` and speed under
    ``MISSILE_SPEED_M_S``: rockets and mortars (catalogue kinds ``rocket`` and ``mortar``).
``missile``
    Ballistic track above either bound: ballistic missiles (catalogue kind ``ballistic``).
``drone``
    Drone track no faster than ``CRUISE_SPEED_M_S``: one-way attack drones (catalogue kind
    ``drone`` with a top cruise speed at most that).
``cruise``
    Drone track faster than that: subsonic cruise missiles (kind ``drone``, faster).

The bounds are assumptions: the longest-range heavy rockets in REFERENCE.md (Fajr-5, ~75 km)
fly well under 240 s and stay under about 1.3 km/s, while a medium-range ballistic missile flies
10-12 minutes (Ynet, REFERENCE.md) and re-enters at several km/s. Between drones (Shahed-136:
at most ~51 m/s) and cruise missiles (~250 m/s) any bound works; 150 m/s is the middle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from redcolor.physics.catalogue import CATALOGUE, Projectile

ThreatClass = Literal["rocket", "missile", "drone", "cruise"]
MISSILE_FLIGHT_S = 240.0
"""Assumption: a ballistic flight longer than this (from first detection) is a missile."""
MISSILE_SPEED_M_S = 1500.0
"""Assumption: a ballistic track faster than this is a missile."""
CRUISE_SPEED_M_S = 150.0
"""Assumption: a drone track faster than this is a cruise missile."""


def _class_of(p: Projectile) -> ThreatClass:
    if p.kind == "drone":
        return "cruise" if p.cruise_speed_m_s[1] > CRUISE_SPEED_M_S else "drone"
    return _BALLISTIC_CLASS[p.kind]


_BALLISTIC_CLASS: Mapping[str, ThreatClass] = {
    "rocket": "rocket",
    "mortar": "rocket",
    "ballistic": "missile",
}


def class_danger_radius_m() -> dict[ThreatClass, float]:
    """Largest catalogue danger radius per threat class, metres."""
    radius: dict[ThreatClass, float] = {}
    for cls in get_args(ThreatClass):
        members = [p.danger_radius_m for p in CATALOGUE.values() if _class_of(p) == cls]
        if not members:
            raise ValueError(f"catalogue has no projectile of class {cls}")
        radius[cls] = float(max(members))
    return radius


def classify(
    kind: NDArray[np.str_],
    flight_s: NDArray[np.float64],
    speed_m_s: NDArray[np.float64],
) -> NDArray[np.str_]:
    """Threat class per track.

    Parameters
    ----------
    kind : ndarray of str, shape (N,)
        Tracker motion model, ``"ballistic"`` or ``"drone"``.
    flight_s : ndarray, shape (N,)
        Predicted impact time minus first detection time, seconds.
    speed_m_s : ndarray, shape (N,)
        Current speed, m/s.

    Returns
    -------
    ndarray of str, shape (N,)
        ``"rocket"``, ``"missile"``, ``"drone"`` or ``"cruise"``.
    """
    kind = np.asarray(kind)
    speed = np.asarray(speed_m_s)
    missile = (np.asarray(flight_s) > MISSILE_FLIGHT_S) | (speed > MISSILE_SPEED_M_S)
    air = np.where(speed > CRUISE_SPEED_M_S, "cruise", "drone")
    return np.where(kind == "drone", air, np.where(missile, "missile", "rocket"))
