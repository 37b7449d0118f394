"""Every catalogue entry is complete: named, sourced, its assumptions labelled, physically sane."""

from __future__ import annotations

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


def test_the_issue_catalogue_is_complete() -> None:
    assert set(CATALOGUE) == ISSUE_NAMES
    assert {p.kind for p in CATALOGUE.values()} == KINDS


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_entry_is_sourced_and_sane(name: str) -> None:
    p = CATALOGUE[name]
    assert p.name == name and p.kind in KINDS
    assert len(p.source) > 20 and len(p.assumptions) > 20
    assert p.danger_radius_m > 0 and p.mass_kg > 0 and p.diameter_m > 0
    assert 0 <= p.propellant_kg < p.mass_kg
    if p.kind == "drone":
        assert p.cruise_speed_m_s == (40.0, 60.0) and 0 < p.cruise_agl_m < 1_000
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
