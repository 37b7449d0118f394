"""Track deletion: missed scans, long coasting, or a ballistic track below the terrain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.tracking.state import KIND_BALLISTIC

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class DeleterSettings:
    """When a track ends.

    Attributes
    ----------
    tentative_max_misses, confirmed_max_misses : int
        Consecutive missed opportunities (covered scans with no plot) that end a track.
    max_coast_s : float
        Seconds without any plot after which a confirmed track ends even if no radar covers it.
    tentative_max_coast_s : float
        The same for a tentative track (it may not coast out of coverage and come back).
    max_pos_sigma_m : float
        A track whose position uncertainty (square root of the trace) grows beyond this ends:
        its gate would swallow other objects' plots.
    below_ground_m : float
        A ballistic track predicted this far below the terrain has landed.
    """

    tentative_max_misses: int = 2
    confirmed_max_misses: int = 4
    max_coast_s: float = 6.0
    tentative_max_coast_s: float = 2.5
    max_pos_sigma_m: float = 1500.0
    below_ground_m: float = 30.0


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
    ) -> NDArray[np.bool_]:
        """Mask (N,) of the tracks to delete; ``pos_var_m2`` (N,) is the trace of P_pos."""
        s = self.settings
        max_miss = np.where(confirmed, s.confirmed_max_misses, s.tentative_max_misses)
        landed = (kind == KIND_BALLISTIC) & (height_above_ground_m < -s.below_ground_m)
        max_coast = np.where(confirmed, s.max_coast_s, s.tentative_max_coast_s)
        stale = t_unix_s - last_update_t_unix_s > max_coast
        lost = pos_var_m2 > s.max_pos_sigma_m**2
        return (misses >= max_miss) | landed | stale | lost
