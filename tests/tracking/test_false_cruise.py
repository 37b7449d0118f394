"""No rocket is confirmed as a cruise missile in a dense barrage.

A rocket on a flat trajectory descends at a few degrees near the end of its flight, inside the
tracker's level band (5 degrees, two sigma of climb) and below a cruise missile's top speed, so
its track is modelled as an air-breather. The slice below is barrage-3000's fire from Gaza in its
first 100 s (its two Gaza radars, its salvos scaled to the window): with ``cruise_confirm_s`` at
10 s one such track was confirmed as a cruise candidate and pre-alerted a 600 s corridor over
dozens of areas (the whole barrage: 5 tracks, about 150 needless areas); each fell out of the
level band, or to the ground, by 13 s of tracking.
"""

from __future__ import annotations

import numpy as np

from redcolor.prediction.runner import TrackPredict
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.tracking.state import KIND_DRONE

SLICE_TOML = """
name = "gaza-slice"
description = "barrage-3000's fire from Gaza for its first 100 s"
start = "2023-10-07T03:30:00Z"
seed = 3000
ground_alt_m = 0.0

[[radar]]
id = "gaza-east"
lat = 31.47
lon = 34.56
alt_m = 40.0
scan_period_s = 1.0
range_sigma_m = 10.0
angle_sigma_mrad = 1.5
detection_probability = 0.92
false_alarms_per_scan = 2.0
max_range_km = 60.0
range_rate_sigma_m_s = 1.5

[[radar]]
id = "ashkelon-1"
lat = 31.64
lon = 34.60
alt_m = 40.0
scan_period_s = 1.0
range_sigma_m = 15.0
angle_sigma_mrad = 2.0
detection_probability = 0.85
false_alarms_per_scan = 2.0
max_range_km = 120.0

# --- from southern Lebanon -------------------------------------------------------------------
[[salvo]]
projectile = "qassam"
count = 100
at_s = 0.0
over_s = 100.0
launch = { lat = 31.545, lon = 34.535, radius_m = 1500.0 }
target = { lat = 31.525, lon = 34.596, radius_m = 1000.0 }   # Sderot

[[salvo]]
projectile = "rocket-122mm"
count = 67
at_s = 0.0
over_s = 100.0
launch = { lat = 31.55, lon = 34.50, radius_m = 3000.0 }
target = { lat = 31.668, lon = 34.574, radius_m = 1500.0 }   # Ashkelon

[[salvo]]
projectile = "mortar-120mm"
count = 42
at_s = 0.0
over_s = 100.0
launch = { lat = 31.495, lon = 34.465, radius_m = 600.0 }
target = { lat = 31.474, lon = 34.503, radius_m = 600.0 }    # Nahal Oz

[[salvo]]
projectile = "rocket-122mm-extended"
count = 24
at_s = 60.0
over_s = 100.0
launch = { lat = 31.42, lon = 34.40, radius_m = 2000.0 }
target = { lat = 31.31, lon = 34.62, radius_m = 2000.0 }     # Ofakim
"""


def test_no_rocket_of_a_gaza_barrage_is_confirmed_as_a_cruise_missile(tmp_path) -> None:
    path = tmp_path / "gaza-slice.toml"
    path.write_text(SLICE_TOML)
    sim = simulate(load_scenario(path))
    core = TrackPredict(sim.registrations, ground_alt_m=sim.scenario.ground_alt_m)
    confirmed = drones = 0
    for scan in sim.scans:
        core.step(scan)
        tab = core.tracker.tracks
        confirmed = max(confirmed, int(tab.confirmed.sum()))
        fast = np.linalg.norm(tab.x[:, 3:6], axis=1) > 150.0
        drones += int(np.sum(tab.confirmed & (tab.kind == KIND_DRONE) & fast))
    assert confirmed > 20  # the barrage is tracked
    assert drones == 0
