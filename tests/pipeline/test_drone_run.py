"""A drone end to end: pre-alerted over its reach minutes ahead, told to shelter as it nears."""

from __future__ import annotations

import pytest

from redcolor.eval.compare import true_impacts
from redcolor.eval.score import score_events
from redcolor.geo import load_areas
from redcolor.pipeline import run_lanes
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.policies import PredictedPolicy, Staging

pytestmark = pytest.mark.slow

SCENARIO = """
name = "one-drone"
description = "one drone from the border south into the Galilee"
start = "2024-06-12T20:00:00Z"
seed = 5
ground_alt_m = 300.0

[[radar]]
id = "galilee-1"
lat = 32.97
lon = 35.50
alt_m = 340.0
scan_period_s = 1.0
range_sigma_m = 15.0
angle_sigma_mrad = 2.0
detection_probability = 0.9
false_alarms_per_scan = 0.0
max_range_km = 60.0

[[salvo]]
projectile = "drone"
count = 1
at_s = 0.0
speed_m_s = 50.0
launch = { lat = 33.10, lon = 35.45 }
target = { lat = 32.965, lon = 35.496 }
"""


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    path = tmp_path_factory.mktemp("drone") / "one-drone.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    sim = simulate(load_scenario(path))
    index = load_areas()
    with_pre = PredictedPolicy(index)
    without = PredictedPolicy(index, Staging(drone_pre_alert_s=0.0))
    without.name = "no-pre-alert"
    run = run_lanes(sim, [with_pre, without], index=index)
    impacts = true_impacts(sim)
    scores = {n: score_events(lane.events, impacts, index) for n, lane in run.lanes.items()}
    return run, scores


def test_drone_is_pre_alerted_minutes_before_it_arrives(outcome):
    run, scores = outcome
    score = scores["predicted"]
    assert score.needed and not score.missed and not score.late
    events = run.lanes["predicted"].events
    assert {e.category for e in events} == {"hostile_aircraft"}
    assert events[0].stage == "pre_alert"
    for area in score.needed:
        # warned (pre-alert) well before the shelter alert, which still comes in time
        assert score.lead_time_s[area] >= score.alert_lead_time_s[area] + 60.0


def test_without_the_pre_alert_areas_hear_only_the_shelter_alert(outcome):
    run, scores = outcome
    assert all(e.stage != "pre_alert" for e in run.lanes["no-pre-alert"].events)
    mine, bare = scores["predicted"], scores["no-pre-alert"]
    for area in bare.needed:
        assert bare.lead_time_s[area] == bare.alert_lead_time_s[area]
        assert mine.lead_time_s[area] > bare.lead_time_s[area]
    # the pre-alert changes who is told to stand by, not who shelters
    assert mine.shelter_area_minutes == pytest.approx(bare.shelter_area_minutes)
    assert len(mine.warned) > len(bare.warned)
