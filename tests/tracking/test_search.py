"""The candidate searches of gating and initiation against one-pair-at-a-time references."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from redcolor.tracking import initiation
from redcolor.tracking.gating import Gater, GaterSettings, _polar_candidates
from redcolor.tracking.initiation import (
    InitiatorSettings,
    TwoPointInitiator,
    greedy_matching,
    shortest_first,
)
from redcolor.tracking.measurement import RadarPose, enu_from_polar
from redcolor.tracking.update import Innovation, innovation

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "track_reference", HERE.parent / "reference" / "track_reference.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_matching_matches_sequential(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 400))
    a = rng.integers(0, 40, k)
    b = rng.integers(0, 30, k)
    dist = rng.integers(0, 25, k).astype(float)  # many equal distances
    keep = np.unique(a * 1000 + b, return_index=True)[1]  # one candidate per pair
    a, b, dist = a[keep], b[keep], dist[keep]
    order = shortest_first(dist, a, b)
    np.testing.assert_array_equal(order, np.lexsort((b, a, dist)))
    got = greedy_matching(a, b, order)
    assert got.tolist() == ref.greedy_pairs_one(a.tolist(), b.tolist(), dist.tolist())


def test_greedy_matching_empty() -> None:
    none = np.zeros(0, np.int64)
    assert greedy_matching(none, none, none).size == 0


@pytest.mark.parametrize(("seed", "with_rr"), [(0, False), (1, True), (2, False), (3, True)])
def test_gate_matches_reference(seed: int, with_rr: bool) -> None:
    """Dense plots around the tracks, tracks near azimuth 0 (the wrap) and near the radar,
    tight and loose covariances: the gated pairs and d2 are those of the plain tests."""
    rng = np.random.default_rng(seed)
    pose = RadarPose("r", np.zeros(3), np.eye(3), 15.0, 2e-3, 2.0 if with_rr else None,
                     1e5, 0.0)  # fmt: skip
    n, m = 60, 150
    az = np.concatenate([rng.uniform(-0.01, 0.01, n // 2), rng.uniform(0.3, 0.32, n - n // 2)])
    rng_m = rng.uniform(2_000.0, 6_000.0, n)
    el = rng.uniform(0.05, 0.6, n)
    truth = np.stack([rng_m, np.mod(az, 2 * np.pi), el], axis=1)
    pos, _ = enu_from_polar(truth, pose)
    x = np.zeros((n, 7))
    x[:, 0:3] = pos + rng.normal(0, 20.0, (n, 3))
    x[:, 3:6] = rng.normal(0, 300.0, (n, 3))
    x[:, 6] = 9.0
    scale = rng.choice([5.0, 30.0, 300.0], n)
    p = np.zeros((n, 7, 7))
    p[:, range(7), range(7)] = np.array([1, 1, 1, 4, 4, 4, 0.1]) * (scale**2)[:, None]
    pick = rng.integers(0, n, m)
    z = truth[pick] + rng.normal(0, 1.0, (m, 3)) * [30.0, 4e-3, 4e-3]
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
    if with_rr:
        z = np.concatenate([z, rng.normal(0, 300.0, (m, 1))], axis=1)
    plot_pos, _ = enu_from_polar(z, pose)
    inno = innovation(x, p, pose, with_rr)
    plot_var = pose.range_sigma_m**2 + 2.0 * (inno.z_pred[:, 0] * pose.angle_sigma_rad) ** 2
    gater = Gater(GaterSettings())
    got = gater.gate(x[:, 0:3], p[:, 0:3, 0:3], inno, plot_pos, plot_var, z)
    want = ref.gate_one(x[:, 0:3], p[:, 0:3, 0:3], plot_var, inno.z_pred, inno.S_inv, plot_pos,
                        z, gater.settings.coarse_sigmas, gater.threshold(z.shape[1]))  # fmt: skip
    assert len(want) > n  # the test is dense enough to mean something
    order = np.lexsort((got.plot, got.track))
    assert list(zip(got.track[order].tolist(), got.plot[order].tolist(), strict=True)) == [
        (i, j) for i, j, _ in want
    ]
    np.testing.assert_allclose(got.d2[order], [d for _, _, d in want], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("seed", "with_rr"), [(4, False), (5, True), (6, False), (7, True)])
def test_polar_candidates_cover_the_mahalanobis_gate(seed: int, with_rr: bool) -> None:
    """Correlated innovation covariances of many sizes, predictions around the azimuth wrap
    and at tens of km: every pair inside the Mahalanobis gate (brute force, one pair at a
    time) is a candidate, and the candidates are far fewer than all pairs."""
    rng = np.random.default_rng(seed)
    m_dim = 4 if with_rr else 3
    n, m = 300, 400
    z_pred = np.stack([rng.uniform(1e3, 6e4, n), rng.uniform(-0.05, 0.05, n),
                       rng.uniform(0.0, 0.8, n)], axis=1)  # fmt: skip
    if with_rr:
        z_pred = np.concatenate([z_pred, rng.normal(0, 300.0, (n, 1))], axis=1)
    z_pred[:, 1] = np.mod(z_pred[:, 1], 2 * np.pi)
    sig = np.array([30.0, 4e-3, 4e-3, 5.0][:m_dim]) * rng.choice([0.3, 1.0, 10.0, 100.0], (n, 1))
    corr = rng.uniform(-1, 1, (n, m_dim, m_dim))
    s = corr @ np.transpose(corr, (0, 2, 1)) + 0.05 * np.eye(m_dim)
    d = 1.0 / np.sqrt(np.diagonal(s, axis1=1, axis2=2))
    s = s * (d * sig)[:, :, None] * (d * sig)[:, None, :]
    inno = Innovation(z_pred, np.zeros((n, m_dim, 7)), s, np.linalg.inv(s), np.zeros(n))
    near = rng.integers(0, n, m)
    z = z_pred[near] + rng.normal(0, 1.0, (m, m_dim)) * sig[near] * 3.0
    z[:, 1] = np.mod(z[:, 1], 2 * np.pi)
    thr = Gater(GaterSettings()).threshold(m_dim)
    ti, pj = _polar_candidates(inno, z, thr)
    got = set(zip(ti.tolist(), pj.tolist(), strict=True))
    assert len(got) == ti.size
    want = set()
    for i in range(n):
        for j in range(m):
            nu = z[j] - z_pred[i]
            nu[1] = (nu[1] + np.pi) % (2 * np.pi) - np.pi
            if nu @ inno.S_inv[i] @ nu <= thr:
                want.add((i, j))
    assert len(want) > m // 2  # dense enough to mean something
    assert any(abs(z[j, 1] - z_pred[i, 1]) > np.pi for i, j in want)  # across the wrap
    assert want <= got
    assert len(got) < n * m // 5


def _pairs_reference(
    settings: InitiatorSettings, t_unix_s: float, new_pos: np.ndarray, old_pos: np.ndarray,
    old_t: np.ndarray,
) -> list[tuple[int, int]]:  # fmt: skip
    """Every (new, old) pair the speed test keeps, matched greedily shortest first."""
    a, b, dist = [], [], []
    for i in range(new_pos.shape[0]):
        for j in range(old_pos.shape[0]):
            if old_t[j] > t_unix_s - settings.min_gap_s:
                continue
            d = float(np.linalg.norm((new_pos[i] - old_pos[j])[None], axis=1)[0])
            speed = d / (t_unix_s - old_t[j])
            if settings.min_speed_m_s <= speed <= settings.max_speed_m_s:
                a.append(i)
                b.append(j)
                dist.append(d)
    return [(a[k], b[k]) for k in ref.greedy_pairs_one(a, b, dist)]


@pytest.mark.parametrize("nearest", [1, 2, 8])
@pytest.mark.parametrize("seed", range(4))
def test_two_point_pairs_match_all_pairs_greedy(
    seed: int, nearest: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dense clusters on a metre grid (~10% of the pairs of equal displacement), waiting
    plots of several times (reaches), some too close or too recent: the pairs from the
    nearest-partner lists and their repair are those of the greedy matching over all pairs,
    in the same order (without the repair 10 of the 12 cases fail)."""
    monkeypatch.setattr(initiation, "NEAREST", nearest)
    rng = np.random.default_rng(seed)
    settings = InitiatorSettings(min_speed_m_s=2.0, max_speed_m_s=60.0)
    centres = rng.uniform(-300.0, 300.0, (4, 3))
    n_new, n_old = int(rng.integers(20, 120)), int(rng.integers(20, 160))
    new_pos = np.round(centres[rng.integers(0, 4, n_new)] + rng.normal(0, 25.0, (n_new, 3)))
    old_pos = np.round(centres[rng.integers(0, 4, n_old)] + rng.normal(0, 25.0, (n_old, 3)))
    old_pos[:5] = new_pos[:5] + 1.0  # too slow
    t = 100.0
    old_t = t - rng.choice([0.25, 0.5, 1.0, 2.0, 2.5], n_old)
    ini = TwoPointInitiator(settings)
    ini._pos, ini._t = old_pos, old_t
    got_new, got_old = ini._pairs(t, new_pos)
    want = _pairs_reference(settings, t, new_pos, old_pos, old_t)
    assert len(want) > 10  # dense enough to mean something
    assert list(zip(got_new.tolist(), got_old.tolist(), strict=True)) == want
