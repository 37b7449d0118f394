"""The batched drone rule decides exactly as the per-track rule it replaced, on the predictions
of a real run: a slice of ``shahed-raid`` (its radars, 20 Shahed-136 drones launched near, at
Arad and Nevatim) with two cruise missiles (the corridor pre-alert), every scan's drone
decisions compared array by array."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from redcolor.geo import load_areas
from redcolor.pipeline.runner import feed_of, run
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.policies import PredictedPolicy, Staging

from ..decisions import assert_same_decisions

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drone_reference import drone_decision

SLICE_TOML = """
name = "shahed-slice"
start = "2024-04-14T00:00:00Z"
seed = 67
ground_alt_m = 400.0

[[radar]]
id = "negev-lr"
lat = 30.83
lon = 34.72
alt_m = 1000.0
scan_period_s = 2.0
range_sigma_m = 25.0
angle_sigma_mrad = 1.0
detection_probability = 0.9
false_alarms_per_scan = 1.0
max_range_km = 1500.0
min_elevation_deg = -2.0
range_rate_sigma_m_s = 3.0

[[radar]]
id = "arad-1"
lat = 31.26
lon = 35.21
alt_m = 600.0
scan_period_s = 2.0
range_sigma_m = 20.0
angle_sigma_mrad = 2.0
detection_probability = 0.85
false_alarms_per_scan = 1.0
max_range_km = 150.0
min_elevation_deg = -1.0
range_rate_sigma_m_s = 1.0

[[salvo]]
projectile = "shahed-136"
count = 12
at_s = 0.0
over_s = 60.0
launch = { lat = 31.30, lon = 35.60, radius_m = 8000.0 }
target = { lat = 31.208, lon = 35.012, radius_m = 1500.0 }

[[salvo]]
projectile = "shahed-136"
count = 8
at_s = 0.0
over_s = 60.0
launch = { lat = 31.35, lon = 35.55, radius_m = 8000.0 }
target = { lat = 31.2576, lon = 35.2130, radius_m = 800.0 }

[[salvo]]
projectile = "cruise-paveh"
count = 2
at_s = 0.0
over_s = 20.0
launch = { lat = 31.25, lon = 35.90, radius_m = 2000.0 }
target = { lat = 31.2236, lon = 34.8815, radius_m = 400.0 }
"""
SCANS = 140  # per radar, 2 s apart: every drone confirmed and settled, none arrived


class _Recording(PredictedPolicy):
    """The predicted policy, keeping every scan's settled drone predictions."""

    def __init__(self, index, staging=None) -> None:
        super().__init__(index, staging)
        self.scans = []

    def decide(self, predictions, now_unix_s, cues=()):
        drones = [p for p in predictions if p.kind == "drone" and self._settled(p)]
        if drones:
            self.scans.append((drones, now_unix_s))
        return super().decide(predictions, now_unix_s, cues)


@pytest.fixture(scope="module")
def index():
    return load_areas()


@pytest.fixture(scope="module")
def recorded(index, tmp_path_factory):
    path = tmp_path_factory.mktemp("slice") / "shahed-slice.toml"
    path.write_text(SLICE_TOML)
    sim = simulate(load_scenario(path))
    feed = feed_of(sim)
    policy = _Recording(index)
    run(dataclasses.replace(feed, scans=itertools.islice(feed.scans, 2 * SCANS)), policy=policy)
    return policy.scans


@pytest.mark.parametrize(
    "staging",
    [Staging(), Staging(drone_pre_alert_s=0.0, cruise_corridor_deg=180.0)],
    ids=["default", "no-drone-pre-alert-cruise-disc"],
)
def test_batched_drone_rule_decides_as_the_per_track_rule(index, recorded, staging):
    policy = PredictedPolicy(index, staging)
    tracks = {p.track_id for drones, _ in recorded for p in drones}
    cruise = {
        p.track_id for drones, _ in recorded for p in drones if policy._classes([p])[0] == "cruise"
    }
    # the slice exercises the rule: many drone tracks at once, cruise missiles among them
    assert len(tracks) >= 15 and cruise
    assert max(len(drones) for drones, _ in recorded) >= 15
    reached = 0
    for drones, now in recorded:
        want = [d for p in drones if (d := drone_decision(policy, p, now)) is not None]
        got = policy._drones(drones, now)
        assert_same_decisions(got, want)
        reached += sum(int(np.isfinite(d.alert_at_unix_s).sum()) for d in got)
    assert reached > 0  # some areas are told to shelter now, not only pre-alerted


def test_batched_drone_rule_with_no_hits_and_pathless_predictions(index, recorded):
    """Predictions far from every area (no area within reach, no pre-alert) and with no path
    (the impact point stands for it) decide as the reference: nothing, or the same."""
    policy = PredictedPolicy(index, Staging(drone_pre_alert_s=0.0, cruise_pre_alert_s=0.0))
    drones, now = recorded[-1]
    far = [dataclasses.replace(p, impact_lat=p.impact_lat - 3.0) for p in drones[:3]]
    pathless = [
        dataclasses.replace(
            p, path_t_unix_s=np.zeros(0), path_lat=np.zeros(0), path_lon=np.zeros(0)
        )
        for p in far + drones[3:6]
    ]
    want = [d for p in pathless if (d := drone_decision(policy, p, now)) is not None]
    assert_same_decisions(policy._drones(pathless, now), want)
    assert policy._drones(pathless[:3], now) == []
