"""Gating: which plots may belong to which tracks.

Two stages. A coarse gate keeps, for each track, the plots within ``coarse_sigmas`` standard
deviations of its predicted position (radius ``coarse_sigmas * sqrt(tr P_pos + tr R_pos)``,
``R_pos`` the positional covariance of a plot at the track's range,
``tr R_pos = sigma_r^2 + 2 (r sigma_angle)^2``; the traces bound the largest eigenvalues). The
survivors pass the Mahalanobis gate in the radar's polar frame::

    d2_ij = nu_ij^T S_i^-1 nu_ij  <=  chi2.ppf(gate_probability, m)

and carry the assignment cost ``d2_ij + ln |S_i|`` (the negative log-likelihood up to a
constant), so a plot contested by a tight and a loose track goes to the one it fits best.

The candidates for both stages come from a k-d tree in the radar's scaled polar coordinates
(:func:`_polar_candidates`): a superset of the pairs inside the Mahalanobis gate, so the gated
pairs are exactly those of the two tests, at a fraction of the candidates a Cartesian sphere
gives (the range of a plot is far sharper than its angles).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2

from redcolor.tracking.update import AZ, Innovation, residual

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class GaterSettings:
    """Gate sizes.

    Attributes
    ----------
    gate_probability : float
        Probability mass of the Mahalanobis gate (chi-square with m degrees of freedom).
    coarse_sigmas : float
        Radius of the k-d tree pre-gate, in standard deviations of position.
    """

    gate_probability: float = 0.9995
    coarse_sigmas: float = 6.0


@dataclass(frozen=True)
class GatedPairs:
    """Track-plot pairs inside the gate: indices (K,), ``d2`` (K,) and ``cost`` (K,)."""

    track: I64
    plot: I64
    d2: F64
    cost: F64


@lru_cache(maxsize=64)
def _chi2_ppf(p: float, dof: int) -> float:
    return float(chi2.ppf(p, dof))


def flatten_neighbours(hits: NDArray[np.object_]) -> tuple[I64, I64]:
    """``query_ball_point`` lists -> (row, neighbour) index arrays (K,), (K,)."""
    lengths = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(np.arange(len(hits), dtype=np.int64), lengths)
    cols = np.fromiter(chain.from_iterable(hits), dtype=np.int64, count=int(lengths.sum()))
    return rows, cols


class Gater:
    """Coarse k-d tree gate, then the Mahalanobis gate in the radar's polar frame."""

    def __init__(self, settings: GaterSettings) -> None:
        self.settings = settings

    def threshold(self, m: int) -> float:
        """Mahalanobis gate threshold for an m-dimensional measurement."""
        return _chi2_ppf(self.settings.gate_probability, m)

    def gate(
        self,
        track_pos_enu_m: F64,
        track_pos_cov: F64,
        inno: Innovation,
        plot_pos_enu_m: F64,
        plot_var_m2: F64,
        plot_z: F64,
    ) -> GatedPairs:
        """Gate N tracks against M plots of one scan.

        Parameters
        ----------
        track_pos_enu_m : (N, 3) predicted track positions; ``track_pos_cov`` (N, 3, 3).
        inno : innovation statistics of the N tracks in this radar.
        plot_pos_enu_m : (M, 3) plot positions.
        plot_var_m2 : (N,) positional variance (trace, m^2) of a plot at each track's range.
        plot_z : (M, m) the plots as measured (polar).
        """
        empty = GatedPairs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        n, m = track_pos_enu_m.shape[0], plot_pos_enu_m.shape[0]
        if n == 0 or m == 0:
            return empty
        thr = self.threshold(plot_z.shape[1])
        ti, pj = _polar_candidates(inno, plot_z, thr)
        radius = self.settings.coarse_sigmas * np.sqrt(
            np.trace(track_pos_cov, axis1=1, axis2=2) + plot_var_m2
        )
        near = np.linalg.norm(plot_pos_enu_m[pj] - track_pos_enu_m[ti], axis=1) <= radius[ti]
        ti, pj = ti[near], pj[near]
        if ti.size == 0:
            return empty
        nu = residual(plot_z[pj], inno.z_pred[ti])
        d2 = np.einsum("ki,ki->k", nu, np.einsum("kij,kj->ki", inno.S_inv[ti], nu))
        keep = d2 <= thr
        ti, pj, d2 = ti[keep], pj[keep], d2[keep]
        return GatedPairs(ti, pj, d2, d2 + inno.log_det_S[ti])


def _polar_candidates(inno: Innovation, plot_z: F64, threshold: float) -> tuple[I64, I64]:
    """(track, plot) pairs (K,) that may pass the Mahalanobis gate ``nu^T S^-1 nu <= thr``.

    Inside that ellipsoid each component obeys ``|nu_k| <= sqrt(thr S_kk)`` (the bounding
    box); so range, azimuth and elevation are scaled by the median half-widths and a k-d tree
    over the scaled plots (periodic in azimuth) gives, for each track, the plots in the sphere
    around that box (radius the box's half-diagonal, with a relative margin of 1e-9): a
    superset of the gated pairs, far tighter than a sphere in Cartesian space when the range
    is sharper than the angles.
    """
    half = np.sqrt(threshold * np.maximum(np.diagonal(inno.S, axis1=1, axis2=2)[:, :3], 0.0))
    # a track with a non-finite prediction passes no gate
    rows = np.flatnonzero(np.all(np.isfinite(half), axis=1)
                          & np.all(np.isfinite(inno.z_pred[:, :3]), axis=1))  # fmt: skip
    if rows.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    half = half[rows]
    scale = np.maximum(np.median(half, axis=0), 1e-12)
    period = 2.0 * np.pi / scale[AZ]

    def scaled(z: F64) -> F64:
        u = z[:, :3] / scale
        u[:, AZ] = np.mod(u[:, AZ], period)
        u[:, AZ] = np.where(u[:, AZ] >= period, 0.0, u[:, AZ])
        return u

    tree = cKDTree(scaled(plot_z), boxsize=np.array([0.0, period, 0.0]))
    reach = np.linalg.norm(half / scale, axis=1) * (1.0 + 1e-9)
    ti, pj = flatten_neighbours(
        tree.query_ball_point(scaled(inno.z_pred[rows]), r=reach, return_sorted=False)
    )
    return rows[ti], pj
