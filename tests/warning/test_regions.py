"""The batched grown-ellipse kernel against the per-threat reference."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import shapely

from redcolor.warning.regions import chi2_2dof_k, grown_ellipses_en_m

_REF = Path(__file__).resolve().parents[1] / "reference" / "warn_regions_reference.py"
_spec = importlib.util.spec_from_file_location("warn_regions_reference", _REF)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def _random_covs(rng, n):
    a = rng.normal(size=(n, 2, 2)) * rng.uniform(10.0, 2000.0, size=(n, 1, 1))
    return a @ np.swapaxes(a, 1, 2) + np.eye(2) * 1.0


def test_k_matches_chi_square_quantile():
    from scipy.stats import chi2

    for p in (0.5, 0.9, 0.99, 0.999):
        assert chi2_2dof_k(p) == pytest.approx(np.sqrt(chi2.ppf(p, 2)), rel=1e-12)
    with pytest.raises(ValueError):
        chi2_2dof_k(1.0)


def test_batch_contains_reference_and_is_tight():
    rng = np.random.default_rng(3)
    covs = _random_covs(rng, 40)
    margins = rng.uniform(0.0, 800.0, size=40)
    margins[:3] = 0.0
    covs[3] = np.diag([1e-12, 1e-12])  # a point: the region is the danger disc alone
    covs[4] = np.diag([4e6, 1e-12])  # a segment
    verts = grown_ellipses_en_m(covs, 0.99, margins, n_vertices=48)
    assert verts.shape == (40, 48, 2)
    for i in range(40):
        batch = shapely.Polygon(verts[i])
        ref = reference.grown_ellipse_reference(covs[i], 0.99, margins[i])
        if ref.area == 0:
            assert batch.area < 1.0
            continue
        # never cuts off any part of the danger region ...
        assert batch.buffer(1e-6 * np.sqrt(ref.area) + 1e-6).covers(ref), i
        # ... and stays close to it: within 2% of the region's half-width everywhere
        half_width_m = max(np.ptp(np.asarray(ref.exterior.coords), axis=0)) / 2
        assert batch.hausdorff_distance(ref) <= 0.02 * half_width_m, i


def test_kernel_leaves_inputs_unchanged_and_is_one_at_a_time_equal():
    rng = np.random.default_rng(5)
    covs = _random_covs(rng, 6)
    margins = rng.uniform(0, 500, 6)
    covs0, margins0 = covs.copy(), margins.copy()
    batch = grown_ellipses_en_m(covs, 0.9, margins)
    np.testing.assert_array_equal(covs, covs0)
    np.testing.assert_array_equal(margins, margins0)
    for i in range(6):
        one = grown_ellipses_en_m(covs[i : i + 1], 0.9, margins[i : i + 1])
        np.testing.assert_allclose(one[0], batch[i], rtol=1e-12, atol=1e-9)
