"""Flying the sigma points on all cores gives the very same predictions as on one thread."""

from __future__ import annotations

import numba
import numpy as np

from redcolor.geo.frame import LocalFrame
from redcolor.physics.ballistics import EarthModel
from redcolor.prediction import ImpactPredictor, PredictionSettings
from redcolor.tracking.state import KIND_BALLISTIC, TrackSnapshot

FRAME = LocalFrame(33.0, 35.5, 0.0)
EARTH = EarthModel(33.0, 35.5, 0.0)


def test_threads_give_identical_predictions() -> None:
    rng = np.random.default_rng(7)
    n = 437
    x = np.zeros((n, 7))
    x[:, 0:2] = rng.uniform(-20_000.0, 20_000.0, (n, 2))
    x[:, 2] = rng.uniform(500.0, 6_000.0, n)
    x[:, 3:5] = rng.normal(0.0, 250.0, (n, 2))
    x[:, 5] = rng.normal(0.0, 80.0, n)
    x[:, 6] = np.log(rng.uniform(5_000.0, 15_000.0, n))
    p = np.broadcast_to(np.diag([900.0, 900, 900, 25, 25, 25, 0.05]), (n, 7, 7)).copy()
    t = 1000.0
    snap = TrackSnapshot(t, np.array([f"T{i}" for i in range(n)]), x, p,
                         np.full(n, KIND_BALLISTIC, np.int8), np.full(n, t - 9.0),
                         np.full(n, t - 5.0), np.full(n, t))  # fmt: skip
    predictor = ImpactPredictor(FRAME, EARTH, 0.0, PredictionSettings())
    cores = predictor.predict(snap)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = predictor.predict(snap)
    finally:
        numba.set_num_threads(threads)
    assert len(one) == len(cores) == n
    for a, b in zip(one, cores, strict=True):
        assert (a.track_id, a.impact_lat, a.impact_lon, a.impact_t_unix_s, a.impact_t_sigma_s) == (
            b.track_id, b.impact_lat, b.impact_lon, b.impact_t_unix_s, b.impact_t_sigma_s
        )  # fmt: skip
        np.testing.assert_array_equal(a.cov_en_m2, b.cov_en_m2)
