"""Gating: which plots may belong to which tracks.

Two stages. A coarse gate keeps, for each track, the plots within ``coarse_sigmas`` standard
deviations of its predicted position (radius ``coarse_sigmas * sqrt(tr P_pos + tr R_pos)``,
``R_pos`` the positional covariance of a plot at the track's range,
``tr R_pos = sigma_r^2 + 2 (r sigma_angle)^2``; the traces bound the largest eigenvalues). The
survivors pass the Mahalanobis gate in the radar's polar frame::

    d2_ij = nu_ij^T S_i^-1 nu_ij  <=  chi2.ppf(gate_probability, m)

and carry the assignment cost ``d2_ij + ln |S_i|`` (the negative log-likelihood up to a
constant), so a plot contested by a tight and a loose track goes to the one it fits best.

The candidates for both stages come from windows of the plots sorted by range, cut to the
bounding box of each track's Mahalanobis ellipsoid in the radar's polar coordinates
(:func:`_polar_candidates`): a superset of the pairs inside the Mahalanobis gate, so the gated
pairs are exactly those of the two tests, at a fraction of the candidates a Cartesian sphere
gives (the range of a plot is far sharper than its angles).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
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


def _polar_candidates(
    inno: Innovation, plot_z: F64, threshold: float, sector_halves: float = 1.0
) -> tuple[I64, I64]:
    """(track, plot) pairs (K,) that may pass the Mahalanobis gate ``nu^T S^-1 nu <= thr``.

    Inside that ellipsoid each component obeys ``|nu_k| <= h_k = sqrt(thr S_kk)`` (the
    bounding box). The plots are put in azimuth sectors (``sector_halves`` times the median
    azimuth half-width wide) and sorted by sector, then range (range is by far the sharpest
    coordinate); each track takes, in every sector its box's azimuth interval touches, the run
    of plots inside its box's range interval. Those pairs are then tested against the whole
    box (azimuth wrapped), all at once. The half-widths carry a relative margin of 1e-9, the
    azimuth intervals one of 1e-6 sector and the range runs one of 1 m, for rounding, so the
    result is a superset of the gated pairs.
    """
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    half = np.sqrt(threshold * np.maximum(np.diagonal(inno.S, axis1=1, axis2=2), 0.0))
    half *= 1.0 + 1e-9
    # a track with a non-finite prediction passes no gate
    rows = np.flatnonzero(np.all(np.isfinite(half), axis=1)
                          & np.all(np.isfinite(inno.z_pred), axis=1))  # fmt: skip
    if rows.size == 0 or plot_z.shape[0] == 0:
        return none
    half, z_pred = half[rows], inno.z_pred[rows]
    n_sectors = int(np.clip(2.0 * np.pi / (sector_halves * np.median(half[:, AZ])), 1, 4096))
    width = 2.0 * np.pi / n_sectors
    # sector * span + range orders plots by sector, then range, with no run crossing sectors
    span = max(float(plot_z[:, 0].max()), float(z_pred[:, 0].max())) + float(half[:, 0].max())
    span += 2.0
    plot_sector = np.mod(np.floor(plot_z[:, AZ] / width).astype(np.int64), n_sectors)
    by_key = np.lexsort((plot_z[:, 0], plot_sector))
    key = (plot_sector * span + plot_z[:, 0])[by_key]
    az_reach = half[:, AZ] + 1e-6 * width
    first = np.floor((z_pred[:, AZ] - az_reach) / width).astype(np.int64)
    n_cover = np.minimum(np.floor((z_pred[:, AZ] + az_reach) / width).astype(np.int64)
                         - first + 1, n_sectors)  # fmt: skip
    ts = np.repeat(np.arange(rows.size, dtype=np.int64), n_cover)
    step = np.arange(ts.size, dtype=np.int64) - np.repeat(np.cumsum(n_cover) - n_cover, n_cover)
    base = np.mod(first[ts] + step, n_sectors) * span
    lo = np.searchsorted(key, base + (z_pred[ts, 0] - half[ts, 0] - 1.0), side="left")
    hi = np.searchsorted(key, base + (z_pred[ts, 0] + half[ts, 0] + 1.0), side="right")
    counts = hi - lo
    ti = np.repeat(ts, counts)
    pj = by_key[np.arange(ti.size, dtype=np.int64)
                + np.repeat(lo - (np.cumsum(counts) - counts), counts)]  # fmt: skip
    for k in (AZ, *(c for c in range(plot_z.shape[1]) if c != AZ)):
        nu = np.abs(plot_z[pj, k] - z_pred[ti, k])
        if k == AZ:
            nu = np.minimum(nu, 2.0 * np.pi - nu)
        inside = nu <= half[ti, k]
        ti, pj = ti[inside], pj[inside]
    return rows[ti], pj
