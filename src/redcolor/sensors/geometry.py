"""Height and elevation of a radar plot (I048/110 carries height, the tracker wants elevation).

ASSUMPTION, shared with ``sim/radar.py``: a spherical Earth of radius
:data:`redcolor.physics.ballistics.EARTH_MEAN_RADIUS_M` and straight lines of sight (no
refraction); "height" is the height above that sphere (mean sea level).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M


def height_from_elevation_m(
    range_m: ArrayLike, elevation_rad: ArrayLike, radar_alt_m: ArrayLike
) -> NDArray[np.float64]:
    """Height above the sphere of a target at slant ``range_m`` and ``elevation_rad`` from a
    radar ``radar_alt_m`` above it (spherical Earth, straight line of sight)::

        (R + h)^2 = (R + a)^2 + r^2 + 2 r (R + a) sin(el)

    solved as ``h = a + (r^2 + 2 r (R + a) sin el) / (sqrt(...) + R + a)`` (no cancellation).
    Broadcasts its arguments.
    """
    r = np.asarray(range_m, dtype=np.float64)
    ra = EARTH_MEAN_RADIUS_M + np.asarray(radar_alt_m, dtype=np.float64)
    extra = r * (r + 2.0 * ra * np.sin(np.asarray(elevation_rad, dtype=np.float64)))
    return ra - EARTH_MEAN_RADIUS_M + extra / (np.sqrt(ra * ra + extra) + ra)


def elevation_from_height_rad(
    range_m: ArrayLike, height_m: ArrayLike, radar_alt_m: ArrayLike, tolerance_m: float = 0.0
) -> NDArray[np.float64]:
    """Elevation of a target at slant ``range_m`` and ``height_m`` above the sphere, the inverse
    of :func:`height_from_elevation_m`::

        sin(el) = ((h - a) (2 R + h + a) - r^2) / (2 r (R + a))

    The reach at range ``r`` is ``a - r`` (straight down) to ``a + r`` (straight up); a height
    beyond it by at most ``tolerance_m`` (rounding: the range and height a radar reports are
    quantised separately) is taken as straight up or down. NaN where no elevation fits (the
    height is further out of reach, or ``range_m <= 0``).
    """
    r = np.asarray(range_m, dtype=np.float64)
    a = np.asarray(radar_alt_m, dtype=np.float64)
    h = np.asarray(height_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = ((h - a) * (2.0 * EARTH_MEAN_RADIUS_M + h + a) - r * r) / (
            2.0 * r * (EARTH_MEAN_RADIUS_M + a)
        )
        beyond_m = np.abs(h - a) - r  # > 0: out of reach (NaN for a NaN input)
        s = np.where((beyond_m >= 0.0) & (beyond_m <= tolerance_m), np.sign(h - a), s)
        s = np.where((r > 0.0) & (np.abs(s) <= 1.0), s, np.nan)
        return np.arcsin(s)
