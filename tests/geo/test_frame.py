"""LocalFrame and grow: round trips, accuracy against pyproj geodesics and textbook ECEF."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from redcolor.geo import LocalFrame, grow

GEOD = Geod(ellps="WGS84")
ORIGIN = (32.996, 35.414, 1100.0)  # Mount Meron, roughly


def _points_within(radius_m: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    az = rng.uniform(0, 360, n)
    dist = radius_m * np.sqrt(rng.uniform(0, 1, n))
    lon, lat, _ = GEOD.fwd(np.full(n, ORIGIN[1]), np.full(n, ORIGIN[0]), az, dist)
    return np.asarray(lat), np.asarray(lon)


def test_enu_matches_per_point_reference(ref) -> None:
    lat, lon = _points_within(200_000.0, 300, seed=1)
    alt = np.random.default_rng(2).uniform(-100.0, 60_000.0, lat.size)
    frame = LocalFrame(*ORIGIN)
    e, n, u = frame.enu_from_geodetic(lat, lon, alt)
    expected = np.array([ref.enu_ref(ORIGIN, *p) for p in zip(lat, lon, alt, strict=True)])
    np.testing.assert_allclose(np.column_stack([e, n, u]), expected, rtol=0, atol=1e-3)


def test_enu_round_trip_within_200_km() -> None:
    lat, lon = _points_within(200_000.0, 2000, seed=3)
    alt = np.random.default_rng(4).uniform(-100.0, 100_000.0, lat.size)
    frame = LocalFrame(*ORIGIN)
    lat2, lon2, alt2 = frame.geodetic_from_enu(*frame.enu_from_geodetic(lat, lon, alt))
    np.testing.assert_allclose(lat2, lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(alt2, alt, rtol=0, atol=1e-4)


def test_enu_axes() -> None:
    frame = LocalFrame(*ORIGIN)
    np.testing.assert_allclose(frame.enu_from_geodetic(*ORIGIN), (0, 0, 0), atol=1e-6)
    # Straight up is +u only.
    np.testing.assert_allclose(
        frame.enu_from_geodetic(ORIGIN[0], ORIGIN[1], ORIGIN[2] + 5000.0), (0, 0, 5000), atol=1e-6
    )
    # A point 100 km due north on the ellipsoid is +n (the chord, R sin(d/R), ~4 m short of
    # the arc) and below the tangent plane by ~ d^2 / (2 R) = 785 m.
    sea_level = LocalFrame(ORIGIN[0], ORIGIN[1], 0.0)
    lon, lat, _ = GEOD.fwd(ORIGIN[1], ORIGIN[0], 0.0, 100_000.0)
    e, n, u = sea_level.enu_from_geodetic(lat, lon, 0.0)
    assert abs(e) < 1e-3 and 99_990 < n < 100_000 and -800 < u < -770


def test_enu_norm_is_ecef_chord(ref) -> None:
    lat, lon = _points_within(200_000.0, 200, seed=5)
    frame = LocalFrame(*ORIGIN)
    e, n, u = frame.enu_from_geodetic(lat, lon, 0.0)
    x0 = np.array(ref.ecef_ref(*ORIGIN))
    chord = [
        np.linalg.norm(np.array(ref.ecef_ref(a, b, 0.0)) - x0)
        for a, b in zip(lat, lon, strict=True)
    ]
    np.testing.assert_allclose(np.sqrt(e**2 + n**2 + u**2), chord, rtol=0, atol=1e-3)


def test_project_distance_and_azimuth_are_geodesic_within_200_km() -> None:
    lat, lon = _points_within(200_000.0, 2000, seed=6)
    frame = LocalFrame(ORIGIN[0], ORIGIN[1])
    x, y = frame.project(lat, lon)
    az, _, dist = GEOD.inv(np.full(lat.size, ORIGIN[1]), np.full(lat.size, ORIGIN[0]), lon, lat)
    assert np.max(np.abs(np.hypot(x, y) - dist)) < 1.0
    bearing = np.degrees(np.arctan2(x, y))
    far = dist > 1000
    diff = (bearing[far] - np.asarray(az)[far] + 180) % 360 - 180
    assert np.max(np.abs(diff)) < 1e-6


def test_project_round_trip_and_scalars() -> None:
    lat, lon = _points_within(200_000.0, 1000, seed=7)
    frame = LocalFrame(ORIGIN[0], ORIGIN[1])
    lat2, lon2 = frame.unproject(*frame.project(lat, lon))
    np.testing.assert_allclose(lat2, lat, atol=1e-10)
    np.testing.assert_allclose(lon2, lon, atol=1e-10)
    x, y = frame.project(ORIGIN[0], ORIGIN[1])
    assert float(x) == pytest.approx(0.0, abs=1e-9) and float(y) == pytest.approx(0.0, abs=1e-9)


def test_geometry_round_trip() -> None:
    frame = LocalFrame(ORIGIN[0], ORIGIN[1])
    poly = Polygon([(35.40, 32.98), (35.45, 32.99), (35.43, 33.02)])
    local = frame.to_local(poly)
    assert local.bounds[0] < 0 < local.bounds[2]
    back = frame.to_wgs84(local)
    np.testing.assert_allclose(
        shapely.get_coordinates(back), shapely.get_coordinates(poly), atol=1e-10
    )


@pytest.mark.parametrize("margin_m", [250.0, 1000.0, 5000.0])
def test_grow_point_is_geodesic_disc(margin_m: float) -> None:
    disc = grow(Point(ORIGIN[1], ORIGIN[0]), margin_m)
    xy = shapely.get_coordinates(disc.exterior)
    dist = GEOD.inv(np.full(len(xy), ORIGIN[1]), np.full(len(xy), ORIGIN[0]), xy[:, 0], xy[:, 1])[2]
    np.testing.assert_allclose(dist, margin_m, rtol=1e-6, atol=1e-3)


def test_grow_contains_original_and_rejects_bad_margin() -> None:
    poly = Polygon([(35.40, 32.98), (35.45, 32.99), (35.43, 33.02)])
    assert grow(poly, 300.0).contains(poly)
    assert grow(poly, 0.0).equals(poly)
    with pytest.raises(ValueError, match="margin"):
        grow(poly, -1.0)


def test_bad_origin() -> None:
    with pytest.raises(ValueError, match="latitude"):
        LocalFrame(95.0, 35.0)
    with pytest.raises(ValueError, match="longitude"):
        LocalFrame(32.0, float("nan"))


@settings(max_examples=60, deadline=None)
@given(
    lat0=st.floats(-85.0, 85.0),
    lon0=st.floats(-180.0, 180.0),
    az_deg=st.floats(0.0, 360.0),
    dist_m=st.floats(0.0, 200_000.0),
    alt_m=st.floats(-500.0, 100_000.0),
)
def test_round_trips_anywhere(lat0, lon0, az_deg, dist_m, alt_m) -> None:
    frame = LocalFrame(lat0, lon0, 0.0)
    lon, lat, _ = GEOD.fwd(lon0, lat0, az_deg, dist_m)
    lat2, lon2, alt2 = frame.geodetic_from_enu(*frame.enu_from_geodetic(lat, lon, alt_m))
    assert abs(lat2 - lat) < 1e-8 and abs((lon2 - lon + 180) % 360 - 180) < 1e-8
    assert abs(alt2 - alt_m) < 1e-3
    x, y = frame.project(lat, lon)
    assert abs(float(np.hypot(x, y)) - dist_m) < 1.0
    lat3, lon3 = frame.unproject(x, y)
    assert abs(lat3 - lat) < 1e-8 and abs((lon3 - lon + 180) % 360 - 180) < 1e-8
