"""Every catalogue entry is complete: named, sourced, its assumptions labelled, physically sane."""

from __future__ import annotations

import math

import pytest

from redcolor.physics.catalogue import CATALOGUE

KINDS = {"rocket", "mortar", "ballistic", "drone"}
ISSUE_NAMES = {
    "rocket-107mm",
    "rocket-122mm",
    "rocket-122mm-extended",
    "qassam",
    "rocket-heavy-short",
    "fajr-5",
    "mortar-120mm",
    "ballistic-mrbm",
    "drone",
}
ISSUE_16_NAMES = {"ballistic-mrbm-2000", "cruise-paveh", "shahed-136"}


def test_the_issue_catalogue_is_complete() -> None:
    assert set(CATALOGUE) == ISSUE_NAMES | ISSUE_16_NAMES
    assert {p.kind for p in CATALOGUE.values()} == KINDS


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_entry_is_sourced_and_sane(name: str) -> None:
    p = CATALOGUE[name]
    assert p.name == name and p.kind in KINDS
    assert len(p.source) > 20 and len(p.assumptions) > 20
    assert p.danger_radius_m > 0 and p.mass_kg > 0 and p.diameter_m > 0
    assert 0 <= p.propellant_kg < p.mass_kg
    if p.kind == "drone":
        lo_m_s, hi_m_s = p.cruise_speed_m_s
        assert 30.0 <= lo_m_s <= hi_m_s <= 300.0 and 0 < p.cruise_agl_m < 1_000
        assert 0.0 < p.bank_deg <= 70.0
        return
    assert 0.05 < p.cd0 < 1.0 and 1_000 < p.beta_kg_m2 < 50_000
    lo, hi = p.elevation_deg
    assert 0 <= lo < hi <= 90
    if p.kind == "mortar":
        assert p.burn_s == 0 and p.launch_speed_m_s > 100
    else:
        assert p.burn_s > 0 and p.thrust_n > 0


def test_grad_matches_the_published_figures() -> None:
    grad = CATALOGUE["rocket-122mm"]
    assert grad.mass_kg == pytest.approx(66.0, rel=0.02)  # REFERENCE.md: 66 kg
    assert grad.burn_s == pytest.approx(1.88)  # motor burn ~1.88 s
    assert grad.propellant_kg == pytest.approx(20.45)
    assert grad.diameter_m == 0.122


def test_issue_16_air_breathers_match_the_published_figures() -> None:
    # Shahed-136: top speed ~185 km/h; Quds-1/Paveh class: ~250 m/s, 50-200 m, 700-1,650 km,
    # turning at 2 g (60 degrees of bank)
    shahed, cruise = CATALOGUE["shahed-136"], CATALOGUE["cruise-paveh"]
    assert shahed.cruise_speed_m_s[1] == pytest.approx(185 / 3.6, abs=0.5)
    assert shahed.max_range_m >= 2_000_000.0
    assert 240.0 <= cruise.cruise_speed_m_s[0] < cruise.cruise_speed_m_s[1] <= 260.0
    assert 50.0 <= cruise.cruise_agl_m <= 200.0 and 700_000 <= cruise.max_range_m <= 1_650_000
    turn_radius_m = 260.0**2 / (9.80665 * math.tan(math.radians(cruise.bank_deg)))
    assert 1.0 / math.cos(math.radians(cruise.bank_deg)) == pytest.approx(2.0)  # 2 g
    assert 3_500.0 < turn_radius_m < 4_000.0


def test_radar_horizon_is_the_four_thirds_earth_rule() -> None:
    from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M as R
    from redcolor.physics.horizon import clears_horizon, horizon_range_m

    # d ~ 4.12 (sqrt(h_radar) + sqrt(h_target)) km: a cruise missile 100 m up, radar 500 m up
    d_m = horizon_range_m(500.0, 100.0, R)
    assert d_m == pytest.approx(4_120.0 * (math.sqrt(500.0) + math.sqrt(100.0)), rel=0.01)
    radar = [0.0, 0.0, R + 500.0]
    for arc_m, seen in ((0.98 * d_m, True), (1.02 * d_m, False)):
        a = arc_m / R
        target = [[0.0, (R + 100.0) * math.sin(a), (R + 100.0) * math.cos(a)]]
        assert bool(clears_horizon(radar, target, R)[0]) is seen
