"""The predicted impact time window each policy gives per area (issue 16, personal countdown)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from redcolor.geo import LocalFrame, load_areas
from redcolor.prediction import ImpactPrediction
from redcolor.warning.policies import (
    OraclePolicy,
    OracleThreat,
    PredictedPolicy,
    RadiusPolicy,
    ZonePolicy,
)

T = 1_700_000_000.0
SDEROT = (31.525, 34.596)
TEL_AVIV = (32.08, 34.78)


@pytest.fixture(scope="module")
def index():
    return load_areas()


def _ballistic(impact_in_s=40.0, t_sigma_s=1.5, first=T - 10.0):
    return ImpactPrediction(
        track_id="b1",
        t_unix_s=T,
        kind="ballistic",
        first_detection_t_unix_s=first,
        impact_t_unix_s=T + impact_in_s,
        impact_t_sigma_s=t_sigma_s,
        impact_lat=SDEROT[0],
        impact_lon=SDEROT[1],
        cov_en_m2=np.diag([300.0**2, 150.0**2]),
        speed_m_s=400.0,
    )


@pytest.mark.parametrize("confidence", [0.9, 0.99])
def test_ballistic_window_is_the_impact_time_at_the_regions_confidence(index, confidence):
    (d,) = PredictedPolicy(index, confidence=confidence).decide([_ballistic()], T)
    assert d.area_ids.size >= 1
    spread = norm.ppf(0.5 + confidence / 2) * 1.5  # 1.645 / 2.576 sigma
    assert d.impact_earliest_unix_s == pytest.approx(np.full(d.area_ids.size, T + 40 - spread))
    assert d.impact_latest_unix_s == pytest.approx(np.full(d.area_ids.size, T + 40 + spread))


def test_radius_and_zone_policies_carry_the_predictions_window(index):
    """Both decide from the same prediction, so both give its window (the zone's areas that the
    region did not name take their zone's)."""
    inner = PredictedPolicy(index)
    (p,) = inner.decide([_ballistic()], T)
    (r,) = RadiusPolicy(index, 3000.0).decide([_ballistic()], T)
    (z,) = ZonePolicy(inner).decide([_ballistic()], T)
    assert z.area_ids.size > p.area_ids.size
    for d in (r, z):
        assert d.impact_earliest_unix_s is not None and d.impact_latest_unix_s is not None
        assert np.all(d.impact_earliest_unix_s == p.impact_earliest_unix_s[0])
        assert np.all(d.impact_latest_unix_s == p.impact_latest_unix_s[0])


def test_oracle_gives_no_window(index):
    ids = index.within_m(*SDEROT, 2000.0)
    oracle = OraclePolicy([OracleThreat("truth:1", "missiles", T - 5, T + 30, ids)])
    (d,) = oracle.decide([], T)
    assert d.impact_earliest_unix_s is None and d.impact_latest_unix_s is None


def test_drone_window_is_while_its_path_is_within_reach_and_unknown_for_pre_alerts(index):
    """A drone flying east from Tel Aviv at 50 m/s: an area on its path far ahead is reached
    later than the one under it; areas pre-alerted for its any-heading reach have no window."""
    frame = LocalFrame(*TEL_AVIV)
    tau = np.arange(0.0, 125.0, 5.0)
    lat, lon = frame.unproject(50.0 * tau, np.zeros_like(tau))
    drone = ImpactPrediction(
        track_id="d1",
        t_unix_s=T,
        kind="drone",
        first_detection_t_unix_s=T - 30.0,
        impact_t_unix_s=T + 120.0,
        impact_t_sigma_s=0.0,
        impact_lat=float(lat[-1]),
        impact_lon=float(lon[-1]),
        cov_en_m2=np.diag([200.0**2, 200.0**2]),
        speed_m_s=50.0,
        path_lat=lat,
        path_lon=lon,
        path_t_unix_s=T + tau,
    )
    (d,) = PredictedPolicy(index).decide([drone], T)
    early, late = d.impact_earliest_unix_s, d.impact_latest_unix_s
    assert early is not None and late is not None
    reached = np.isfinite(d.alert_at_unix_s)
    assert reached.any() and (~reached).any()
    assert np.all(np.isnan(early[~reached])) and np.all(np.isnan(late[~reached]))
    assert np.all((early[reached] >= T) & (early[reached] <= late[reached]))
    under = int(index.locate(*TEL_AVIV).id)
    at = {int(a): k for k, a in enumerate(d.area_ids)}
    assert early[at[under]] == T  # within reach already
    # areas under the path 40-80 s ahead: reached before the drone is over them, and later
    # than the one it is over now
    ahead = {}
    for s in range(40, 81, 5):
        a_lat, a_lon = frame.unproject(np.array([50.0 * s]), np.zeros(1))
        area = index.locate(float(a_lat[0]), float(a_lon[0]))
        if area is not None and area.id in at:
            ahead.setdefault(int(area.id), float(s))
    assert ahead
    for area_id, over_s in ahead.items():
        assert T + 5.0 < early[at[area_id]] <= T + over_s <= late[at[area_id]]
