"""Slow, per-item reference implementations for redcolor.geo, written from the textbook formulas
and brute force, to check the vectorised code against."""

from __future__ import annotations

import itertools
import math
from typing import Any

from pyproj import Geod
from shapely.geometry import Point

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
_GEOD = Geod(ellps="WGS84")


def ecef_ref(lat_deg: float, lon_deg: float, alt_m: float) -> tuple[float, float, float]:
    """Geodetic to Earth-centred Earth-fixed metres: N = a / sqrt(1 - e^2 sin^2 lat)."""
    phi, lam = math.radians(lat_deg), math.radians(lon_deg)
    n = WGS84_A_M / math.sqrt(1.0 - WGS84_E2 * math.sin(phi) ** 2)
    return (
        (n + alt_m) * math.cos(phi) * math.cos(lam),
        (n + alt_m) * math.cos(phi) * math.sin(lam),
        (n * (1.0 - WGS84_E2) + alt_m) * math.sin(phi),
    )


def enu_ref(
    origin: tuple[float, float, float], lat_deg: float, lon_deg: float, alt_m: float
) -> tuple[float, float, float]:
    """East, north, up of one point relative to origin (lat, lon, alt), one at a time."""
    lat0, lon0, alt0 = origin
    x0, y0, z0 = ecef_ref(lat0, lon0, alt0)
    x, y, z = ecef_ref(lat_deg, lon_deg, alt_m)
    dx, dy, dz = x - x0, y - y0, z - z0
    phi, lam = math.radians(lat0), math.radians(lon0)
    e = -math.sin(lam) * dx + math.cos(lam) * dy
    n = (
        -math.sin(phi) * math.cos(lam) * dx
        - math.sin(phi) * math.sin(lam) * dy
        + math.cos(phi) * dz
    )
    u = math.cos(phi) * math.cos(lam) * dx + math.cos(phi) * math.sin(lam) * dy + math.sin(phi) * dz
    return e, n, u


def locate_ref(areas: Any, lat: float, lon: float) -> int:
    """Id of the smallest area (ties: lowest id) whose polygon holds the point, -1 if none."""
    point = Point(lon, lat)
    hits = [(a.polygon.area, a.id) for a in areas if a.polygon.intersects(point)]
    return min(hits)[1] if hits else -1


def meeting_ref(areas: Any, geom: Any) -> list[int]:
    """Ids of every area whose polygon intersects geom, sorted."""
    return sorted(a.id for a in areas if a.polygon.intersects(geom))


def distance_ref_m(area: Any, lat: float, lon: float, step_m: float = 10.0) -> float:
    """Geodesic distance from a point to an area's polygon: 0 inside, else the least geodesic
    distance to the boundary sampled every ``step_m`` metres or less."""
    if area.polygon.intersects(Point(lon, lat)):
        return 0.0
    best = math.inf
    for part in getattr(area.polygon, "geoms", [area.polygon]):
        for ring in [part.exterior, *part.interiors]:
            coords = list(ring.coords)
            for (x1, y1), (x2, y2) in itertools.pairwise(coords):
                seg_m = _GEOD.inv(x1, y1, x2, y2)[2]
                k = max(1, math.ceil(seg_m / step_m))
                for i in range(k + 1):
                    px, py = x1 + (x2 - x1) * i / k, y1 + (y2 - y1) * i / k
                    best = min(best, _GEOD.inv(lon, lat, px, py)[2])
    return best
