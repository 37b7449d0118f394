"""Batch kernels against the slow per-track reference on random inputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from redcolor.tracking.association import GnnAssociator
from redcolor.tracking.dynamics import Predictor, PredictorSettings, propagate_ballistic
from redcolor.tracking.measurement import (
    RadarPose,
    enu_from_polar,
    measurement_jacobian,
    polar_from_enu,
)
from redcolor.tracking.update import ekf_update, innovation

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
_spec = importlib.util.spec_from_file_location(
    "track_reference", HERE.parent / "reference" / "track_reference.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

from synthetic import simple_accel  # noqa: E402


def _random_pose(rng, rr=None):
    a = rng.normal(size=(3, 3)) * 0.01 + np.eye(3)
    q, _ = np.linalg.qr(a)
    q = q * np.sign(np.diag(q))
    return RadarPose(
        id="r",
        pos_enu_m=rng.uniform(-2e4, 2e4, 3),
        rot_enu_from_radar=q,
        range_sigma_m=12.0,
        angle_sigma_rad=1.5e-3,
        range_rate_sigma_m_s=rr,
        max_range_m=9e4,
        min_elevation_rad=0.0,
    )


def _random_states(rng, n):
    x = np.zeros((n, 7))
    x[:, 0:2] = rng.uniform(-4e4, 4e4, (n, 2))
    x[:, 2] = rng.uniform(500, 9000, n)
    x[:, 3:6] = rng.normal(0, 300, (n, 3))
    x[:, 6] = rng.normal(np.log(8000), 0.5, n)
    a = rng.normal(size=(n, 7, 7))
    p = a @ np.transpose(a, (0, 2, 1)) + np.eye(7)[None] * 10
    return x, p


@pytest.mark.parametrize("with_rr", [False, True])
def test_measurement_and_jacobian_match_reference(with_rr: bool) -> None:
    rng = np.random.default_rng(3)
    pose = _random_pose(rng, rr=0.5 if with_rr else None)
    x, _ = _random_states(rng, 25)
    z = polar_from_enu(x[:, :3], x[:, 3:6] if with_rr else None, pose)
    h = measurement_jacobian(x, pose, with_rr)
    for i in range(x.shape[0]):
        zi = ref.polar_one(x[i, :3], x[i, 3:6] if with_rr else None, pose.pos_enu_m,
                           pose.rot_enu_from_radar)  # fmt: skip
        np.testing.assert_allclose(z[i], zi, rtol=1e-12, atol=1e-9)
        hi = ref.jacobian_one(x[i], pose.pos_enu_m, pose.rot_enu_from_radar, with_rr)
        np.testing.assert_allclose(h[i], hi, rtol=1e-5, atol=1e-8)


def test_polar_round_trip() -> None:
    rng = np.random.default_rng(4)
    pose = _random_pose(rng)
    x, _ = _random_states(rng, 50)
    z = polar_from_enu(x[:, :3], None, pose)
    pos, cov = enu_from_polar(z, pose)
    np.testing.assert_allclose(pos, x[:, :3], atol=1e-6)
    assert np.all(np.linalg.eigvalsh(cov) > 0)


@pytest.mark.parametrize("with_rr", [False, True])
def test_ekf_update_matches_reference(with_rr: bool) -> None:
    rng = np.random.default_rng(5)
    pose = _random_pose(rng, rr=0.5 if with_rr else None)
    x, p = _random_states(rng, 20)
    inno = innovation(x, p, pose, with_rr)
    z = inno.z_pred + rng.normal(0, 1, inno.z_pred.shape) * np.array(
        [20, 3e-3, 3e-3, 1][: 4 if with_rr else 3]
    )
    r = pose.noise_cov(with_rr)
    x_copy, p_copy = x.copy(), p.copy()
    xn, pn, nis = ekf_update(x, p, z, inno, r)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(p, p_copy)
    for i in range(x.shape[0]):
        xi, pi_ = ref.ekf_update_one(x[i], p[i], z[i], inno.z_pred[i], inno.H[i], r)
        np.testing.assert_allclose(xn[i], xi, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(pn[i], pi_, rtol=1e-7, atol=1e-6)
    assert np.all(nis >= 0)


def test_rk4_propagation_matches_reference() -> None:
    rng = np.random.default_rng(6)
    x, _ = _random_states(rng, 10)
    out = propagate_ballistic(x, 1.3, simple_accel, 0.5)
    for i in range(10):
        np.testing.assert_allclose(out[i], ref.rk4_one(x[i], 1.3, simple_accel, 0.5), rtol=1e-12)


def test_predictor_jacobian_tracks_nonlinear_propagation() -> None:
    """A small perturbation propagates as F predicts (forward-difference EKF linearisation)."""
    rng = np.random.default_rng(7)
    x, p = _random_states(rng, 8)
    pred = Predictor(PredictorSettings(), simple_accel)
    kind = np.zeros(8, np.int8)
    x1, _ = pred.predict(x, p, kind, np.full(8, 10), 1.0)
    from redcolor.tracking.dynamics import ballistic_transition

    _, f = ballistic_transition(x, 1.0, simple_accel, 0.5)
    dx = rng.normal(0, 1, (8, 7)) * np.array([5, 5, 5, 0.5, 0.5, 0.5, 0.01])
    x2, _ = pred.predict(x + dx, p, kind, np.full(8, 10), 1.0)
    np.testing.assert_allclose(x2 - x1, np.einsum("nij,nj->ni", f, dx), rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("seed", range(30))
def test_gnn_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    pairs = [(t, p, float(rng.uniform(0, 10))) for t in range(n) for p in range(m)
             if rng.random() < 0.6]  # fmt: skip
    miss = rng.uniform(5, 12, n)
    track = np.array([a for a, _, _ in pairs], np.int64)
    plot = np.array([b for _, b, _ in pairs], np.int64)
    cost = np.array([c for _, _, c in pairs])
    got = GnnAssociator().assign(n, m, track, plot, cost, miss)
    _, best = ref.brute_force_assignment(n, m, pairs, miss)
    cmap = {(a, b): c for a, b, c in pairs}
    total = sum(miss[t] if got[t] < 0 else cmap[(t, int(got[t]))] for t in range(n))
    assert total == pytest.approx(best, abs=1e-9)
    used = got[got >= 0]
    assert len(set(used.tolist())) == used.size


def _clustered_pairs(rng: np.random.Generator, n: int, ties: bool):
    """Gated pairs as a scan gives them: each track near a few plots of its own area, so the
    graph falls into many small components (one track, one plot, or several of each)."""
    pairs = []
    for t in range(n):
        for p in set(rng.integers(max(0, t - 3), min(n, t + 4), int(rng.integers(0, 4)))):
            c = float(rng.integers(0, 6)) if ties else float(rng.uniform(0, 10))
            pairs.append((t, int(p), c))
    miss = np.full(n, 5.0) if ties else rng.uniform(3, 12, n)
    return pairs, miss


@pytest.mark.parametrize(("seed", "ties"), [(s, s % 2 == 0) for s in range(12)])
def test_gnn_matches_per_component_lsap(seed: int, ties: bool) -> None:
    """The vectorised one-track and one-plot blocks give the same assignment, ties included,
    as linear_sum_assignment on every component; with distinct costs the total also equals
    that of linear_sum_assignment on the whole problem."""
    rng = np.random.default_rng(100 + seed)
    n = 300
    pairs, miss = _clustered_pairs(rng, n, ties)
    track = np.array([a for a, _, _ in pairs], np.int64)
    plot = np.array([b for _, b, _ in pairs], np.int64)
    cost = np.array([c for _, _, c in pairs])
    got = GnnAssociator().assign(n, n, track, plot, cost, miss)
    assert got.tolist() == ref.gnn_per_component_lsap(n, n, pairs, miss)
    if not ties:
        from scipy.optimize import linear_sum_assignment

        whole = np.full((n, 2 * n), 1.0e12)
        whole[track, plot] = np.where(cost < miss[track], cost, 1.0e12)
        whole[np.arange(n), n + np.arange(n)] = miss
        r, c = linear_sum_assignment(whole)
        cmap = {(a, b): x for a, b, x in pairs}
        total = sum(miss[t] if got[t] < 0 else cmap[(t, int(got[t]))] for t in range(n))
        assert total == pytest.approx(float(whole[r, c].sum()), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_gnn_large_block_matches_dense_lsap(seed: int) -> None:
    """A component of hundreds of tracks (the sparse solver's case), costs of both signs:
    the same assignment as linear_sum_assignment on the dense block."""
    rng = np.random.default_rng(200 + seed)
    n = 400
    pairs = [
        (t, int(p), float(rng.uniform(-3, 10)))
        for t in range(n)
        for p in set(rng.integers(max(0, t - 6), min(n, t + 7), 4))
    ]
    miss = rng.uniform(4, 12, n)
    track = np.array([a for a, _, _ in pairs], np.int64)
    plot = np.array([b for _, b, _ in pairs], np.int64)
    cost = np.array([c for _, _, c in pairs])
    got = GnnAssociator().assign(n, n, track, plot, cost, miss)
    assert got.tolist() == ref.gnn_per_component_lsap(n, n, pairs, miss)
