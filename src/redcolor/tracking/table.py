"""The tracker's mutable table of tracks: one row per track, arrays side by side."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from redcolor.tracking.state import STATE_DIM

F64 = NDArray[np.float64]
HISTORY_BITS = 62
SPEED_LAG = 2


class TrackTable:
    """Batched track arrays (the tracker owns and mutates it; kernels never see it).

    Attributes
    ----------
    ids : (N,) int64, stable numbers (shown as "T<n>").
    x, P : (N, 7), (N, 7, 7) states and covariances at the tracker's time.
    kind : (N,) int8, ``KIND_BALLISTIC`` or ``KIND_DRONE``.
    confirmed : (N,) bool.
    first_t, confirmed_t, last_update_t : (N,) float Unix s (``confirmed_t`` NaN until then).
    hist : (N,) int64 bit history of opportunities, bit 0 the latest (1 = a plot).
    misses : (N,) int64 consecutive missed opportunities.
    n_hits : (N,) int64 plots so far (the initiating pair counts 2).
    speed_hist_m_s, speed_hist_t : (N, SPEED_LAG) estimated speed and time at each of the last
        ``SPEED_LAG`` plots, newest first.
    speed_gain_m_s2 : (N,) rate of change of the estimated speed from the oldest of those to
        the latest plot (a motor still burning shows as a large gain; the lag smooths the
        filter's scan-to-scan noise).
    """

    def __init__(self) -> None:
        self.next_id = 1
        self.ids = np.zeros(0, np.int64)
        self.x = np.zeros((0, STATE_DIM))
        self.P = np.zeros((0, STATE_DIM, STATE_DIM))
        self.kind = np.zeros(0, np.int8)
        self.confirmed = np.zeros(0, bool)
        self.first_t = np.zeros(0)
        self.confirmed_t = np.zeros(0)
        self.last_update_t = np.zeros(0)
        self.hist = np.zeros(0, np.int64)
        self.misses = np.zeros(0, np.int64)
        self.n_hits = np.zeros(0, np.int64)
        self.speed_hist_m_s = np.zeros((0, SPEED_LAG))
        self.speed_hist_t = np.zeros((0, SPEED_LAG))
        self.speed_gain_m_s2 = np.zeros(0)

    @property
    def size(self) -> int:
        """Number of tracks, tentative and confirmed."""
        return int(self.ids.size)

    def append(self, x: F64, P: F64, kind: NDArray[np.int8], first_t: F64, t_unix_s: float) -> None:
        """Add tentative tracks born from a plot pair (two hits) at ``t_unix_s``."""
        k = x.shape[0]
        if k == 0:
            return
        self.ids = np.concatenate([self.ids, np.arange(self.next_id, self.next_id + k)])
        self.next_id += k
        self.x = np.concatenate([self.x, x])
        self.P = np.concatenate([self.P, P])
        self.kind = np.concatenate([self.kind, kind.astype(np.int8)])
        self.confirmed = np.concatenate([self.confirmed, np.zeros(k, bool)])
        self.first_t = np.concatenate([self.first_t, first_t])
        self.confirmed_t = np.concatenate([self.confirmed_t, np.full(k, np.nan)])
        self.last_update_t = np.concatenate([self.last_update_t, np.full(k, t_unix_s)])
        self.hist = np.concatenate([self.hist, np.full(k, 0b11, np.int64)])
        self.misses = np.concatenate([self.misses, np.zeros(k, np.int64)])
        self.n_hits = np.concatenate([self.n_hits, np.full(k, 2, np.int64)])
        speed = np.repeat(np.linalg.norm(x[:, 3:6], axis=1)[:, None], SPEED_LAG, axis=1)
        self.speed_hist_m_s = np.concatenate([self.speed_hist_m_s, speed])
        self.speed_hist_t = np.concatenate([self.speed_hist_t, np.full((k, SPEED_LAG), t_unix_s)])
        self.speed_gain_m_s2 = np.concatenate([self.speed_gain_m_s2, np.zeros(k)])

    def record(self, hit: NDArray[np.bool_], opportunity: NDArray[np.bool_], t: float) -> None:
        """Shift a hit or miss into the history of every track the scan could have seen, and
        update the speed and speed gain of the tracks that got a plot."""
        speed = np.linalg.norm(self.x[:, 3:6], axis=1)
        dt = np.maximum(t - self.speed_hist_t[:, -1], 1e-3)
        gain = (speed - self.speed_hist_m_s[:, -1]) / dt
        self.speed_gain_m_s2 = np.where(hit, gain, self.speed_gain_m_s2)
        rolled_v = np.concatenate([speed[:, None], self.speed_hist_m_s[:, :-1]], axis=1)
        rolled_t = np.concatenate([np.full((speed.size, 1), t), self.speed_hist_t[:, :-1]], axis=1)
        self.speed_hist_m_s = np.where(hit[:, None], rolled_v, self.speed_hist_m_s)
        self.speed_hist_t = np.where(hit[:, None], rolled_t, self.speed_hist_t)
        mask = (1 << HISTORY_BITS) - 1
        shifted = ((self.hist << 1) | hit.astype(np.int64)) & mask
        self.hist = np.where(opportunity, shifted, self.hist)
        self.misses = np.where(hit, 0, np.where(opportunity, self.misses + 1, self.misses))
        self.last_update_t = np.where(hit, t, self.last_update_t)
        self.n_hits = self.n_hits + hit

    def keep(self, rows: NDArray[np.bool_]) -> None:
        """Keep only the given rows."""
        for name in (
            "ids", "x", "P", "kind", "confirmed", "first_t", "confirmed_t",
            "last_update_t", "hist", "misses", "n_hits", "speed_hist_m_s", "speed_hist_t",
            "speed_gain_m_s2",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name)[rows])
