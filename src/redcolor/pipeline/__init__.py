"""redcolor.pipeline: the end-to-end runner, scans -> tracking -> prediction -> warning -> alerts.

``run(source, policy=..., store=..., speed=..., start_unix_s=..., on_events=...)`` runs one
policy (``redcolor serve --simulate`` calls it in a background thread); ``run_lanes`` runs
several side by side on the same tracker output. The source is a :class:`Feed` of scans, or a
scenario that is flown and fed the same way.
"""

from redcolor.pipeline.policies import (
    DEFAULT_RADIUS_M,
    POLICY_NAMES,
    RADIUS_CHOICES_M,
    make_policy,
    oracle_threats,
)
from redcolor.pipeline.runner import Feed, LaneResult, RunResult, run, run_lanes

__all__ = [
    "DEFAULT_RADIUS_M",
    "POLICY_NAMES",
    "RADIUS_CHOICES_M",
    "Feed",
    "LaneResult",
    "RunResult",
    "make_policy",
    "oracle_threats",
    "run",
    "run_lanes",
]
