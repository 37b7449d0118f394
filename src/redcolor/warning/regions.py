"""Batched danger regions: the impact ellipse at a confidence, grown by a danger radius.

For N threats at once, the region is the Minkowski sum of the confidence ellipse of the impact
point and a disc of the danger radius, drawn as a convex polygon of ``n_vertices`` vertices that
contains the exact sum. The ellipse of a 2-D Gaussian with covariance ``C`` at confidence ``p`` is
``{x : x^T C^-1 x <= k^2}`` with ``k^2 = -2 ln(1 - p)`` (the chi-square quantile for 2 degrees
of freedom). With ``C = V diag(l1, l2) V^T`` and semi-axes ``s_i = k sqrt(l_i)``,
the grown region is convex with support function ``h(phi) = sqrt((s1 cos phi)^2 + (s2 sin phi)^2)
+ r`` for the outward normal ``(cos phi, sin phi)`` in the eigenvector frame. The polygon is the
intersection of the ``K`` supporting half-planes ``n_j . x <= h_j`` at evenly spaced ``phi_j``;
its vertex between normals ``a`` and ``b`` is ``(h_a (sin b, -cos b) - h_b (sin a, -cos a)) /
sin(b - a)``. It circumscribes the exact region, so it never cuts off part of the danger region,
and is tight (0.3% extra area on a circle with 32 vertices).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def chi2_2dof_k(confidence: float) -> float:
    """Mahalanobis radius ``k`` of the 2-D confidence ellipse: ``k^2 = -2 ln(1 - p)``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(np.sqrt(-2.0 * np.log1p(-confidence)))


def grown_ellipses_en_m(
    cov_en_m2: NDArray[np.float64],
    confidence: float,
    margin_m: NDArray[np.float64],
    n_vertices: int = 32,
) -> NDArray[np.float64]:
    """Polygon vertices of N grown confidence ellipses, relative to each mean.

    Parameters
    ----------
    cov_en_m2 : ndarray, shape (N, 2, 2)
        Impact-point covariances, local east/north metres.
    confidence : float
        Probability mass inside the ellipse, in (0, 1).
    margin_m : ndarray, shape (N,)
        Danger radius added around each ellipse, metres (>= 0).
    n_vertices : int
        Vertices per polygon (>= 8).

    Returns
    -------
    ndarray, shape (N, n_vertices, 2)
        East/north offsets in metres of each polygon's vertices from its mean, counter-clockwise.
    """
    cov = np.asarray(cov_en_m2, dtype=np.float64)
    margin = np.asarray(margin_m, dtype=np.float64)
    k = chi2_2dof_k(confidence)
    sym = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    eigval, eigvec = np.linalg.eigh(sym)  # (N, 2), (N, 2, 2) columns are eigenvectors
    semi = k * np.sqrt(np.clip(eigval, 0.0, None))  # (N, 2)
    phi = np.linspace(0.0, 2.0 * np.pi, n_vertices + 1)  # normal directions, closed
    cos_p, sin_p = np.cos(phi)[None, :], np.sin(phi)[None, :]
    support = np.hypot(semi[:, 0:1] * cos_p, semi[:, 1:2] * sin_p) + margin[:, None]  # (N, K+1)
    h_a, h_b = support[:, :-1], support[:, 1:]
    sin_a, cos_a, sin_b, cos_b = sin_p[:, :-1], cos_p[:, :-1], sin_p[:, 1:], cos_p[:, 1:]
    denom = np.sin(2.0 * np.pi / n_vertices)
    east = (h_a * sin_b - h_b * sin_a) / denom
    north = (h_b * cos_a - h_a * cos_b) / denom
    local = np.stack([east, north], axis=-1)  # (N, K, 2) in the eigenvector frame
    return np.einsum("nij,nkj->nki", eigvec, local)
