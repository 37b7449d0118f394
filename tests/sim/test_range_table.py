"""Each projectile's model against the figures its catalogue entry cites."""

from __future__ import annotations

import pytest

from redcolor.errors import ScenarioError
from redcolor.physics.catalogue import CATALOGUE, get_projectile
from redcolor.sim.aim import range_table

FIRED = [name for name, p in CATALOGUE.items() if p.kind != "drone"]


def test_grad_maximum_range_is_20_4_km_within_5_percent() -> None:
    table = range_table("rocket-122mm")
    assert table.max_range_m == pytest.approx(20_400.0, rel=0.05)


@pytest.mark.parametrize("name", FIRED)
def test_maximum_range_matches_the_cited_one(name: str) -> None:
    table = range_table(name)
    assert table.max_range_m == pytest.approx(CATALOGUE[name].max_range_m, rel=0.05)


@pytest.mark.parametrize(
    ("name", "check"),
    [(name, check) for name in FIRED for check in CATALOGUE[name].checks],
)
def test_flight_time_and_apogee_are_within_cited_bounds(name: str, check) -> None:
    projectile = CATALOGUE[name]
    _, flight_time_s, apogee_m = range_table(name).at_range(
        check.range_m, projectile.default_trajectory
    )
    if check.flight_time_s:
        lo, hi = check.flight_time_s
        assert lo <= flight_time_s <= hi, f"{name}: {flight_time_s:.1f} s ({check.source})"
    if check.apogee_m:
        lo, hi = check.apogee_m
        assert lo <= apogee_m <= hi, f"{name}: {apogee_m:.0f} m ({check.source})"


def test_grad_impact_speed_is_within_the_cited_band() -> None:
    table = range_table("rocket-122mm")
    far = table.range_m > 10_000.0
    assert ((table.impact_speed_m_s[far] > 300.0) & (table.impact_speed_m_s[far] < 470.0)).all()


def test_low_and_high_branches_straddle_the_best_elevation() -> None:
    table = range_table("qassam")
    low = table.elevation_for([9_500.0], "low")[0]
    high = table.elevation_for([9_500.0], "high")[0]
    assert low < table.elevation_deg[table.best] < high


def test_out_of_range_target_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match=r"cannot reach 30\.00 km"):
        range_table("rocket-122mm").elevation_for([30_000.0], "low")


def test_unknown_projectile_lists_the_choices() -> None:
    with pytest.raises(ScenarioError, match="rocket-122mm"):
        get_projectile("scud-z")
