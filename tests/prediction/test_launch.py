"""Launch cues on slices of the issue-16 scenarios: a rocket's young track gives one within a
scan of its second plot; heavy clutter alone gives none, and would without the guard; the cues
a policy is given (the reach flown for those only) are the full computation's, and it decides
on them as on every cue."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from redcolor.geo import load_areas
from redcolor.pipeline.truth import first_detections
from redcolor.prediction.launch import CueSettings, launch_cues, reach_betas_kg_m2
from redcolor.prediction.runner import TrackPredict
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.policies import PredictedPolicy

from ..decisions import assert_same_decisions


def _cues(name: str, seconds: float, settings: CueSettings | None = None) -> dict:
    sim = simulate(load_scenario(name))
    core = TrackPredict(sim.registrations, ground_alt_m=sim.scenario.ground_alt_m,
                        cue_settings=settings)  # fmt: skip
    first: dict = {}
    end = sim.start_unix_s + seconds
    for scan in itertools.takewhile(lambda s: s.t <= end, sim.scans):
        for c in core.step(scan).cues.all():
            first.setdefault(c.track_id, c)
    return first


def test_the_reach_spans_the_catalogued_short_range_threats() -> None:
    lo, hi = reach_betas_kg_m2()
    assert 6000.0 < lo < 7933.0 and 18407.0 < hi < 25000.0  # 107 mm .. heavy short rocket


@pytest.mark.slow
def test_a_rocket_gives_a_cue_a_scan_after_its_second_plot() -> None:
    sim = simulate(load_scenario("kiryat-shmona-lebanon"))
    second = first_detections(sim, plots=2)
    cues = _cues("kiryat-shmona-lebanon", 12.0)
    assert cues
    first_cue = min(c.t_unix_s for c in cues.values())
    assert first_cue <= min(second.values()) + 1.01
    c = min(cues.values(), key=lambda c: c.t_unix_s)
    assert c.reach_near_m < c.reach_far_m and c.impact_early_unix_s <= c.impact_late_unix_s
    assert 0.0 < c.heading_sigma_rad < 0.2 and not c.confirmed


@pytest.mark.slow
def test_heavy_clutter_gives_no_cue_and_would_without_the_guard() -> None:
    # 40 and 25 false plots a scan: over 10 minutes one pair at 990 m passes the height
    # guard and is too fast for a rocket; the first 5 minutes hold pairs at 1-4 km
    assert _cues("clutter-north-10min", 300.0) == {}
    loose = replace(CueSettings(), pair_max_height_m=4000.0, pair_max_speed_m_s=1500.0)
    assert len(_cues("clutter-north-10min", 300.0, loose)) >= 5


@pytest.mark.slow
def test_the_cues_a_policy_is_given_are_the_full_ones_and_decide_the_same() -> None:
    # what redcolor.pipeline.runner passes decide(): the scan's new predictions (or, going
    # live or taking over, every current one) and the cues selected for them
    sim = simulate(load_scenario("sderot-gaza"))
    ground = sim.scenario.ground_alt_m
    core = TrackPredict(sim.registrations, ground_alt_m=ground)
    policy = PredictedPolicy(load_areas())
    latest: dict = {}
    left_out = reach_mattered = 0
    for scan in sim.scans:
        out = core.step(scan)
        fresh = [p for p in out.predictions if latest.get(p.track_id) is not p]
        latest = {p.track_id: p for p in out.predictions}
        every = launch_cues(core.setup, ground, core.cue_settings).all()
        for preds in (fresh, out.predictions):
            ids = {p.track_id for p in preds}
            given = out.cues.select(ids)
            wanted = [c for c in every if not c.confirmed or c.track_id in ids]
            assert [repr(c) for c in given] == [repr(c) for c in wanted]
            decided = policy.decide(preds, out.t_unix_s, given)
            assert_same_decisions(decided, policy.decide(preds, out.t_unix_s, every))
            left_out += len(every) - len(given)
            no_cue = policy.decide(preds, out.t_unix_s, ())
            reach_mattered += [d.area_ids.tolist() for d in decided] != [
                d.area_ids.tolist() for d in no_cue
            ]
    assert left_out > 50 and reach_mattered > 0
