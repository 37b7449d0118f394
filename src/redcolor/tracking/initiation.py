"""Track initiation from unassigned plots (two-point velocity) and M-of-N confirmation.

Plots no track claimed wait in a buffer for ``max_gap_s``. A new unassigned plot at time
``t1`` pairs with a waiting plot at ``t0 <= t1 - min_gap_s`` when the implied speed lies in
``[min_speed_m_s, max_speed_m_s]``; pairs are taken greedily, shortest displacement first, each
plot at most once. The tentative track starts at the newer plot with::

    v = (p1 - p0) / dt  (+ the change of a 1 g fall over dt/2, for ballistic tracks)
    P_pp = R1,  P_pv = R1 / dt,  P_vv = (R1 + R0) / dt^2 + sigma_boost^2 I

and the ballistic-coefficient prior. Its kind is decided by speed and height: possibly slower
than ``drone_max_speed_m_s`` (its implied speed less ``KIND_SIGMAS`` standard deviations, which
at 140 km from a 1 mrad radar are ~100 m/s) and lower than ``drone_max_height_m`` above the
terrain, or possibly level and slower than ``cruise_max_speed_m_s``, a drone
(nearly-constant velocity); otherwise ballistic (a mortar bomb near a high
apogee is slow but high).

A plot that starts a tentative track (the newer of its pair) also waits on, for another
pairing (``paired_plots_wait``): under heavy clutter a rocket's first plot may pair with a
clutter plot of the scan before, and its second plot must still find it (issue 16: on
kiryat-shmona-degraded that pair came one scan later, and an area 0.7 s late). A plot a track
then claims is never free to pair, so a true track does not start twice.

Confirmation is M of N: a track is confirmed once at least ``confirm_hits`` of its last
``confirm_window`` opportunities (scans whose radar covered it) brought a plot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from redcolor.physics.atmosphere import G0_M_S2
from redcolor.tracking.state import KIND_BALLISTIC, KIND_DRONE, LN_BETA, STATE_DIM

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

KIND_SIGMAS = 2.0
"""Standard deviations of its estimated speed or climb rate that a track's motion model is
given the benefit of: a track is modelled as a drone (air-breather) while it may be slow
enough and, when faster than a drone, may be flying level."""
NEAREST = 8
"""Partners listed per plot before the initiation's greedy matching (the result does not
depend on it, only the time: the pairs left out are checked and added where they matter)."""


@dataclass(frozen=True)
class InitiatorSettings:
    """Initiation and confirmation settings.

    Attributes
    ----------
    min_gap_s, max_gap_s : float
        Time between the two plots of a pair. Below ``min_gap_s`` (two radars scanning almost
        together) the position noise swamps the implied velocity; beyond ``max_gap_s`` a
        waiting plot is dropped.
    min_speed_m_s, max_speed_m_s : float
        Speeds a two-point pair may imply (drones ~40-60 m/s; ballistic missiles ~3 km/s).
    drone_max_speed_m_s, drone_max_height_m : float
        A new track slower than this and lower than this above the terrain is an
        air-breather, modelled as a drone (assumption: one-way attack drones cruise at 40-60
        m/s a few hundred metres up).
    cruise_max_speed_m_s, level_angle_deg : float
        A new low track slower than ``cruise_max_speed_m_s`` that flies level (flight-path
        angle within ``level_angle_deg``, in the frame's vertical: within 2 degrees of the
        local one 200 km from the origin) is an air-breather too: a subsonic cruise missile
        (~250 m/s, tens to hundreds of metres up). A rocket this slow climbs or falls steeply.
    ln_beta_prior, ln_beta_sigma : float
        Prior on ln(beta / (kg/m^2)). Assumption: beta ~ 8,000 kg/m^2 (a 122 mm Grad after
        burnout: ~45 kg / (0.43 * 0.0117 m^2) ~ 9,000) with one e-fold of spread covers
        short-range rockets to heavy rockets.
    boost_vel_sigma_m_s : float
        Extra velocity uncertainty: the pair may straddle the end of the motor burn.
    paired_plots_wait : bool
        Whether the newer plot of a pair waits on for another pairing (module docstring).
    confirm_hits, confirm_window : int
        M and N of the M-of-N confirmation (the initiating pair counts as two hits). Tuned on
        the built-in scenarios: 4 of 6 confirmed ~0.4 s sooner but let through tracks of a
        rocket still under thrust that broke up a second later (1 on fajr-tel-aviv, 11 on
        barrage-3000); 5 of 7 gave none on the smaller scenarios and 1 of 3,096 on
        barrage-3000, with the median confirmation on meron-2024-01-06 at 4.8 s after
        launch (burnout at 1.9 s).
    """

    min_gap_s: float = 0.5
    max_gap_s: float = 2.5
    min_speed_m_s: float = 15.0
    max_speed_m_s: float = 4000.0
    drone_max_speed_m_s: float = 150.0
    cruise_max_speed_m_s: float = 320.0
    level_angle_deg: float = 5.0
    drone_max_height_m: float = 1500.0
    ln_beta_prior: float = float(np.log(8000.0))
    ln_beta_sigma: float = 1.0
    boost_vel_sigma_m_s: float = 60.0
    confirm_hits: int = 5
    confirm_window: int = 7
    paired_plots_wait: bool = True


@dataclass(frozen=True)
class NewTracks:
    """Tentative tracks born in one scan: ``x`` (K, 7), ``P`` (K, 7, 7), ``kind`` (K,),
    ``first_t_unix_s`` (K,) the time of each pair's older plot."""

    x: F64
    P: F64
    kind: NDArray[np.int8]
    first_t_unix_s: F64


class TwoPointInitiator:
    """Pairs unassigned plots across scans into tentative tracks; holds the waiting plots."""

    def __init__(self, settings: InitiatorSettings) -> None:
        self.settings = settings
        self._pos = np.zeros((0, 3))
        self._cov = np.zeros((0, 3, 3))
        self._t = np.zeros(0)

    @property
    def waiting(self) -> int:
        """Number of plots waiting for a partner."""
        return int(self._t.size)

    def initiate(self, t_unix_s: float, pos_enu_m: F64, pos_cov: F64, height_m: F64) -> NewTracks:
        """Pair the scan's unassigned plots (M, 3) with waiting ones; buffer the rest.

        ``pos_cov`` (M, 3, 3) are the plots' covariances, ``height_m`` (M,) their heights
        above the terrain.
        """
        s = self.settings
        fresh = self._t >= t_unix_s - s.max_gap_s
        self._pos, self._cov, self._t = self._pos[fresh], self._cov[fresh], self._t[fresh]
        new_idx, old_idx = self._pairs(t_unix_s, pos_enu_m)
        dt = t_unix_s - self._t[old_idx]
        vel = (pos_enu_m[new_idx] - self._pos[old_idx]) / dt[:, None]
        r1, r0 = pos_cov[new_idx], self._cov[old_idx]
        speed = np.linalg.norm(vel, axis=1)
        along = vel / np.maximum(speed, 1e-9)[:, None]
        speed_var = np.einsum("ni,nij,nj->n", along, r1 + r0, along) / dt**2
        speed_lo = speed - KIND_SIGMAS * np.sqrt(speed_var)
        climb_var = (r1 + r0)[:, 2, 2] / dt**2
        level = (
            np.abs(vel[:, 2]) - KIND_SIGMAS * np.sqrt(climb_var)
            <= np.sin(np.radians(s.level_angle_deg)) * speed
        )
        air = (speed_lo < s.drone_max_speed_m_s) | (level & (speed_lo < s.cruise_max_speed_m_s))
        low = height_m[new_idx] < s.drone_max_height_m
        kind = np.where(air & low, KIND_DRONE, KIND_BALLISTIC).astype(np.int8)
        vel[:, 2] -= np.where(kind == KIND_BALLISTIC, G0_M_S2 * dt / 2.0, 0.0)
        k = new_idx.size
        x = np.zeros((k, STATE_DIM))
        x[:, 0:3] = pos_enu_m[new_idx]
        x[:, 3:6] = vel
        x[:, LN_BETA] = s.ln_beta_prior
        p = np.zeros((k, STATE_DIM, STATE_DIM))
        p[:, 0:3, 0:3] = r1
        p[:, 0:3, 3:6] = p[:, 3:6, 0:3] = r1 / dt[:, None, None]
        p[:, 3:6, 3:6] = (r1 + r0) / (dt**2)[:, None, None] + s.boost_vel_sigma_m_s**2 * np.eye(3)
        p[:, LN_BETA, LN_BETA] = s.ln_beta_sigma**2
        first_t = self._t[old_idx].copy()
        keep_old = np.ones(self._t.size, dtype=bool)
        keep_old[old_idx] = False
        unused_new = np.ones(pos_enu_m.shape[0], dtype=bool)
        unused_new[new_idx] = s.paired_plots_wait
        self._pos = np.concatenate([self._pos[keep_old], pos_enu_m[unused_new]])
        self._cov = np.concatenate([self._cov[keep_old], pos_cov[unused_new]])
        self._t = np.concatenate([self._t[keep_old], np.full(int(unused_new.sum()), t_unix_s)])
        return NewTracks(x, p, kind, first_t)

    def _pairs(
        self, t_unix_s: float, pos_enu_m: F64
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The greedy matching, shortest displacement first, of all (new, waiting) pairs the
        speed test keeps, found without listing them all (millions at the peak of a barrage):
        the matching runs on each plot's ``NEAREST`` nearest partners only, then every pair
        left out is checked to be blocked by a match taken before it; the unblocked ones
        are added and the matching repeats (see :func:`_unblocked`)."""
        s = self.settings
        none = np.zeros(0, np.int64)
        old_ids = np.flatnonzero(self._t <= t_unix_s - s.min_gap_s)
        m, n_old = pos_enu_m.shape[0], old_ids.size
        if m == 0 or n_old == 0:
            return none, none
        old_pos = self._pos[old_ids]
        # Each waiting plot's reach at max_speed_m_s (margin 1e-9 for rounding).
        reach_old_m = s.max_speed_m_s * (t_unix_s - self._t[old_ids]) * (1.0 + 1e-9)
        reach_m = float(reach_old_m.max())
        old_tree, new_tree = cKDTree(old_pos), cKDTree(pos_enu_m)
        k_new, k_old = min(NEAREST, n_old), min(NEAREST, m)
        d_new, j_new = old_tree.query(
            pos_enu_m, k=list(range(1, k_new + 1)), distance_upper_bound=reach_m
        )
        d_old, i_old = new_tree.query(
            old_pos, k=list(range(1, k_old + 1)), distance_upper_bound=reach_m
        )
        # A pair left out of a plot's list is no shorter than its last listed partner.
        bound_new = d_new[:, -1] if k_new < n_old else np.full(m, np.inf)
        bound_old = d_old[:, -1] if k_old < m else np.full(n_old, np.inf)
        hit_new, hit_old = np.isfinite(d_new), np.isfinite(d_old)
        key = _sorted_unique(np.concatenate([
            np.repeat(np.arange(m), hit_new.sum(axis=1)) * n_old + j_new[hit_new],
            i_old[hit_old] * n_old + np.repeat(np.arange(n_old), hit_old.sum(axis=1)),
        ]))  # fmt: skip
        ni, li, dist = self._kept(t_unix_s, pos_enu_m, old_ids, key)
        while True:
            chosen = greedy_matching(ni, li, shortest_first(dist, ni, li))
            match_new, match_old = np.full(m, np.inf), np.full(n_old, np.inf)
            match_new[ni[chosen]] = dist[chosen]
            match_old[li[chosen]] = dist[chosen]
            add = _unblocked(
                pos_enu_m, old_pos, match_new, match_old, bound_new, bound_old, reach_old_m
            )
            add = add[~_sorted_member(add, key)]
            if add.size == 0:
                return ni[chosen], old_ids[li[chosen]]
            an, al, ad = self._kept(t_unix_s, pos_enu_m, old_ids, add)
            key = np.sort(np.concatenate([key, add]))
            ni = np.concatenate([ni, an])
            li = np.concatenate([li, al])
            dist = np.concatenate([dist, ad])

    def _kept(
        self, t_unix_s: float, pos_enu_m: F64, old_ids: I64, key: I64
    ) -> tuple[I64, I64, F64]:
        """The pairs ``key`` (new * len(old_ids) + old) that pass the speed test: new index,
        index into ``old_ids`` and displacement."""
        s = self.settings
        ni, li = np.divmod(key, old_ids.size)
        oi = old_ids[li]
        dist = np.linalg.norm(pos_enu_m[ni] - self._pos[oi], axis=1)
        speed = dist / (t_unix_s - self._t[oi])
        ok = (speed >= s.min_speed_m_s) & (speed <= s.max_speed_m_s)
        return ni[ok], li[ok], dist[ok]

    def confirmed(self, hit_history: NDArray[np.int64]) -> NDArray[np.bool_]:
        """M-of-N test on bit histories (N,) (bit 0 = the latest opportunity, 1 = a plot)."""
        window = hit_history & ((1 << self.settings.confirm_window) - 1)
        counts = np.zeros(window.shape, dtype=np.int64)
        for b in range(self.settings.confirm_window):
            counts += (window >> b) & 1
        return counts >= self.settings.confirm_hits


def _unblocked(
    new_pos: F64,
    old_pos: F64,
    match_new: F64,
    match_old: F64,
    bound_new: F64,
    bound_old: F64,
    reach_old_m: F64,
) -> I64:
    """Keys (new * len(old_pos) + old) of a superset of the pairs left out of the matching
    that no match taken before them blocks.

    ``match_*`` is each plot's matched displacement (inf if unmatched), ``bound_*`` the
    distance of its last listed partner (inf if it lists all within reach), ``reach_old_m``
    each waiting plot's reach. A pair left out of both lists is at least both bounds long;
    it is blocked if either end was matched shorter (the matching takes pairs shortest
    first). So only the pairs between plots matched no shorter than their bound (or
    unmatched), at most as long as both matches and the reach, can be unblocked; they are
    found with one ball query per such waiting plot.
    """
    slack = 1.0 - 1e-9  # tree distances and norms may differ in the last bits
    open_new = np.flatnonzero(np.isfinite(bound_new) & (match_new >= bound_new * slack))
    open_old = np.flatnonzero(np.isfinite(bound_old) & (match_old >= bound_old * slack))
    if open_new.size == 0 or open_old.size == 0:
        return np.zeros(0, np.int64)
    hits = cKDTree(new_pos[open_new]).query_ball_point(
        old_pos[open_old],
        np.minimum(match_old[open_old], reach_old_m[open_old]) / slack,
        return_sorted=False,
    )
    counts = np.fromiter(map(len, hits), np.int64, hits.size)
    if counts.sum() == 0:
        return np.zeros(0, np.int64)
    li = np.repeat(open_old, counts)
    ni = open_new[np.concatenate(hits[counts > 0]).astype(np.int64)]
    dist = np.linalg.norm(new_pos[ni] - old_pos[li], axis=1)
    near = dist * slack <= match_new[ni]
    return ni[near] * old_pos.shape[0] + li[near]


def _sorted_unique(x: I64) -> I64:
    """The distinct values of ``x``, ascending."""
    x = np.sort(x)
    return x[np.concatenate([x[:1] == x[:1], x[1:] != x[:-1]])]


def _sorted_member(x: I64, sorted_keys: I64) -> NDArray[np.bool_]:
    """Whether each of ``x`` is in ``sorted_keys`` (ascending)."""
    if sorted_keys.size == 0:
        return np.zeros(x.shape, bool)
    at = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[at] == x


def shortest_first(dist: F64, a: I64, b: I64) -> I64:
    """The permutation sorting pairs by ``dist``, equal distances by ``a`` then ``b`` (the
    order of ``np.lexsort((b, a, dist))``; only the rare runs of equal distances are sorted
    on all three keys)."""
    order = np.argsort(dist)
    d = dist[order]
    tie = np.flatnonzero(d[1:] == d[:-1])
    if tie.size:
        at = np.unique(np.concatenate([tie, tie + 1]))
        sub = order[at]
        order[at] = sub[np.lexsort((b[sub], a[sub], d[at]))]
    return order


def greedy_matching(a: I64, b: I64, order: I64) -> I64:
    """Greedy matching of candidate pairs ``(a[k], b[k])`` (K,): taken in ``order`` (a
    permutation of the K pairs), each pair is kept unless its ``a`` or its ``b`` is already
    used. Returns the kept pairs' indices in that order.

    Vectorised in rounds: a pair that comes first, among the pairs left, for both its ``a``
    and its ``b`` is kept by the sequential rule (nothing before it can claim either end);
    the pairs touching a kept end are then dropped, and the round repeats on the rest.
    """
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    kept = []
    left = np.arange(a.size)
    while left.size:
        ra, rb = a[left], b[left]
        first_a = np.full(int(ra.max()) + 1, order.size, np.int64)
        first_b = np.full(int(rb.max()) + 1, order.size, np.int64)
        r = rank[left]
        np.minimum.at(first_a, ra, r)
        np.minimum.at(first_b, rb, r)
        win = (first_a[ra] == r) & (first_b[rb] == r)
        kept.append(left[win])
        used_a = np.zeros(first_a.size, bool)
        used_b = np.zeros(first_b.size, bool)
        used_a[ra[win]] = True
        used_b[rb[win]] = True
        left = left[~(used_a[ra] | used_b[rb])]
    out = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    return out[np.argsort(rank[out])]
