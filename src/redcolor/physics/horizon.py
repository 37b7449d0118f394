"""The radar horizon: line of sight over a smooth Earth with standard atmospheric refraction.

Radio waves bend down in the standard atmosphere (refractivity falling with height), which is
modelled, as is usual for radar, by straight rays over an Earth of effective radius
``k R`` with ``k = 4/3`` (ITU-R P.834; Skolnik, *Introduction to Radar Systems*, ch. 12). The
horizon range of a radar ``h_r`` metres up for a target ``h_t`` metres up is then
``sqrt(2 k R h_r) + sqrt(2 k R h_t)``, about ``4.12 (sqrt(h_r) + sqrt(h_t))`` km: a cruise
missile 100 m up is seen by a radar 500 m up from ~133 km, and from under 100 km by a radar
on a 50 m mast.

:func:`clears_horizon` maps both ends to the effective Earth exactly (same heights above the
ground sphere, same arc length along it, so the central angle shrinks by ``1/k``) and checks
that the straight segment between them clears the effective ground sphere. ASSUMPTIONS: a
standard atmosphere (no ducting), a smooth ground sphere (no terrain masking).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
EFFECTIVE_EARTH_K = 4.0 / 3.0
"""Effective-Earth-radius factor of the standard atmosphere (ITU-R P.834)."""


def horizon_range_m(h_radar_m: float, h_target_m: float, earth_radius_m: float) -> float:
    """Distance to the radar horizon for two heights above a smooth Earth, metres."""
    re = EFFECTIVE_EARTH_K * earth_radius_m
    return float(np.sqrt(2.0 * re * max(h_radar_m, 0.0)) + np.sqrt(2.0 * re * max(h_target_m, 0.0)))


def clears_horizon(
    radar_from_centre_m: F64, targets_from_centre_m: F64, ground_radius_m: float
) -> NDArray[np.bool_]:
    """Whether a refracted ray joins the radar (3,) to each target (N, 3), both given from the
    Earth's centre, over a ground sphere of radius ``ground_radius_m``."""
    a = np.asarray(radar_from_centre_m, dtype=np.float64)
    b = np.asarray(targets_from_centre_m, dtype=np.float64)
    na = float(np.linalg.norm(a))
    nb = np.linalg.norm(b, axis=1)
    cos_t = np.clip((b @ a) / np.maximum(nb * na, 1e-9), -1.0, 1.0)
    theta = np.arccos(cos_t) / EFFECTIVE_EARTH_K
    re = EFFECTIVE_EARTH_K * ground_radius_m
    ra, rb = re + (na - ground_radius_m), re + (nb - ground_radius_m)
    # in the plane of the two ends: A = (ra, 0), B = rb (cos theta, sin theta)
    bx, by = rb * np.cos(theta), rb * np.sin(theta)
    dx, dy = bx - ra, by
    dd = np.maximum(dx * dx + dy * dy, 1e-12)
    s = np.clip(-(ra * dx) / dd, 0.0, 1.0)
    return np.hypot(ra + s * dx, s * dy) >= re - 0.01
