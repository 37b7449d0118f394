"""redcolor.tracking: radar plots in, tracks out.

A batched EKF over all tracks in one common ENU frame (ballistic coast physics with an
estimated ballistic coefficient; a nearly-constant-velocity model for drones), measurements in
each radar's polar frame, k-d tree and Mahalanobis gating, global nearest neighbour assignment
over the gated pairs, two-point initiation with M-of-N confirmation, and deletion.
"""

from redcolor.tracking.frame import TrackingSetup, build_tracker
from redcolor.tracking.measurement import RadarPose
from redcolor.tracking.state import KIND_BALLISTIC, KIND_DRONE, KIND_NAMES, TrackSnapshot
from redcolor.tracking.tracker import REJECT_REASONS, Tracker, TrackerSettings

__all__ = [
    "KIND_BALLISTIC",
    "KIND_DRONE",
    "KIND_NAMES",
    "REJECT_REASONS",
    "RadarPose",
    "TrackSnapshot",
    "Tracker",
    "TrackerSettings",
    "TrackingSetup",
    "build_tracker",
]
