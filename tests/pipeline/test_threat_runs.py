"""Issue 16's threats end to end, on reduced slices of their built-in scenarios (the full
scenarios take minutes; docs/THREATS.md has their scores): a Yemen MRBM warned as a missile, a
cruise missile seen late under the radar horizon and pre-alerted along its corridor, a drone
raid warned drone by drone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

from redcolor.eval.compare import true_impacts
from redcolor.eval.score import score_events
from redcolor.geo import LocalFrame, load_areas
from redcolor.pipeline import run_lanes
from redcolor.prediction.runner import TrackPredict
from redcolor.sim.run import simulate
from redcolor.sim.scenario import Place, load_scenario
from redcolor.warning.policies import PredictedPolicy, Staging
from redcolor.warning.threats import classify

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index():
    return load_areas()


def _run(scenario, index, policies):
    sim = simulate(scenario)
    run = run_lanes(sim, policies, index=index)
    impacts = true_impacts(sim)
    return sim, run, {n: score_events(lane.events, impacts, index) for n, lane in run.lanes.items()}


def test_houthi_mrbm_flies_10_minutes_and_is_predicted_from_mid_flight(index):
    # one of the built-in scenario's three missiles; tracking and prediction over one minute
    # of its flight (the whole run, warning included, is in docs/THREATS.md)
    scn = load_scenario("houthi-eilat")
    scn = dataclasses.replace(scn, salvos=(dataclasses.replace(scn.salvos[0], count=1),))
    sim = simulate(scn)
    (rec,) = sim.truth
    assert 600.0 <= rec.impact.t - rec.launch.t <= 780.0  # 10-13 minutes, Yemen to Eilat
    assert 250_000.0 < rec.apogee_m < 400_000.0
    core = TrackPredict(sim.registrations, ground_alt_m=scn.ground_alt_m)
    window = (rec.launch.t + 420.0, rec.launch.t + 450.0)
    for scan in sim.scans:
        if scan.t > window[1]:
            break
        if scan.t >= window[0]:
            out = core.step(scan)
    (pred,) = [p for p in out.predictions if p.kind == "ballistic"]
    x, y = LocalFrame(rec.impact.lat, rec.impact.lon).project(
        np.array([pred.impact_lat]), np.array([pred.impact_lon])
    )
    error_m = float(np.hypot(x[0], y[0]))
    # 30 s of tracking, 3-4 minutes before impact: kilometres, and inside the 99% region
    assert error_m < 10_000.0
    assert pred.region(0.99).contains(shapely.Point(rec.impact.lon, rec.impact.lat))
    assert abs(pred.impact_t_unix_s - rec.impact.t) < 10.0
    assert (
        classify(np.array(["ballistic"]), np.array([300.0]), np.array([pred.speed_m_s]))[0]
        == "missile"
    )


def test_cruise_missile_is_seen_late_and_pre_alerted_along_its_corridor(index):
    scn = load_scenario("cruise-nevatim")
    salvo = dataclasses.replace(scn.salvos[0], count=1, over_s=0.0)
    scn = dataclasses.replace(scn, salvos=(salvo,))
    disc = PredictedPolicy(index, Staging(cruise_corridor_deg=180.0))
    disc.name = "disc"
    sim, run, scores = _run(scn, index, [PredictedPolicy(index), disc])
    (rec,) = sim.truth
    flight_s = rec.impact.t - rec.launch.t
    events = run.lanes["predicted"].events
    assert {e.category for e in events} == {"hostile_aircraft"}
    first_alert_s = events[0].issued_at_unix_s - rec.launch.t
    assert first_alert_s > 0.4 * flight_s  # nothing to act on while under the horizon
    corridor, any_heading = scores["predicted"], scores["disc"]
    assert corridor.needed and not corridor.missed and not corridor.late
    for area in corridor.needed:
        # pre-alerted minutes ahead, almost as early as the any-heading disc
        assert corridor.lead_time_s[area] >= 0.8 * any_heading.lead_time_s[area]
        assert corridor.lead_time_s[area] >= 300.0
    assert len(corridor.warned) < 0.5 * len(any_heading.warned)


def test_drone_raid_slice_each_drone_warned_in_time(index):
    scn = load_scenario("shahed-raid")
    near = Place(31.30, 35.45, 3000.0)  # ~45 km from the Nevatim base, inside radar cover
    salvo = dataclasses.replace(scn.salvos[0], count=6, over_s=60.0, launch=near)
    scn = dataclasses.replace(scn, salvos=(salvo,))
    sim, run, scores = _run(scn, index, [PredictedPolicy(index)])
    score = scores["predicted"]
    assert not score.missed and not score.late
    tracks = {s for e in run.lanes["predicted"].events for s in e.source}
    assert len(tracks) >= 6 and np.isfinite([r.impact.t for r in sim.truth]).all()
