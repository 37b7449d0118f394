"""Global nearest neighbour assignment over gated pairs.

Minimise ``sum of cost over assigned pairs + sum of miss_cost over unassigned tracks`` with each
plot used at most once. The gated pairs form a sparse bipartite graph; its connected components
are solved independently: a component of one track and one plot directly (vectorised), larger
ones by ``scipy.optimize.linear_sum_assignment`` on the dense block augmented with one "miss"
column per track (cost ``miss_cost``; other entries of the augmentation forbidden).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_FORBIDDEN = 1.0e12


class GnnAssociator:
    """Global nearest neighbour over a sparse set of gated pairs (no settings)."""

    def assign(
        self, n_tracks: int, n_plots: int, track: I64, plot: I64, cost: F64, miss_cost: F64
    ) -> I64:
        """Return the plot index assigned to each track (N,), or -1.

        Parameters
        ----------
        track, plot, cost : (K,) gated pairs and their costs.
        miss_cost : (N,) cost of leaving each track without a plot. Pairs dearer than it are
            never chosen.
        """
        out = np.full(n_tracks, -1, dtype=np.int64)
        if track.size == 0:
            return out
        good = cost < miss_cost[track]
        track, plot, cost = track[good], plot[good], cost[good]
        if track.size == 0:
            return out
        graph = coo_matrix(
            (np.ones(track.size), (track, n_tracks + plot)),
            shape=(n_tracks + n_plots, n_tracks + n_plots),
        )
        _, label = connected_components(graph, directed=False)
        comp = label[track]
        order = np.argsort(comp, kind="stable")
        comp_sorted = comp[order]
        starts = np.flatnonzero(np.r_[True, comp_sorted[1:] != comp_sorted[:-1]])
        sizes = np.diff(np.r_[starts, comp_sorted.size])
        single = starts[sizes == 1]
        out[track[order[single]]] = plot[order[single]]
        for s, k in zip(starts[sizes > 1], sizes[sizes > 1], strict=True):
            idx = order[s : s + k]
            self._solve_block(track[idx], plot[idx], cost[idx], miss_cost, out)
        return out

    @staticmethod
    def _solve_block(track: I64, plot: I64, cost: F64, miss_cost: F64, out: I64) -> None:
        rows, ti = np.unique(track, return_inverse=True)
        cols, pj = np.unique(plot, return_inverse=True)
        nr, nc = rows.size, cols.size
        block = np.full((nr, nc + nr), _FORBIDDEN)
        block[ti, pj] = cost
        block[np.arange(nr), nc + np.arange(nr)] = miss_cost[rows]
        r, c = linear_sum_assignment(block)
        real = c < nc
        out[rows[r[real]]] = cols[c[real]]
