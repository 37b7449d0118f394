"""Our GOSPA against Stone Soup's GOSPAMetric on random sets."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from stonesoup.measures import Euclidean
from stonesoup.metricgenerator.ospametric import GOSPAMetric
from stonesoup.types.state import State

from redcolor.eval.gospa import gospa


@pytest.mark.parametrize("seed", range(12))
def test_gospa_matches_stone_soup(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 2000, (int(rng.integers(1, 7)), 3))
    tracks = rng.uniform(0, 2000, (int(rng.integers(0, 7)), 3))
    ours = gospa(truth, tracks, c_m=500.0, p=2.0)
    now = datetime.datetime(2024, 1, 6, 6, 0, 0)
    ss = GOSPAMetric(c=500.0, p=2.0, measure=Euclidean(mapping=(0, 1, 2)))
    ref, _ = ss.compute_gospa_metric(
        [State(t.reshape(3, 1), timestamp=now) for t in tracks],
        [State(t.reshape(3, 1), timestamp=now) for t in truth],
    )
    got = ref.value if hasattr(ref, "value") else ref
    assert ours.distance == pytest.approx(got["distance"], rel=1e-9, abs=1e-9)
    assert ours.localisation == pytest.approx(got["localisation"], rel=1e-9, abs=1e-9)
    assert ours.missed == pytest.approx(got["missed"], rel=1e-9, abs=1e-9)
    assert ours.false == pytest.approx(got["false"], rel=1e-9, abs=1e-9)


def test_gospa_perfect_and_empty() -> None:
    pts = np.array([[0.0, 0.0, 0.0], [1000.0, 0.0, 0.0]])
    assert gospa(pts, pts).distance == 0.0
    g = gospa(pts, np.zeros((0, 3)), c_m=100.0)
    assert g.n_missed == 2
    assert g.distance == pytest.approx(np.sqrt(2 * 100.0**2 / 2))
