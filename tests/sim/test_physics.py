"""Atmosphere, drag and flight physics against closed forms, published tables and the reference."""

from __future__ import annotations

import numpy as np
import pytest

from redcolor.physics.atmosphere import isa_density_kg_m3, isa_speed_of_sound_m_s
from redcolor.physics.ballistics import (
    EARTH_GM_M3_S2,
    EARTH_MEAN_RADIUS_M,
    EarthModel,
    FlatTerrain,
    air_density_kg_m3,
    coast_accel,
    propagate_to_ground,
    speed_of_sound_m_s,
)
from redcolor.physics.catalogue import CATALOGUE
from redcolor.sim.flight import fly


def test_isa_matches_published_table() -> None:
    # U.S. Standard Atmosphere 1976 tabulated density (kg/m^3) and speed of sound (m/s).
    alt = np.array([0.0, 1_000.0, 5_000.0, 11_000.0, 20_000.0, 32_000.0, 50_000.0])
    rho = np.array([1.2250, 1.1117, 0.73643, 0.36480, 0.088910, 0.013555, 0.0010269])
    sound = np.array([340.29, 336.43, 320.55, 295.07, 295.07, 303.02, 329.80])
    np.testing.assert_allclose(isa_density_kg_m3(alt), rho, rtol=1e-3)
    np.testing.assert_allclose(isa_speed_of_sound_m_s(alt), sound, rtol=3e-3)


def test_lookup_tables_match_exact_atmosphere() -> None:
    alt = np.random.default_rng(1).uniform(-500.0, 120_000.0, 2_000)
    np.testing.assert_allclose(air_density_kg_m3(alt), isa_density_kg_m3(alt), rtol=1e-5)
    np.testing.assert_allclose(speed_of_sound_m_s(alt), isa_speed_of_sound_m_s(alt), rtol=1e-6)


def test_drag_free_flight_is_the_closed_form_parabola() -> None:
    earth = EarthModel(32.0, 35.0, 0.0, rotating=False)
    g = EARTH_GM_M3_S2 / EARTH_MEAN_RADIUS_M**2
    speed, elev = 120.0, np.radians(np.array([20.0, 45.0, 70.0]))
    vel = np.column_stack([np.zeros(3), speed * np.cos(elev), speed * np.sin(elev)])
    impact = propagate_to_ground(np.tile([0.0, 0.0, 1e-9], (3, 1)), vel, np.inf, earth, dt_s=0.05)
    t_flight = 2 * speed * np.sin(elev) / g
    # Within 0.05%: on the sphere the ground falls away by d^2 / 2R (7 cm at 1 km) and gravity
    # tilts toward the centre by d / R; a flat-Earth parabola ignores both.
    np.testing.assert_allclose(impact.time_s, t_flight, rtol=5e-4)
    np.testing.assert_allclose(impact.pos_enu_m[:, 1], speed**2 * np.sin(2 * elev) / g, rtol=5e-4)
    np.testing.assert_allclose(impact.apogee_m, (speed * np.sin(elev)) ** 2 / (2 * g), rtol=5e-4)
    # and every recorded point of a drag-free "projectile" lies on the parabola
    mortar = CATALOGUE["mortar-120mm"]
    from dataclasses import replace

    vacuum = replace(mortar, cd0=0.0, launch_speed_m_s=speed)
    traj = fly(vacuum, [[0.0, 0.0, 0.0]], vel[1:2] / speed, earth, FlatTerrain(-1.0))
    t = np.linspace(0.0, t_flight[1], 50)
    pos, _ = traj.state_at(np.zeros(50, dtype=int), t)
    y = speed * np.cos(elev[1]) * t
    z = speed * np.sin(elev[1]) * t - g * t**2 / 2
    np.testing.assert_allclose(pos[:, 1], y, atol=0.5)
    np.testing.assert_allclose(pos[:, 2], z, atol=0.5)


def test_batch_coast_accel_equals_per_object_reference(simref) -> None:
    rng = np.random.default_rng(7)
    n = 40
    earth = EarthModel(31.5, 34.6, 300.0)
    pos = rng.uniform([-50e3, -50e3, 0.0], [50e3, 50e3, 60e3], (n, 3))
    vel = rng.uniform(-900.0, 900.0, (n, 3))
    beta = rng.uniform(2_000.0, 20_000.0, n)
    wind = np.array([4.0, -3.0, 0.0])
    batch = coast_accel(pos, vel, beta, earth, wind)
    for i in range(n):
        ref = simref.coast_accel_ref(
            tuple(pos[i]), tuple(vel[i]), beta[i], 31.5, 300.0, tuple(wind)
        )
        np.testing.assert_allclose(batch[i], ref, rtol=1e-5, atol=1e-9)


def test_batch_propagation_equals_per_object_reference(simref) -> None:
    rng = np.random.default_rng(3)
    n = 6
    earth = EarthModel(33.0, 35.4, 700.0)
    pos = rng.uniform([-5e3, -5e3, 1_000.0], [5e3, 5e3, 6_000.0], (n, 3))
    vel = rng.uniform([-300.0, -300.0, -100.0], [300.0, 300.0, 300.0], (n, 3))
    beta = rng.uniform(3_000.0, 15_000.0, n)
    impact = propagate_to_ground(pos, vel, beta, earth, FlatTerrain(700.0), dt_s=0.1)
    assert impact.landed.all()
    for i in range(n):
        hit, t = simref.propagate_ref(
            tuple(pos[i]), tuple(vel[i]), beta[i], 33.0, 700.0, 700.0, 0.1
        )
        np.testing.assert_allclose(impact.pos_enu_m[i], hit, atol=1e-3)
        assert impact.time_s[i] == pytest.approx(t, abs=1e-6)


def test_propagation_stops_at_the_time_limit() -> None:
    earth = EarthModel(32.0, 35.0)
    impact = propagate_to_ground(
        [[0, 0, 100.0]], [[0, 0, 500.0]], 1e4, earth, dt_s=0.5, max_time_s=10.0
    )
    assert not impact.landed[0] and np.isnan(impact.time_s[0])
    assert impact.pos_enu_m[0, 2] > 100.0


def test_earth_rotation_deflects_long_flights() -> None:
    # Coriolis at 32 N deflects a northbound 100 s flight to the east by tens of metres.
    still, spinning = EarthModel(32.0, 35.0, rotating=False), EarthModel(32.0, 35.0)
    start, vel = [[0.0, 0.0, 1.0]], [[0.0, 500.0, 500.0]]
    a = propagate_to_ground(start, vel, np.inf, still)
    b = propagate_to_ground(start, vel, np.inf, spinning)
    drift = b.pos_enu_m[0, 0] - a.pos_enu_m[0, 0]
    assert 30.0 < drift < 300.0


def test_batched_flight_equals_the_same_rounds_flown_one_at_a_time() -> None:
    grad = CATALOGUE["rocket-122mm"]
    earth = EarthModel(33.0, 35.4, 200.0)
    rng = np.random.default_rng(11)
    n = 5
    launch = rng.uniform([-500.0, -500.0, 201.5], [500.0, 500.0, 201.5], (n, 3))
    el = np.radians(rng.uniform(15.0, 50.0, n))
    az = rng.uniform(0.0, 2 * np.pi, n)
    d = np.column_stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    thrust, drag = rng.normal(1.0, 0.01, n), rng.normal(1.0, 0.03, n)
    wind = np.array([3.0, -2.0, 0.0])
    terrain = FlatTerrain(200.0)
    batch = fly(grad, launch, d, earth, terrain, thrust_factor=thrust, drag_factor=drag,
                wind_enu_m_s=wind)  # fmt: skip
    tau = np.full(n, 20.0)
    pos_b, vel_b = batch.state_at(np.arange(n), tau)
    for i in range(n):
        one = fly(grad, launch[i : i + 1], d[i : i + 1], earth, terrain,
                  thrust_factor=thrust[i : i + 1], drag_factor=drag[i : i + 1],
                  wind_enu_m_s=wind)  # fmt: skip
        np.testing.assert_allclose(one.impact_pos_enu_m[0], batch.impact_pos_enu_m[i], atol=1e-6)
        assert one.impact_time_s[0] == pytest.approx(batch.impact_time_s[i], abs=1e-9)
        pos_1, vel_1 = one.state_at([0], tau[:1])
        np.testing.assert_allclose(pos_1[0], pos_b[i], atol=1e-6)
        np.testing.assert_allclose(vel_1[0], vel_b[i], atol=1e-6)


def test_recorded_trajectory_reads_back_the_integrated_states() -> None:
    # Hermite read-back between 1 s records against a flight recorded every step.
    grad = CATALOGUE["rocket-122mm"]
    earth = EarthModel(33.0, 35.4, 0.0)
    d = [[0.0, np.cos(0.6), np.sin(0.6)]]
    coarse = fly(grad, [[0.0, 0.0, 1.5]], d, earth, FlatTerrain(0.0), record_step_s=1.0)
    fine = fly(grad, [[0.0, 0.0, 1.5]], d, earth, FlatTerrain(0.0), record_step_s=0.2)
    tau = fine.t_grid_s[fine.t_grid_s < fine.impact_time_s[0]]
    pos, vel = coarse.state_at(np.zeros(tau.size, dtype=int), tau)
    np.testing.assert_allclose(pos, fine.pos_enu_m[: tau.size, 0], atol=0.5)
    np.testing.assert_allclose(vel, fine.vel_enu_m_s[: tau.size, 0], atol=1.0)


def test_wind_carries_rockets_downwind() -> None:
    grad = CATALOGUE["rocket-122mm"]
    earth = EarthModel(33.0, 35.4, 0.0)
    d = [[0.0, np.cos(0.6), np.sin(0.6)]]
    calm = fly(grad, [[0.0, 0.0, 1.5]], d, earth, FlatTerrain(0.0))
    windy = fly(grad, [[0.0, 0.0, 1.5]], d, earth, FlatTerrain(0.0), wind_enu_m_s=[10.0, 0, 0])
    drift = windy.impact_pos_enu_m[0, 0] - calm.impact_pos_enu_m[0, 0]
    assert 20.0 < drift < 600.0
