"""What the tests that compare two ways of deciding check: the same decisions, field by field
(a :class:`~redcolor.warning.base.ThreatDecision` holds arrays, so ``==`` cannot say)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from redcolor.warning.base import ThreatDecision

ARRAYS = ("area_ids", "alert_at_unix_s", "impact_earliest_unix_s", "impact_latest_unix_s")


def assert_same_decisions(got: Sequence[ThreatDecision], want: Sequence[ThreatDecision]) -> None:
    """``got`` and ``want`` decide the same: threats in order, every scalar, every array (with
    its dtype) bit for bit."""
    assert [d.threat_id for d in got] == [d.threat_id for d in want]
    for g, w in zip(got, want, strict=True):
        scalars = ("category", "t_unix_s", "until_unix_s", "pre_alert")
        assert [getattr(g, f) for f in scalars] == [getattr(w, f) for f in scalars], g.threat_id
        assert g.area_ids.dtype == w.area_ids.dtype
        for field in ARRAYS:
            np.testing.assert_array_equal(getattr(g, field), getattr(w, field), err_msg=field)
