"""The radar model: geometry against the reference, noise and detection statistics, limits."""

from __future__ import annotations

import numpy as np
import pytest

from redcolor.geo.frame import LocalFrame
from redcolor.model import SensorRegistration
from redcolor.physics.ballistics import EarthModel
from redcolor.sim.radar import RadarModel

ORIGIN = (32.9, 35.4, 100.0)


def _radar(**overrides: float | None) -> RadarModel:
    fields = {
        "id": "r1",
        "lat": 32.95,
        "lon": 35.45,
        "alt_m": 110.0,
        "scan_period_s": 1.0,
        "range_sigma_m": 15.0,
        "angle_sigma_mrad": 2.0,
        "detection_probability": 1.0,
        "false_alarms_per_scan": 0.0,
        "max_range_km": 80.0,
        "min_elevation_deg": 0.0,
        "range_rate_sigma_m_s": 2.0,
    }
    fields |= overrides
    reg = SensorRegistration(**fields)  # type: ignore[arg-type]
    frame = LocalFrame(*ORIGIN)
    return RadarModel.place(reg, frame, EarthModel(*ORIGIN), ground_alt_m=100.0)


def _plots(scan) -> np.ndarray:
    return np.array([[p.r, p.az, p.el, p.rr if p.rr is not None else np.nan] for p in scan.plots])


def test_polar_matches_the_per_object_reference(simref) -> None:
    radar = _radar()
    rng = np.random.default_rng(5)
    pts = rng.uniform([-40e3, -40e3, 0.0], [40e3, 40e3, 15e3], (30, 3))
    r, az, el = radar.polar(pts)
    east, north, up = (tuple(row) for row in radar.axes)
    for i in range(30):
        ref = simref.polar_ref(tuple(radar.pos_enu_m), east, north, up, tuple(pts[i]))
        np.testing.assert_allclose([r[i], az[i], el[i]], ref, rtol=1e-12, atol=1e-9)


def test_polar_agrees_with_the_radars_own_geodetic_frame() -> None:
    # A tracker converts plots with LocalFrame at the radar; it must land on the true position.
    radar = _radar()
    frame, own = LocalFrame(*ORIGIN), LocalFrame(32.95, 35.45, 110.0)
    target = np.array([[12_000.0, 25_000.0, 4_000.0]])
    r, az, el = radar.polar(target)
    e = r * np.cos(el) * np.sin(az)
    n = r * np.cos(el) * np.cos(az)
    u = r * np.sin(el)
    lat, lon, alt = own.geodetic_from_enu(e, n, u)
    back = np.column_stack(frame.enu_from_geodetic(lat, lon, alt))
    np.testing.assert_allclose(back, target, atol=1e-3)


def test_noise_standard_deviations_match_the_configuration() -> None:
    radar = _radar(detection_probability=1.0)
    m = 20_000
    target = np.tile([[15_000.0, 30_000.0, 3_000.0]], (m, 1))
    vel = np.tile([[-200.0, -300.0, 50.0]], (m, 1))
    scan = radar.scan(0.0, target, vel, np.random.default_rng(1))
    got = _plots(scan)
    r, az, el = radar.polar(target[:1])
    rr = radar.range_rate_m_s(target[:1], vel[:1])
    assert got.shape == (m, 4)
    assert np.std(got[:, 0] - r[0]) == pytest.approx(15.0, rel=0.10)
    assert np.std(got[:, 1] - az[0]) == pytest.approx(2e-3, rel=0.10)
    assert np.std(got[:, 2] - el[0]) == pytest.approx(2e-3, rel=0.10)
    assert np.std(got[:, 3] - rr[0]) == pytest.approx(2.0, rel=0.10)
    assert abs(np.mean(got[:, 0] - r[0])) < 1.0  # unbiased


def test_detection_rate_matches_the_probability() -> None:
    radar = _radar(detection_probability=0.7)
    m = 20_000
    target = np.tile([[5_000.0, 10_000.0, 2_000.0]], (m, 1))
    scan = radar.scan(0.0, target, np.zeros((m, 3)), np.random.default_rng(2))
    rate = len(scan.plots) / m
    assert rate == pytest.approx(0.7, abs=4 * np.sqrt(0.7 * 0.3 / m))


def test_nothing_is_seen_beyond_range_or_below_the_horizon() -> None:
    radar = _radar(
        max_range_km=50.0, min_elevation_deg=-2.0, angle_sigma_mrad=0.01, range_sigma_m=0.1
    )
    # radar 10 m above a 100 m ground: horizon 11.3 km, plus 35.7 km for a 100 m high target
    home = radar.pos_enu_m
    earth = radar.earth
    far_low = home + np.array([0.0, 60_000.0, -200.0])  # beyond 50 km
    hidden = earth.at_altitude(
        home + np.array([48_000.0, 0.0, 0.0]), 130.0
    )  # horizon: 11.3 + 19.6 km
    seen_low = earth.at_altitude(
        home + np.array([0.0, 30_000.0, 0.0]), 200.0
    )  # horizon: 11.3 + 35.7 km
    beyond = home + np.array([30_000.0, 40_000.0, 5_000.0])  # 50.2 km
    pts = np.array([far_low, hidden, seen_low, beyond])
    assert radar.visible(pts).tolist() == [False, False, True, False]
    # horizon only: the hidden point is above -2 degrees and within range, yet not seen
    r, _, el = radar.polar(pts[1:2])
    assert r[0] < 50_000.0 and el[0] > np.radians(-2.0)
    # and over many scans with Pd = 1 only the visible one is ever reported
    rng = np.random.default_rng(3)
    for _ in range(50):
        scan = radar.scan(0.0, pts, np.zeros((4, 3)), rng)
        assert len(scan.plots) == 1
        assert scan.plots[0].r == pytest.approx(float(radar.polar(pts[2:3])[0][0]), abs=1.0)


def test_targets_below_the_minimum_elevation_are_not_seen() -> None:
    radar = _radar(min_elevation_deg=5.0)
    low = radar.pos_enu_m + np.array([[0.0, 20_000.0, 1_000.0]])  # ~2.8 degrees
    high = radar.pos_enu_m + np.array([[0.0, 20_000.0, 3_000.0]])  # ~8.5 degrees
    assert radar.visible(np.vstack([low, high])).tolist() == [False, True]


def test_false_alarms_are_poisson_over_the_covered_volume() -> None:
    radar = _radar(false_alarms_per_scan=5.0, min_elevation_deg=1.0)
    rng = np.random.default_rng(4)
    counts, plots = [], []
    for _ in range(2_000):
        scan = radar.scan(0.0, np.empty((0, 3)), np.empty((0, 3)), rng)
        counts.append(len(scan.plots))
        plots.extend(scan.plots)
    assert np.mean(counts) == pytest.approx(5.0, abs=0.2)
    assert np.var(counts) == pytest.approx(5.0, rel=0.15)  # Poisson: variance = mean
    got = np.array([[p.r, p.az, p.el] for p in plots])
    assert got[:, 0].max() <= 80_000.0 and got[:, 2].min() >= np.radians(1.0) - 1e-7
    # uniform in volume: P(r < R/2) = 1/8
    assert np.mean(got[:, 0] < 40_000.0) == pytest.approx(0.125, abs=0.015)


def test_same_generator_state_gives_the_same_scan() -> None:
    radar = _radar(false_alarms_per_scan=3.0, detection_probability=0.8)
    pts = np.array([[1e3, 2e4, 3e3], [5e3, 1e4, 1e3]])
    a = radar.scan(10.0, pts, np.zeros((2, 3)), np.random.default_rng(9))
    b = radar.scan(10.0, pts, np.zeros((2, 3)), np.random.default_rng(9))
    assert a == b


def test_a_ground_level_radar_far_from_the_origin_is_not_blinded() -> None:
    # WGS84 heights and the spherical ground differ by metres 150 km from the origin; a radar
    # registered at ground level must still see a target a few km away.
    radar = _radar(lat=31.55, lon=35.4, alt_m=100.0)
    assert radar.earth.altitude_m(radar.pos_enu_m) < 100.0  # below the sphere's ground
    target = radar.pos_enu_m + np.array([[3_000.0, 4_000.0, 1_000.0]])
    assert radar.visible(target).tolist() == [True]
