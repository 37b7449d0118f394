"""What every warning policy reads and writes.

A policy is a pure function of the impact predictions of one scan and the time of that scan: it
reads no clock and does no I/O. Its output is one :class:`ThreatDecision` per threat: the alert
areas that threat endangers now, when each of them must be at the shelter stage, and until when
the threat lasts. The alert lifecycle (``redcolor.alerts``) turns decisions into public events;
it never drops an area before the all-clear, so a policy only ever says what it wants *now*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray

ThreatCategory = Literal["missiles", "hostile_aircraft"]


class PredictionLike(Protocol):
    """The fields of ``redcolor.prediction.ImpactPrediction`` a policy reads.

    ``cov_en_m2`` is the (2, 2) impact-point covariance in local east/north metres at the mean;
    ``path_*`` are a drone's predicted ground path (empty for ballistic tracks).
    """

    @property
    def track_id(self) -> str: ...
    @property
    def t_unix_s(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def first_detection_t_unix_s(self) -> float: ...
    @property
    def impact_t_unix_s(self) -> float: ...
    @property
    def impact_t_sigma_s(self) -> float: ...
    @property
    def impact_lat(self) -> float: ...
    @property
    def impact_lon(self) -> float: ...
    @property
    def cov_en_m2(self) -> NDArray[np.float64]: ...
    @property
    def speed_m_s(self) -> float: ...
    @property
    def path_lat(self) -> NDArray[np.float64]: ...
    @property
    def path_lon(self) -> NDArray[np.float64]: ...
    @property
    def path_t_unix_s(self) -> NDArray[np.float64]: ...


class LaunchCueLike(Protocol):
    """The fields of ``redcolor.prediction.launch.LaunchCue`` a policy reads: a young
    ballistic track (tentative or confirmed) seen as a launch from the ground."""

    @property
    def track_id(self) -> str: ...
    @property
    def t_unix_s(self) -> float: ...
    @property
    def first_detection_t_unix_s(self) -> float: ...
    @property
    def launch_lat(self) -> float: ...
    @property
    def launch_lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def ground_speed_m_s(self) -> float: ...
    @property
    def speed_margin_m_s(self) -> float: ...
    @property
    def heading_sigma_rad(self) -> float: ...
    @property
    def reach_near_m(self) -> float: ...
    @property
    def reach_far_m(self) -> float: ...
    @property
    def impact_early_unix_s(self) -> float: ...
    @property
    def impact_late_unix_s(self) -> float: ...
    @property
    def confirmed(self) -> bool: ...


class AreaLookup(Protocol):
    """The spatial queries a policy needs (``redcolor.geo.AreaIndex`` provides them)."""

    @property
    def ids(self) -> NDArray[np.int64]: ...

    def meeting(self, geom_wgs84: shapely.Geometry) -> NDArray[np.int64]: ...

    def within_m(self, lat: float, lon: float, radius_m: float) -> NDArray[np.int64]: ...

    def zone_areas(self, zone_en: str) -> NDArray[np.int64]: ...


@dataclass(frozen=True, slots=True)
class ThreatDecision:
    """What a policy wants for one threat at one scan.

    Attributes
    ----------
    threat_id : str
        The track id (or the true projectile id for the oracle).
    category : {"missiles", "hostile_aircraft"}
        Public alert category of the threat.
    t_unix_s : float
        Time of the scan the decision was made at.
    area_ids : ndarray of int64, shape (M,)
        Areas to warn, sorted, unique.
    alert_at_unix_s : ndarray of float64, shape (M,)
        When each area must be at the ``alert`` (shelter now) stage. At or before ``t_unix_s``
        means now; later means at that time unless a later decision for the same threat moves
        it or drops the area. Infinite means pre-alert only: the area is pre-alerted (with
        ``pre_alert``) but nothing is scheduled for it.
    until_unix_s : float
        When the threat is expected to be over (predicted impact; for drones the end of the
        reach horizon, renewed while the drone flies). The area's all-clear comes a hold time
        after the last of its threats is over.
    pre_alert : bool
        Whether areas whose ``alert_at`` lies ahead are pre-alerted now (long flights) or kept
        silent until then.
    impact_earliest_unix_s, impact_latest_unix_s : ndarray of float64, shape (M,), or None
        The predicted impact time window at each area: NaN for an area no prediction gives a
        time for, None (both) when the policy predicts no times at all.
    """

    threat_id: str
    category: ThreatCategory
    t_unix_s: float
    area_ids: NDArray[np.int64]
    alert_at_unix_s: NDArray[np.float64]
    until_unix_s: float
    pre_alert: bool = False
    impact_earliest_unix_s: NDArray[np.float64] | None = None
    impact_latest_unix_s: NDArray[np.float64] | None = None


class Policy(Protocol):
    """A warning policy: predictions (and launch cues) of one scan in, decisions out. Pure and
    deterministic. ``predictions`` are only those new since the last call; ``cues`` the
    current launch cues of every tentative track and of the confirmed tracks in
    ``predictions`` (a policy reads no other: a confirmed track's cue counts only with its
    prediction)."""

    name: str

    def decide(
        self,
        predictions: Sequence[PredictionLike],
        now_unix_s: float,
        cues: Sequence[LaunchCueLike] = (),
    ) -> list[ThreatDecision]: ...
