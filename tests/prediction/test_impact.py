"""Impact prediction: the unscented transform against a Monte Carlo through the same physics."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from redcolor.geo.frame import LocalFrame
from redcolor.physics.ballistics import EarthModel, FlatTerrain, propagate_to_ground
from redcolor.prediction import ImpactPredictor, PredictionSettings
from redcolor.tracking.state import KIND_BALLISTIC, KIND_DRONE, TrackSnapshot

FRAME = LocalFrame(33.0, 35.5, 300.0)
EARTH = EarthModel(33.0, 35.5, 300.0)
GROUND_M = 200.0
NO_WIND = PredictionSettings(wind_sigma_m_s=0.0, model_floor_m=0.0)


def _snapshot(x, p, kind=KIND_BALLISTIC, t=1000.0):
    n = x.shape[0]
    return TrackSnapshot(
        t_unix_s=t,
        ids=np.array([f"T{i}" for i in range(n)]),
        x=x,
        P=p,
        kind=np.full(n, kind, np.int8),
        first_detection_t_unix_s=np.full(n, t - 10.0),
        confirmed_t_unix_s=np.full(n, t - 7.0),
        last_update_t_unix_s=np.full(n, t),
    )


def _grad_state():
    x = np.array([[2000.0, -1000.0, 3500.0, 250.0, 180.0, 60.0, np.log(9000.0)]])
    a = np.diag([40.0, 40.0, 30.0, 6.0, 6.0, 5.0, 0.15])
    c = np.eye(7)
    c[0, 3] = c[3, 0] = 0.5
    c[1, 4] = c[4, 1] = 0.5
    return x, (a @ c @ a)[None]


def test_zero_covariance_gives_the_deterministic_flight() -> None:
    x, _ = _grad_state()
    pred = ImpactPredictor(FRAME, EARTH, GROUND_M, NO_WIND)
    out = pred.predict(_snapshot(x, np.zeros((1, 7, 7)) + 1e-12 * np.eye(7)))
    imp = propagate_to_ground(x[:, :3], x[:, 3:6], np.exp(x[:, 6]), EARTH, FlatTerrain(GROUND_M),
                              dt_s=NO_WIND.dt_s)  # fmt: skip
    lat, lon, _ = FRAME.geodetic_from_enu(*imp.pos_enu_m[0])
    assert out[0].impact_lat == pytest.approx(float(lat), abs=1e-7)
    assert out[0].impact_lon == pytest.approx(float(lon), abs=1e-7)
    assert out[0].impact_t_unix_s == pytest.approx(1000.0 + imp.time_s[0], abs=1e-6)
    assert out[0].kind == "ballistic"


def test_region_is_calibrated_against_monte_carlo() -> None:
    x, p = _grad_state()
    pred = ImpactPredictor(FRAME, EARTH, GROUND_M, NO_WIND).predict(_snapshot(x, p))[0]
    rng = np.random.default_rng(11)
    samples = rng.multivariate_normal(x[0], p[0], size=1500)
    imp = propagate_to_ground(samples[:, :3], samples[:, 3:6], np.exp(samples[:, 6]), EARTH,
                              FlatTerrain(GROUND_M), dt_s=0.25)  # fmt: skip
    lat, lon, _ = FRAME.geodetic_from_enu(*imp.pos_enu_m.T)
    d2 = np.array([pred.mahalanobis2(a, b) for a, b in zip(lat, lon, strict=True)])
    assert 0.97 <= np.mean(d2 <= 9.21) <= 0.999  # the 99% region: honest, not over-wide
    assert 0.40 <= np.mean(d2 <= 1.386) <= 0.60  # the 50% region
    t_mc = imp.time_s + 1000.0
    assert pred.impact_t_unix_s == pytest.approx(np.mean(t_mc), abs=0.2)
    assert pred.impact_t_sigma_s == pytest.approx(np.std(t_mc), rel=0.2)
    poly = pred.region(0.99)
    inside = shapely.contains_xy(poly, lon, lat)
    np.testing.assert_array_equal(
        inside[np.abs(d2 - 9.21) > 0.3], (d2 <= 9.21)[np.abs(d2 - 9.21) > 0.3]
    )


def test_wind_term_only_widens() -> None:
    x, p = _grad_state()
    calm = ImpactPredictor(FRAME, EARTH, GROUND_M, NO_WIND).predict(_snapshot(x, p))[0]
    windy = ImpactPredictor(FRAME, EARTH, GROUND_M).predict(_snapshot(x, p))[0]
    assert windy.impact_lat == calm.impact_lat
    assert np.all(np.linalg.eigvalsh(windy.cov_en_m2 - calm.cov_en_m2) > 0)


def test_drone_path_follows_velocity() -> None:
    x = np.array([[0.0, 0.0, 500.0, 30.0, 40.0, 0.0, 0.0]])
    p = np.diag([100.0, 100.0, 100.0, 4.0, 4.0, 1.0, 1.0])[None]
    pred = ImpactPredictor(FRAME, EARTH, GROUND_M).predict(_snapshot(x, p, KIND_DRONE))[0]
    assert pred.kind == "drone"
    assert pred.path_t_unix_s[-1] - pred.path_t_unix_s[0] == pytest.approx(120.0)
    e, n, _ = FRAME.enu_from_geodetic(pred.path_lat[-1], pred.path_lon[-1], 500.0)
    assert float(e) == pytest.approx(3600.0, abs=5.0)
    assert float(n) == pytest.approx(4800.0, abs=5.0)
    region = pred.region(0.99)
    start = shapely.Point(pred.path_lon[0], pred.path_lat[0])
    assert region.contains(start)
    assert pred.speed_m_s == pytest.approx(50.0)


def test_bad_confidence_is_rejected() -> None:
    x, p = _grad_state()
    pred = ImpactPredictor(FRAME, EARTH, GROUND_M).predict(_snapshot(x, p))[0]
    with pytest.raises(ValueError, match="confidence"):
        pred.region(1.5)
