"""Gating: which plots may belong to which tracks.

Two stages. A k-d tree over the plots' Cartesian positions (common ENU) keeps, for each track,
the plots within ``coarse_sigmas`` standard deviations of its predicted position (radius
``coarse_sigmas * sqrt(tr P_pos + tr R_pos)``, ``R_pos`` the positional covariance of a plot at
the track's range, ``tr R_pos = sigma_r^2 + 2 (r sigma_angle)^2``; the traces bound the
largest eigenvalues). The survivors pass the Mahalanobis gate in the radar's polar frame::

    d2_ij = nu_ij^T S_i^-1 nu_ij  <=  chi2.ppf(gate_probability, m)

and carry the assignment cost ``d2_ij + ln |S_i|`` (the negative log-likelihood up to a
constant), so a plot contested by a tight and a loose track goes to the one it fits best.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2

from redcolor.tracking.update import Innovation, residual

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
        radius = self.settings.coarse_sigmas * np.sqrt(
            np.trace(track_pos_cov, axis1=1, axis2=2) + plot_var_m2
        )
        hits = cKDTree(plot_pos_enu_m).query_ball_point(
            track_pos_enu_m, r=radius, return_sorted=False
        )
        ti, pj = flatten_neighbours(hits)
        if ti.size == 0:
            return empty
        nu = residual(plot_z[pj], inno.z_pred[ti])
        d2 = np.einsum("ki,ki->k", nu, np.einsum("kij,kj->ki", inno.S_inv[ti], nu))
        keep = d2 <= self.threshold(plot_z.shape[1])
        ti, pj, d2 = ti[keep], pj[keep], d2[keep]
        return GatedPairs(ti, pj, d2, d2 + inno.log_det_S[ti])
