"""Global nearest neighbour assignment over gated pairs.

Minimise ``sum of cost over assigned pairs + sum of miss_cost over unassigned tracks`` with each
plot used at most once. The gated pairs form a sparse bipartite graph; its connected components
are solved independently. Those with one track (it takes its cheapest plot) or one plot (it
goes to the track saving the most over its miss cost) are solved exactly for all components
at once, ties broken as the solver below breaks them (or left to it); the others by
``scipy.optimize.linear_sum_assignment`` on the dense block augmented with one "miss" column
per track (cost ``miss_cost``; other entries of the augmentation forbidden), or, for blocks of
more than ``SPARSE_TRACKS`` tracks (a dense block of 1,500 tracks is 10^7 entries), by
``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` on the same block kept sparse (the
same optimum; only between exactly equal totals might the two choose differently). The
blocks' row and column numbering is computed for all components at once; only that solve is
a loop.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_FORBIDDEN = 1.0e12
TIE_MARGIN = 1.0e-9
"""Relative gap below which two totals count as a tie (left to the LSAP solver)."""
SMALL_BLOCK = 3
"""Blocks of at most this many tracks and plots are solved by enumerating every assignment."""
SPARSE_TRACKS = 40
"""Blocks of more tracks than this go to the sparse solver (LAPJVsp), not the dense one."""


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
        multi = np.flatnonzero(np.repeat(sizes > 1, sizes))  # positions in the sorted pairs
        if multi.size == 0:
            return out
        idx = order[multi]
        t, p, c, g = track[idx], plot[idx], cost[idx], comp_sorted[multi]
        # each block's tracks and plots numbered from 0 in ascending order, all blocks at once
        row, col = _local_index(g, t, n_tracks), _local_index(g, p, n_plots)
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        size = np.diff(np.r_[starts, g.size])
        one_track = np.repeat(np.maximum.reduceat(row, starts) == 0, size)
        one_plot = np.repeat(np.maximum.reduceat(col, starts) == 0, size)
        _assign_one_track(t[one_track], p[one_track], c[one_track], g[one_track], out)
        solved = _assign_one_plot(t[one_plot], p[one_plot], c[one_plot], g[one_plot],
                                  miss_cost, out)  # fmt: skip
        rest = ~one_track
        rest[np.flatnonzero(one_plot)[solved]] = False
        nr = np.repeat(np.maximum.reduceat(row, starts) + 1, size)
        nc = np.repeat(np.maximum.reduceat(col, starts) + 1, size)
        small = rest & (nr <= SMALL_BLOCK) & (nc <= SMALL_BLOCK)
        done = _assign_small(
            t[small], p[small], c[small], g[small], row[small], col[small], miss_cost, out
        )
        rest[np.flatnonzero(small)[done]] = False
        if not np.any(rest):
            return out
        t, p, c, g, row, col = t[rest], p[rest], c[rest], g[rest], row[rest], col[rest]
        bounds = np.r_[np.flatnonzero(np.r_[True, g[1:] != g[:-1]]), g.size]
        for lo, hi in itertools.pairwise(bounds):
            self._solve_block(t[lo:hi], p[lo:hi], c[lo:hi], row[lo:hi], col[lo:hi], miss_cost,
                              out)  # fmt: skip
        return out

    @staticmethod
    def _solve_block(
        track: I64, plot: I64, cost: F64, ti: I64, pj: I64, miss_cost: F64, out: I64
    ) -> None:
        """One component: pairs ``(track, plot, cost)`` and their block indices ``(ti, pj)``
        (each block's tracks and plots numbered 0.. in ascending order)."""
        nr, nc = int(ti.max()) + 1, int(pj.max()) + 1
        rows = np.empty(nr, np.int64)
        rows[ti] = track
        cols = np.empty(nc, np.int64)
        cols[pj] = plot
        if nr > SPARSE_TRACKS:
            # LAPJVsp wants non-zero weights: a shift common to every row (each row is
            # matched once) leaves the optimum unchanged
            miss = miss_cost[rows]
            low = min(float(cost.min()), float(miss.min()))
            shift = 1.0 - low if low <= 0.0 else 0.0
            diag = np.arange(nr)
            graph = csr_matrix(
                (np.r_[cost, miss] + shift, (np.r_[ti, diag], np.r_[pj, nc + diag])),
                shape=(nr, nc + nr),
            )
            r, c = min_weight_full_bipartite_matching(graph)
        else:
            block = np.full((nr, nc + nr), _FORBIDDEN)
            block[ti, pj] = cost
            block[np.arange(nr), nc + np.arange(nr)] = miss_cost[rows]
            r, c = linear_sum_assignment(block)
        real = c < nc
        out[rows[r[real]]] = cols[c[real]]


def _local_index(group: I64, value: I64, n_values: int) -> I64:
    """Each ``value``'s number (K,) among the distinct values of its ``group``, ascending."""
    uniq, inv = np.unique(group * n_values + value, return_inverse=True)
    first = np.flatnonzero(np.r_[True, uniq[1:] // n_values != uniq[:-1] // n_values])
    starts = np.repeat(first, np.diff(np.r_[first, uniq.size]))
    return inv - starts[inv]


def _assign_one_track(track: I64, plot: I64, cost: F64, group: I64, out: I64) -> None:
    """Blocks (pairs grouped by ``group``, contiguous) of one track and several plots: the
    track takes its cheapest plot, equal costs to the lowest plot index (as
    ``linear_sum_assignment`` on the block does: its one augmenting path keeps the first
    column of least cost)."""
    if track.size == 0:
        return
    order = np.lexsort((plot, cost, group))
    g = group[order]
    first = order[np.r_[True, g[1:] != g[:-1]]]
    out[track[first]] = plot[first]


def _assign_one_plot(
    track: I64, plot: I64, cost: F64, group: I64, miss_cost: F64, out: I64
) -> NDArray[np.bool_]:
    """Blocks (pairs grouped by ``group``, contiguous) of one plot and several tracks: the
    plot goes to the track saving the most, ``miss_cost - cost``. Returns, per pair, whether
    its block was solved: a block whose best saving leads the next by less than
    ``TIE_MARGIN`` (relative) is left to ``linear_sum_assignment``, whose choice between
    near-equal savings depends on its rounding."""
    solved = np.zeros(track.size, dtype=bool)
    if track.size == 0:
        return solved
    saving = miss_cost[track] - cost
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    size = np.diff(np.r_[starts, group.size])
    best = np.repeat(np.maximum.reduceat(saving, starts), size)
    near = saving >= best - TIE_MARGIN * (1.0 + np.abs(best))
    unique = np.repeat(np.add.reduceat(near.astype(np.int64), starts) == 1, size)
    win = near & unique
    out[track[win]] = plot[win]
    return unique


def _injections(n_rows: int, n_cols: int) -> I64:
    """Every assignment (E, n_rows) of rows to distinct columns 0..n_cols-1 or to none
    (``n_cols``)."""
    options = itertools.product(range(n_cols + 1), repeat=n_rows)
    return np.array([o for o in options
                     if len({j for j in o if j < n_cols}) == sum(j < n_cols for j in o)],
                    dtype=np.int64)  # fmt: skip


_SMALL_ASSIGNMENTS = _injections(SMALL_BLOCK, SMALL_BLOCK)


def _assign_small(
    track: I64, plot: I64, cost: F64, group: I64, row: I64, col: I64, miss_cost: F64, out: I64
) -> NDArray[np.bool_]:
    """Blocks (pairs grouped by ``group``, contiguous; ``row``, ``col`` their block numbering)
    of at most ``SMALL_BLOCK`` tracks and plots: every assignment is costed at once and the
    cheapest taken. Returns, per pair, whether its block was solved: a block whose cheapest
    assignment leads the next by less than ``TIE_MARGIN`` (relative) is left to
    ``linear_sum_assignment``."""
    solved = np.zeros(track.size, dtype=bool)
    if track.size == 0:
        return solved
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    size = np.diff(np.r_[starts, group.size])
    blk = np.repeat(np.arange(starts.size), size)
    k = SMALL_BLOCK
    table = np.full((starts.size, k, k + 1), np.inf)
    table[:, :, k] = 0.0  # rows beyond a block's tracks: free to stay unassigned
    table[blk, row, k] = miss_cost[track]
    table[blk, row, col] = cost
    total = table[:, np.arange(k), _SMALL_ASSIGNMENTS].sum(axis=2)  # (B, E)
    pick = np.argsort(total, axis=1)[:, :2]
    best = np.take_along_axis(total, pick, axis=1)
    clear = best[:, 1] - best[:, 0] >= TIE_MARGIN * (1.0 + np.abs(best[:, 0]))
    choice = _SMALL_ASSIGNMENTS[pick[:, 0]]  # (B, k)
    win = clear[blk] & (choice[blk, row] == col)
    out[track[win]] = plot[win]
    return clear[blk]
