"""GOSPA between track and true positions at one instant: the tracking score of
:mod:`redcolor.eval.track_score`.

Generalised OSPA (Rahmathullah, Garcia-Fernandez & Svensson, FUSION 2017) with ``alpha = 2``::

    d = ( min_gamma  sum_{(i,j) in gamma} d(x_i, y_j)^p  +  c^p / 2 (|X| + |Y| - 2 |gamma|) )^(1/p)

over partial assignments ``gamma`` whose pairs are closer than the cut-off ``c``. Solved as one
rectangular linear assignment on ``min(d^p, c^p) - c^p``: a pair at or beyond ``c`` gains
nothing, which is the same as leaving both unassigned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Gospa:
    """GOSPA at one instant: ``distance`` and its parts (``distance**p`` = ``localisation`` +
    ``missed`` + ``false``, the last two already weighted by ``c**p / 2``); ``n_missed`` truths
    and ``n_false`` tracks left unassigned."""

    distance: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int


def gospa(truth_pos_m: F64, track_pos_m: F64, c_m: float = 500.0, p: float = 2.0) -> Gospa:
    """GOSPA (alpha = 2) between true positions (T, d) and track positions (K, d), metres."""
    n_t, n_k = truth_pos_m.shape[0], track_pos_m.shape[0]
    half = c_m**p / 2.0
    if n_t == 0 or n_k == 0:
        return Gospa((half * (n_t + n_k)) ** (1 / p), 0.0, half * n_t, half * n_k, n_t, n_k)
    dp = np.minimum(cdist(truth_pos_m, track_pos_m) ** p, c_m**p)
    r, k = linear_sum_assignment(dp - c_m**p)
    real = dp[r, k] < c_m**p
    n_pairs = int(real.sum())
    loc = float(dp[r[real], k[real]].sum())
    missed, false = half * (n_t - n_pairs), half * (n_k - n_pairs)
    return Gospa(
        (loc + missed + false) ** (1 / p), loc, missed, false, n_t - n_pairs, n_k - n_pairs
    )
