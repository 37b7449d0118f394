"""The compiled coast kernel against the numpy reference physics.

The reference (``propagate_to_ground_numpy``) flies the same states with a plain lockstep RK4
loop (``rk4_step`` and ``step_to_ground``) over the numpy ``coast_accel`` (the tracker's motion
model, the simulator's burn phase); the kernel
behind ``propagate_to_ground`` must agree with it to float rounding: impact points, velocities,
times and apogees to ~1e-9 relative.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from redcolor.physics.ballistics import (
    EarthModel,
    FlatTerrain,
    Impact,
    propagate_to_ground,
    propagate_to_ground_numpy,
)
from redcolor.physics.catalogue import CATALOGUE
from redcolor.sim.flight import fly

EARTH = EarthModel(31.5, 34.6, 250.0)
GROUND_M = 180.0
RTOL = 1e-9


def reference(pos, vel, beta, earth, ground_m, dt_s, max_time_s, wind=None) -> Impact:
    return propagate_to_ground_numpy(pos, vel, beta, earth, FlatTerrain(ground_m), dt_s=dt_s,
                                     max_time_s=max_time_s, wind_enu_m_s=wind)  # fmt: skip


def catalogue_states(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid-flight states (after burnout) of every ballistic threat type of the catalogue, with
    the true ballistic coefficient perturbed as a filter's estimate would be."""
    pos, vel, beta = [], [], []
    for p in CATALOGUE.values():
        if p.kind == "drone":
            continue
        el = np.radians(rng.uniform(*p.elevation_deg, 6))
        az = rng.uniform(0.0, 2 * np.pi, 6)
        d = np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
        launch = EARTH.at_altitude(np.zeros((6, 3)), GROUND_M + 2.0)
        traj = fly(p, launch, d, EARTH, FlatTerrain(GROUND_M))
        tau = p.burn_s + rng.uniform(0.0, 1.0, 6) * (traj.impact_time_s - p.burn_s)
        q, v = traj.state_at(np.arange(6), tau)
        pos.append(q)
        vel.append(v)
        beta.append(traj.beta_burnout_kg_m2 * np.exp(rng.normal(0.0, 0.3, 6)))
    return np.concatenate(pos), np.concatenate(vel), np.concatenate(beta)


def random_states(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Catalogue states plus the corners: near-vertical up and down, low, high and no drag,
    states already below the ground, a supersonic dive."""
    pos, vel, beta = catalogue_states(rng)
    n = 40
    alt = rng.uniform(GROUND_M, 40e3, n)
    alt[-6:] = GROUND_M - rng.uniform(0.0, 50.0, 6)  # already below the ground
    q = EARTH.at_altitude(np.column_stack([rng.uniform(-30e3, 30e3, (n, 2)), np.zeros(n)]), alt)
    v = rng.normal(0.0, 1.0, (n, 3)) * [3.0, 3.0, 600.0]  # near vertical, up or down
    b = np.exp(rng.uniform(np.log(1500.0), np.log(2.0e5), n))
    b[:5] = np.inf
    v[-6:, 2] = np.abs(v[-6:, 2]) * np.repeat([-1.0, 1.0], 3)  # ... falling, then rising
    dive = np.array([[1e3, 2e3, 30e3]]), np.array([[300.0, -200.0, -1500.0]]), np.array([5e4])
    return (np.concatenate([pos, q, dive[0]]), np.concatenate([vel, v, dive[1]]),
            np.concatenate([beta, b, dive[2]]))  # fmt: skip


def assert_same(kernel: Impact, ref: Impact) -> None:
    np.testing.assert_array_equal(kernel.landed, ref.landed)
    scale = np.maximum(np.abs(ref.pos_enu_m).max(axis=1, keepdims=True), 1.0)
    np.testing.assert_allclose(kernel.pos_enu_m / scale, ref.pos_enu_m / scale, rtol=0, atol=RTOL)
    np.testing.assert_allclose(kernel.vel_enu_m_s, ref.vel_enu_m_s, rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(kernel.time_s, ref.time_s, rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(kernel.apogee_m, ref.apogee_m, rtol=RTOL)


@pytest.mark.parametrize(("dt_s", "rotating", "windy"),
                         [(1.0, True, False), (0.1, True, True), (0.5, False, False)])  # fmt: skip
def test_kernel_matches_numpy_reference(dt_s: float, rotating: bool, windy: bool) -> None:
    rng = np.random.default_rng(12)
    pos, vel, beta = random_states(rng)
    earth = EarthModel(EARTH.lat0_deg, EARTH.lon0_deg, EARTH.alt0_m, rotating=rotating)
    wind = rng.normal(0.0, 8.0, (pos.shape[0], 3)) if windy else None
    kernel = propagate_to_ground(pos, vel, beta, earth, FlatTerrain(GROUND_M), dt_s=dt_s,
                                 max_time_s=1_800.0, wind_enu_m_s=wind)  # fmt: skip
    # 1,800 s: a 2,200 km missile laid at 80 degrees flies ~30 minutes
    ref = reference(pos, vel, beta, earth, GROUND_M, dt_s, 1_800.0, wind)
    assert kernel.landed.all()
    np.testing.assert_array_equal(kernel.time_s[-7:-4], 0.0)  # falling below the ground
    assert_same(kernel, ref)


def test_time_limit_leaves_the_last_state() -> None:
    pos, vel = np.array([[0.0, 0.0, 5e3], [0.0, 0.0, 200.0]]), np.array([[0.0, 100.0, 300.0]] * 2)
    beta = np.array([8e3, 8e3])
    kernel = propagate_to_ground(pos, vel, beta, EARTH, FlatTerrain(GROUND_M), dt_s=0.5,
                                 max_time_s=20.0)  # fmt: skip
    ref = reference(pos, vel, beta, EARTH, GROUND_M, 0.5, 20.0)
    assert not kernel.landed.any()
    assert_same(kernel, ref)


def test_non_finite_rows_do_not_land_and_leave_the_others_alone() -> None:
    rng = np.random.default_rng(3)
    pos, vel, beta = random_states(rng)
    bad_pos, bad_vel, bad_beta = pos.copy(), vel.copy(), beta.copy()
    bad = np.array([0, 7, 20, 41])
    bad_pos[0, 1] = np.nan
    bad_vel[7, 2] = np.inf
    bad_beta[20] = np.nan
    bad_pos[41, 2] = -np.inf
    kernel = propagate_to_ground(bad_pos, bad_vel, bad_beta, EARTH, FlatTerrain(GROUND_M),
                                 dt_s=1.0, max_time_s=900.0)  # fmt: skip
    assert not kernel.landed[bad].any()
    assert np.isnan(kernel.time_s[bad]).all()
    good = np.setdiff1d(np.arange(pos.shape[0]), bad)
    ref = reference(pos[good], vel[good], beta[good], EARTH, GROUND_M, 1.0, 900.0)
    assert_same(Impact(kernel.pos_enu_m[good], kernel.vel_enu_m_s[good], kernel.time_s[good],
                       kernel.apogee_m[good], kernel.landed[good]), ref)  # fmt: skip


def test_unwritable_cache_directory_compiles_in_memory() -> None:
    # numba finds no usable cache locator (the only one allowed points under /proc): the kernel
    # must still import and fly, compiled for this process only, with a warning.
    code = (
        "import warnings; warnings.simplefilter('always')\n"
        "from redcolor.physics.ballistics import EarthModel, propagate_to_ground\n"
        "imp = propagate_to_ground([[0.0, 0.0, 500.0]], [[80.0, 0.0, 0.0]], 5e3,"
        " EarthModel(31.5, 34.5))\n"
        "print(bool(imp.landed[0]))\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR="/proc/redcolor-no-cache",
               NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator")  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"
    assert "numba cache unavailable" in res.stderr
