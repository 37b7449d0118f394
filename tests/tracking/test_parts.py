"""The small parts on hand-made inputs: deleter, initiator, coverage."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from redcolor.tracking.deletion import Deleter, DeleterSettings
from redcolor.tracking.initiation import InitiatorSettings, TwoPointInitiator
from redcolor.tracking.measurement import in_coverage
from redcolor.tracking.state import KIND_BALLISTIC, KIND_DRONE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import pose

R_EARTH = 6_371_000.0
CENTRE = np.array([0.0, 0.0, -R_EARTH])


def _states(n):
    x = np.zeros((n, 7))
    x[:, 0] = np.arange(n) * 5000.0
    x[:, 2] = 3000.0
    x[:, 3] = 400.0
    p = np.broadcast_to(np.diag([400.0, 400, 400, 25, 25, 25, 0.1]), (n, 7, 7)).copy()
    return x, p


def test_duplicate_with_fewer_plots_is_dropped() -> None:
    x, p = _states(3)
    x[1] = x[0] + np.r_[20.0, -15.0, 10.0, 2.0, 0.0, -1.0, 0.0]  # same object, other track
    confirmed = np.ones(3, bool)
    recent = np.array([False, True, False])
    hits = np.array([30, 5, 30])
    drop = Deleter(DeleterSettings()).duplicates(x, p, confirmed, recent, hits)
    np.testing.assert_array_equal(drop, [False, True, False])
    # two old tracks side by side are two objects
    none = Deleter(DeleterSettings()).duplicates(x, p, confirmed, np.zeros(3, bool), hits)
    assert not none.any()


def test_deleter_rules() -> None:
    d = Deleter(DeleterSettings())
    drop = d.to_delete(
        t_unix_s=100.0,
        confirmed=np.array([False, True, True, True, True, False, False]),
        misses=np.array([3, 3, 0, 0, 0, 2, 2]),
        last_update_t_unix_s=np.array([99.0, 99.0, 99.0, 90.0, 99.0, 99.0, 99.0]),
        kind=np.array([KIND_BALLISTIC] * 6 + [KIND_DRONE], np.int8),
        height_above_ground_m=np.array([500.0, 500.0, -100.0, 500.0, 500.0, 500.0, 500.0]),
        pos_var_m2=np.array([1e4, 1e4, 1e4, 1e4, 1e7, 1e4, 1e4]),
    )
    # tentative ballistic 3 misses; confirmed 3 misses kept; below ground; stale; lost;
    # tentative ballistic 2 misses kept (two radars in turn each missing once); tentative
    # drone 2 misses
    np.testing.assert_array_equal(drop, [True, False, True, True, True, False, True])


def test_a_plot_a_clutter_pair_took_still_starts_the_true_track() -> None:
    # heavy clutter: the rocket's first plot (t=10) pairs with a clutter plot of t=9.5; its
    # second plot (t=11) still pairs with the first, which waited on after starting the
    # clutter pair, so the true track starts at the second plot
    cov = np.eye(3)[None] * 100.0
    rocket = np.array([[0.0, 0.0, 300.0]])
    for wait, tracks in ((True, 1), (False, 0)):
        ini = TwoPointInitiator(InitiatorSettings(paired_plots_wait=wait))
        ini.initiate(9.5, np.array([[900.0, 0.0, 1200.0]]), cov, np.array([1200.0]))
        (clutter_pair,) = ini.initiate(10.0, rocket, cov, np.array([300.0])).first_t_unix_s
        assert clutter_pair == 9.5
        later = rocket + np.array([[300.0, 0.0, 80.0]])
        out = ini.initiate(11.0, later, cov, np.array([380.0]))
        assert out.x.shape[0] == tracks
        if tracks:
            np.testing.assert_allclose(out.x[0, 3:5], [300.0, 0.0])
            assert out.first_t_unix_s[0] == 10.0


def test_two_point_initiation_velocity_and_kind() -> None:
    ini = TwoPointInitiator(InitiatorSettings())
    cov = np.broadcast_to(np.eye(3) * 100.0, (2, 3, 3)).copy()
    first = np.array([[0.0, 0.0, 2000.0], [10_000.0, 0.0, 200.0]])
    out = ini.initiate(10.0, first, cov, np.array([2000.0, 200.0]))
    assert out.x.shape == (0, 7) and ini.waiting == 2
    second = first + np.array([[500.0, 0.0, 100.0], [0.0, 50.0, 0.0]])
    out = ini.initiate(11.0, second, cov, np.array([2100.0, 200.0]))
    # the older plots are used up; the newer ones wait on, for another pairing
    assert out.x.shape == (2, 7) and ini.waiting == 2
    by_x = np.argsort(out.x[:, 0])
    np.testing.assert_allclose(out.x[by_x[0], 3:6], [500.0, 0.0, 100.0 - 9.80665 / 2])
    np.testing.assert_array_equal(out.kind[by_x], [KIND_BALLISTIC, KIND_DRONE])
    np.testing.assert_array_equal(out.first_t_unix_s, [10.0, 10.0])


def test_plots_too_close_in_time_do_not_pair() -> None:
    ini = TwoPointInitiator(InitiatorSettings(min_gap_s=0.5))
    cov = np.eye(3)[None] * 100.0
    ini.initiate(10.0, np.array([[0.0, 0.0, 2000.0]]), cov, np.array([2000.0]))
    out = ini.initiate(10.1, np.array([[60.0, 0.0, 2000.0]]), cov, np.array([2000.0]))
    assert out.x.shape[0] == 0 and ini.waiting == 2


def test_m_of_n_confirmation() -> None:
    ini = TwoPointInitiator(InitiatorSettings(confirm_hits=4, confirm_window=6))
    hist = np.array([0b11, 0b1011, 0b110011, 0b1111, 0b1000111], dtype=np.int64)
    np.testing.assert_array_equal(ini.confirmed(hist), [False, False, True, True, False])


def test_coverage_horizon_and_height_margin() -> None:
    radar = dataclasses.replace(pose(pos=(0.0, 0.0, 10.0)), min_elevation_rad=-0.05)
    # 82 m above the ground 60 km away (which lies 282 m below the tangent plane), but the
    # line of sight passes under the ground half way (ground -71 m, line -95 m)
    far_low = np.array([[0.0, 60_000.0, -200.0]])
    near = np.array([[0.0, 5_000.0, 300.0]])
    assert not in_coverage(far_low, radar, CENTRE, R_EARTH)[0]
    assert in_coverage(near, radar, CENTRE, R_EARTH)[0]
    assert not in_coverage(near, radar, CENTRE, R_EARTH, lower_by_m=400.0)[0]


def test_deleter_lost_limit_follows_the_plot_noise() -> None:
    d = Deleter(DeleterSettings())
    sigma_m = np.array([1800.0, 1800.0, 6000.0])
    drop = d.to_delete(
        t_unix_s=100.0,
        confirmed=np.zeros(3, bool),
        misses=np.zeros(3, np.int64),
        last_update_t_unix_s=np.full(3, 100.0),
        kind=np.full(3, KIND_BALLISTIC, np.int8),
        height_above_ground_m=np.full(3, 1e5),
        pos_var_m2=sigma_m**2,
        plot_var_m2=np.array([100.0**2, 1700.0**2, 1700.0**2]),
    )
    # near a radar 1.8 km is lost; as wide as one long-range plot it is not; 3.5 plots wide it is
    np.testing.assert_array_equal(drop, [True, False, True])
