"""Track deletion: missed scans, long coasting, lost, below the terrain, or a duplicate.

Duplicates: two confirmed tracks whose position-velocity states are closer than the
``duplicate_probability`` gate of their combined covariance,
``(x_i - x_j)^T (P_i + P_j)^-1 (x_i - x_j) <= chi2.ppf(duplicate_probability, 6)``, follow the
same object (two plot pairs of one projectile at long range, where the angle noise is a
kilometre); the one with fewer plots is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2

from redcolor.tracking.state import KIND_BALLISTIC

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class DeleterSettings:
    """When a track ends.

    Attributes
    ----------
    tentative_max_misses, tentative_drone_max_misses, confirmed_max_misses : int
        Consecutive missed opportunities (covered scans with no plot) that end a track: a
        tentative ballistic track, a tentative drone track, a confirmed one
        (``tentative_max_coast_s`` bounds a tentative track too). A tentative ballistic track
        ends at the third: with two radars scanning in turn, two misses in a row are each
        radar missing once, under a second; ending a young rocket track there started a new
        one a few seconds later, and the settling with it (``gaza-border-mortars``: a
        mortar's four-plot track ended 0.8 s after its last plot, its next track began 4 s
        after the first plot, and Kissufim was warned 3.2 s later). A tentative drone track
        still ends at the second: a drone flies minutes, so a restart costs it little, and
        in a dense rocket salvo the slow tracks that live on are not drones
        (``barrage-3000`` with 3 for both: one slow track, 103 m/s, was confirmed as a drone
        and pre-alerted 202 areas under the ``radius`` baseline, which acts at once: 125
        needless areas for it with 2, 304 with 3; ``predicted`` 92 either way).
    max_coast_s : float
        Seconds without any plot after which a confirmed track ends even if no radar covers it.
    tentative_max_coast_s : float
        The same for a tentative track (it may not coast out of coverage and come back).
    max_pos_sigma_m, lost_plot_sigmas : float
        A track whose position uncertainty (square root of the trace) grows beyond the larger
        of ``max_pos_sigma_m`` and ``lost_plot_sigmas`` times that of one plot of its nearest
        radar ends: its gate would swallow other objects' plots. The second term keeps a
        long-range track whose every plot is that uncertain (a 1 mrad radar at 1,300 km:
        1.8 km); without it a ballistic missile was dropped each scan until it came within
        ~1,000 km, ~110 s after its first detection on ``ballistic-center``.
    below_ground_m : float
        A ballistic track predicted this far below the terrain has landed.
    duplicate_probability : float
        Gate of the duplicate test (module docstring).
    """

    tentative_max_misses: int = 3
    tentative_drone_max_misses: int = 2
    confirmed_max_misses: int = 4
    max_coast_s: float = 6.0
    tentative_max_coast_s: float = 2.5
    max_pos_sigma_m: float = 1500.0
    lost_plot_sigmas: float = 3.0
    below_ground_m: float = 30.0
    duplicate_probability: float = 0.99


def flatten_neighbours(hits: NDArray[np.object_]) -> tuple[I64, I64]:
    """``query_ball_point`` lists -> (row, neighbour) index arrays (K,), (K,)."""
    lengths = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    rows = np.repeat(np.arange(len(hits), dtype=np.int64), lengths)
    cols = np.fromiter(chain.from_iterable(hits), dtype=np.int64, count=int(lengths.sum()))
    return rows, cols


class Deleter:
    """Chooses the tracks to drop after a scan."""

    def __init__(self, settings: DeleterSettings) -> None:
        self.settings = settings

    def to_delete(
        self,
        t_unix_s: float,
        confirmed: NDArray[np.bool_],
        misses: NDArray[np.int64],
        last_update_t_unix_s: F64,
        kind: NDArray[np.int8],
        height_above_ground_m: F64,
        pos_var_m2: F64,
        plot_var_m2: F64 | float = 0.0,
    ) -> NDArray[np.bool_]:
        """Mask (N,) of the tracks to delete; ``pos_var_m2`` (N,) is the trace of P_pos,
        ``plot_var_m2`` (N,) that of one plot of each track's nearest radar."""
        s = self.settings
        tentative = np.where(
            kind == KIND_BALLISTIC, s.tentative_max_misses, s.tentative_drone_max_misses
        )
        max_miss = np.where(confirmed, s.confirmed_max_misses, tentative)
        landed = (kind == KIND_BALLISTIC) & (height_above_ground_m < -s.below_ground_m)
        max_coast = np.where(confirmed, s.max_coast_s, s.tentative_max_coast_s)
        stale = t_unix_s - last_update_t_unix_s > max_coast
        lost = pos_var_m2 > np.maximum(s.max_pos_sigma_m**2, s.lost_plot_sigmas**2 * plot_var_m2)
        return (misses >= max_miss) | landed | stale | lost

    def duplicates(
        self,
        x: F64,
        P: F64,
        confirmed: NDArray[np.bool_],
        recent: NDArray[np.bool_],
        n_hits: NDArray[np.int64],
    ) -> NDArray[np.bool_]:
        """Mask (N,) of confirmed tracks that duplicate a confirmed track with more plots.

        Only pairs with at least one ``recent`` track (newly confirmed) are tested: two old
        tracks that survived side by side are two objects.
        """
        out = np.zeros(x.shape[0], dtype=bool)
        rows = np.flatnonzero(confirmed)
        new = np.flatnonzero(confirmed & recent)
        if rows.size < 2 or new.size == 0:
            return out
        radius = 4.0 * np.sqrt(np.trace(P[new, 0:3, 0:3], axis1=1, axis2=2))
        hits = cKDTree(x[rows, 0:3]).query_ball_point(x[new, 0:3], r=radius, return_sorted=False)
        a, b = flatten_neighbours(hits)
        a, b = new[a], rows[b]
        keep = a != b
        a, b = a[keep], b[keep]
        if a.size == 0:
            return out
        d = x[a, 0:6] - x[b, 0:6]
        s = P[a, 0:6, 0:6] + P[b, 0:6, 0:6]
        d2 = np.einsum("ki,ki->k", d, np.linalg.solve(s, d[:, :, None])[:, :, 0])
        same = d2 <= chi2.ppf(self.settings.duplicate_probability, 6)
        a, b = a[same], b[same]
        out[np.where(n_hits[a] < n_hits[b], a, b)] = True
        return out
