"""The batched track state: layout, kinds, and the snapshot handed to later stages.

State vector (one row per track, common ENU frame of the tracker)::

    x = [e_m, n_m, u_m, ve_m_s, vn_m_s, vu_m_s, ln_beta]

``beta`` is the ballistic coefficient m / (cd0 A) in kg/m^2, the same form for all
projectiles, estimated online as its logarithm so it stays positive. Drone tracks carry the
slot but never use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

STATE_DIM = 7
POS = slice(0, 3)
VEL = slice(3, 6)
LN_BETA = 6

KIND_BALLISTIC = 0
KIND_DRONE = 1
KIND_NAMES = ("ballistic", "drone")


@dataclass(frozen=True)
class TrackSnapshot:
    """Confirmed tracks at one instant, for prediction and the warning stage.

    Attributes
    ----------
    t_unix_s : float
        Time of the scan the states refer to.
    ids : (N,) str
        Stable track ids ("T1", "T2", ...).
    x : (N, 7) float
        States, layout in this module's docstring, in the tracker's common ENU frame.
    P : (N, 7, 7) float
        State covariances.
    kind : (N,) int
        ``KIND_BALLISTIC`` or ``KIND_DRONE``.
    first_detection_t_unix_s : (N,) float
        Time of each track's first plot.
    confirmed_t_unix_s : (N,) float
        Time each track was confirmed.
    last_update_t_unix_s : (N,) float
        Time of each track's last plot.
    """

    t_unix_s: float
    ids: NDArray[np.str_]
    x: NDArray[np.float64]
    P: NDArray[np.float64]
    kind: NDArray[np.int8]
    first_detection_t_unix_s: NDArray[np.float64]
    confirmed_t_unix_s: NDArray[np.float64]
    last_update_t_unix_s: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.ids.shape[0])
