"""Batched EKF measurement update in a radar's polar frame.

For a track with prediction ``(x, P)`` and a plot ``z`` from radar pose ``pose``::

    nu = z - h(x)              (azimuth wrapped to [-pi, pi))
    S  = H P H^T + R
    K  = P H^T S^-1
    x <- x + K nu
    P <- (I - K H) P (I - K H)^T + K R K^T      (Joseph form)

``h`` and ``H`` are in :mod:`redcolor.tracking.measurement`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.tracking.measurement import RadarPose, measurement_jacobian, polar_from_enu
from redcolor.tracking.state import POS, STATE_DIM, VEL

F64 = NDArray[np.float64]
AZ = 1


def wrap_angle(a: F64) -> F64:
    """Angles wrapped to [-pi, pi)."""
    return np.mod(a + np.pi, 2.0 * np.pi) - np.pi


@dataclass(frozen=True)
class Innovation:
    """Predicted measurements of N tracks in one radar: ``z_pred`` (N, m), ``H`` (N, m, 7),
    ``S`` (N, m, m) and its inverse ``S_inv``, and ``log_det_S`` (N,)."""

    z_pred: F64
    H: F64
    S: F64
    S_inv: F64
    log_det_S: F64

    def take(self, rows: NDArray[np.bool_] | NDArray[np.int64]) -> Innovation:
        """The same statistics for a subset of the tracks."""
        return Innovation(
            self.z_pred[rows], self.H[rows], self.S[rows], self.S_inv[rows], self.log_det_S[rows]
        )


def innovation(x: F64, P: F64, pose: RadarPose, with_rr: bool) -> Innovation:
    """Predicted measurement, its Jacobian and innovation covariance for states (N, 7)."""
    z_pred = polar_from_enu(x[:, POS], x[:, VEL] if with_rr else None, pose)
    h = measurement_jacobian(x, pose, with_rr)
    s = h @ P @ np.transpose(h, (0, 2, 1)) + pose.noise_cov(with_rr)
    s = 0.5 * (s + np.transpose(s, (0, 2, 1)))
    sign, log_det = np.linalg.slogdet(s)
    log_det_s = np.asarray(np.where(sign > 0, log_det, np.inf), dtype=np.float64)
    return Innovation(z_pred, h, s, np.asarray(np.linalg.inv(s), dtype=np.float64), log_det_s)


def residual(z: F64, z_pred: F64) -> F64:
    """Innovation ``z - z_pred`` (..., m) with the azimuth wrapped."""
    nu = z - z_pred
    nu[..., AZ] = wrap_angle(nu[..., AZ])
    return nu


def ekf_update(x: F64, P: F64, z: F64, inno: Innovation, R: F64) -> tuple[F64, F64, F64]:
    """Update states (N, 7), covariances (N, 7, 7) with plots ``z`` (N, m).

    ``inno`` holds the matching rows of :func:`innovation`; ``R`` is (m, m). Returns the new
    states, covariances and normalised innovation squared (N,). Inputs are left unchanged.
    """
    nu = residual(z, inno.z_pred)
    ht = np.transpose(inno.H, (0, 2, 1))
    k = P @ ht @ inno.S_inv
    x_new = x + np.einsum("nij,nj->ni", k, nu)
    a = np.eye(STATE_DIM)[None] - k @ inno.H
    p_new = a @ P @ np.transpose(a, (0, 2, 1)) + k @ R @ np.transpose(k, (0, 2, 1))
    nis = np.einsum("ni,ni->n", nu, np.einsum("nij,nj->ni", inno.S_inv, nu))
    return x_new, 0.5 * (p_new + np.transpose(p_new, (0, 2, 1))), nis
