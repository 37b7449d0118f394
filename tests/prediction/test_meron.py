"""Issue 4 acceptance on the built-in meron-2024-01-06 scenario (whole run)."""

from __future__ import annotations

import pytest

from redcolor.eval.track_score import track_simulation
from redcolor.physics.catalogue import get_projectile
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario


@pytest.mark.slow
def test_meron_acceptance() -> None:
    rep = track_simulation(simulate(load_scenario("meron-2024-01-06")), progress=False)
    burn_s = get_projectile("rocket-122mm").burn_s
    assert rep.projectiles_confirmed == rep.projectiles == 62
    assert rep.false_tracks == 0
    assert rep.median_confirm_s is not None and rep.median_confirm_s <= burn_s + 4.0
    assert rep.ipp_error_m["10"] is not None and rep.ipp_error_m["10"] < 200.0
    assert rep.ipp_error_m["20"] is not None and rep.ipp_error_m["20"] < 100.0
    assert rep.coverage_99 is not None and rep.coverage_99 >= 0.97
