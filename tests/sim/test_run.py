"""Whole runs: determinism, ground truth consistency, dispersion, drones, detectability, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from redcolor.cli.main import main
from redcolor.sim.run import simulate
from redcolor.sim.scenario import Place, SalvoSpec, load_scenario

SMALL = """
name = "small"
start = "2024-01-06T06:00:00Z"
seed = {seed}
ground_alt_m = 700.0

[wind]
speed_m_s = 4.0
from_deg = 250.0

[[radar]]
id = "r1"
lat = 32.97
lon = 35.50
alt_m = 730.0
scan_period_s = 1.0
range_sigma_m = 15.0
angle_sigma_mrad = 2.0
detection_probability = 0.9
false_alarms_per_scan = 2.0
max_range_km = 80.0
range_rate_sigma_m_s = 2.0

[[salvo]]
projectile = "rocket-122mm"
count = 6
at_s = 0.0
over_s = 8.0
launch = {{ lat = 33.13, lon = 35.45, radius_m = 2000.0 }}
target = {{ lat = 32.996, lon = 35.414, radius_m = 300.0 }}

[[salvo]]
projectile = "drone"
count = 2
at_s = 5.0
over_s = 5.0
launch = {{ lat = 33.10, lon = 35.45, radius_m = 500.0 }}
target = {{ lat = 33.05, lon = 35.45, radius_m = 100.0 }}
"""


def _scenario(tmp_path: Path, seed: int = 5) -> Path:
    path = tmp_path / f"small-{seed}.toml"
    path.write_text(SMALL.format(seed=seed), encoding="utf-8")
    return path


def _run(path: Path, out: Path) -> None:
    assert main(["sim", "run", str(path), "--out", str(out), "--no-plot"]) == 0


def test_same_seed_gives_byte_identical_output(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    _run(path, tmp_path / "a")
    _run(path, tmp_path / "b")
    for name in ("truth.jsonl", "measurements.jsonl", "sensors.jsonl", "trajectories.jsonl",
                 "run.json"):  # fmt: skip
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    _run(_scenario(tmp_path, seed=6), tmp_path / "c")
    a = (tmp_path / "a" / "measurements.jsonl").read_bytes()
    assert a != (tmp_path / "c" / "measurements.jsonl").read_bytes()


def test_truth_file_has_the_issue_fields_and_consistent_times(tmp_path: Path) -> None:
    _run(_scenario(tmp_path), tmp_path / "a")
    lines = (tmp_path / "a" / "truth.jsonl").read_text().splitlines()
    assert len(lines) == 8
    for line in lines:
        rec = json.loads(line)
        assert {"id", "projectile", "launch", "impact", "apogee_m", "danger_radius_m"} <= set(rec)
        assert set(rec["launch"]) == {"t", "lat", "lon", "alt_m"}
        assert rec["impact"]["t"] > rec["launch"]["t"]
        assert rec["impact"]["t"] - rec["launch"]["t"] == pytest.approx(rec["flight_time_s"])
        assert rec["apogee_m"] > 700.0
    scans = [json.loads(x) for x in (tmp_path / "a" / "measurements.jsonl").read_text().split()]
    times = [s["t"] for s in scans]
    assert times == sorted(times)


def test_truth_positions_start_at_launch_and_end_at_impact(tmp_path: Path) -> None:
    result = simulate(load_scenario(_scenario(tmp_path)))
    frame = result.frame
    for rec in result.truth:
        state = result.truth_at(rec.launch.t + 1e-6)
        i = state.ids.index(rec.id)
        lat, lon, _ = frame.geodetic_from_enu(*state.pos_enu_m[i])
        assert (float(lat), float(lon)) == pytest.approx((rec.launch.lat, rec.launch.lon), abs=1e-5)
        before = result.truth_at(rec.impact.t - 1e-3)
        j = before.ids.index(rec.id)
        lat, lon, _ = frame.geodetic_from_enu(*before.pos_enu_m[j])
        assert (float(lat), float(lon)) == pytest.approx((rec.impact.lat, rec.impact.lon), abs=1e-4)
        assert rec.id not in result.truth_at(rec.impact.t + 1e-3).ids


def test_drones_fly_low_at_their_speed_and_end_on_target(tmp_path: Path) -> None:
    result = simulate(load_scenario(_scenario(tmp_path)))
    drones = [r for r in result.truth if r.kind == "drone"]
    assert len(drones) == 2
    for rec in drones:
        assert 40.0 <= rec.impact_speed_m_s <= 60.0
        assert rec.apogee_m - 700.0 <= 300.0
        miss = np.hypot((rec.impact.lat - 33.05) * 111e3, (rec.impact.lon - 35.45) * 93e3)
        assert miss < 150.0
        t = np.linspace(rec.launch.t + 1, rec.impact.t - 1, 40)
        speeds = [
            np.linalg.norm(result.truth_at(x).vel_enu_m_s[result.truth_at(x).ids.index(rec.id)])
            for x in t
        ]
        np.testing.assert_allclose(speeds, rec.impact_speed_m_s, atol=0.01)


def test_grad_dispersion_is_a_few_hundred_metres_at_19_km() -> None:
    # REFERENCE.md: Grad CEP a few hundred metres at 20 km. One aim point, many rounds.
    base = load_scenario("meron-2024-01-06")
    spec = SalvoSpec("rocket-122mm", 300, 0.0, 60.0, Place(33.17, 35.414), Place(32.996, 35.414))
    from dataclasses import replace

    result = simulate(replace(base, salvos=(spec,)))
    lat = np.array([r.impact.lat for r in result.truth])
    lon = np.array([r.impact.lon for r in result.truth])
    x, y = result.frame.project(lat, lon)
    x0, y0 = result.frame.project(32.996, 35.414)
    miss = np.hypot(x - x0, y - y0)
    cep = float(np.median(np.hypot(x - x.mean(), y - y.mean())))
    assert 100.0 < cep < 500.0, cep
    assert float(np.hypot(x.mean() - x0, y.mean() - y0)) < 100.0  # aim corrects curvature, spin
    assert np.median(miss) < 500.0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["meron-2024-01-06", "sderot-gaza", "haifa-40km",
                                  "fajr-tel-aviv", "ballistic-center", "drones-galilee",
                                  "barrage-3000"])  # fmt: skip
def test_every_projectile_of_every_scenario_is_detectable(name: str) -> None:
    # visible to some radar at >= 3 instants of a 1 s grid (radars scan at 1 Hz)
    result = simulate(load_scenario(name))
    seen: dict[str, int] = {}
    for t in np.arange(result.start_unix_s, result.end_unix_s, 1.0):
        state = result.truth_at(float(t))
        if state.ids:
            vis = np.any([radar.visible(state.pos_enu_m) for radar in result.radars], axis=0)
            for i in np.flatnonzero(vis):
                seen[state.ids[i]] = seen.get(state.ids[i], 0) + 1
    missing = [r.id for r in result.truth if seen.get(r.id, 0) < 3]
    assert not missing, f"{len(missing)} seen at fewer than 3 instants: {missing[:5]}"


def test_cli_table_and_show_json(capsys, tmp_path: Path) -> None:
    assert main(["sim", "table", "rocket-122mm", "--json", "--plot", str(tmp_path / "t.png")]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["tables"]["rocket-122mm"]
    best = [r for r in rows if r["max_range"]]
    assert len(best) == 1 and best[0]["range_km"] == pytest.approx(20.4, rel=0.05)
    assert (tmp_path / "t.png").stat().st_size > 10_000
    assert main(["sim", "show", "fajr-tel-aviv", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["projectiles"] == 8 and doc["salvos"][0]["trajectory"] == "low"
    assert main(["sim", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 11  # issue 5's seven and issue 16's four


def test_cli_run_writes_the_files_and_a_picture(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["sim", "run", str(_scenario(tmp_path)), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["projectiles"] == 8 and doc["scans"] > 0
    assert (out / "overview.png").stat().st_size > 10_000
    reg = json.loads((out / "sensors.jsonl").read_text().splitlines()[0])
    assert reg["id"] == "r1" and reg["range_rate_sigma_m_s"] == 2.0


def test_branch_follows_apogee_or_flight_time_requests() -> None:
    from redcolor.physics.catalogue import get_projectile
    from redcolor.sim.salvo import choose_branch

    mortar, qassam, here = get_projectile("mortar-120mm"), get_projectile("qassam"), Place(31, 34)
    base = SalvoSpec("qassam", 1, 0.0, 0.0, here, here)
    from dataclasses import replace

    assert choose_branch(base, mortar, 6_000.0, 0.0) == "high"  # the mortar's default
    assert choose_branch(base, qassam, 9_500.0, 0.0) == "low"  # the rocket's default
    assert choose_branch(replace(base, trajectory="high"), qassam, 9_500.0, 0.0) == "high"
    assert choose_branch(replace(base, apogee_m=4_000.0), qassam, 9_500.0, 0.0) == "high"
    assert choose_branch(replace(base, flight_time_s=38.0), qassam, 9_500.0, 0.0) == "low"
    assert choose_branch(replace(base, flight_time_s=56.0), qassam, 9_500.0, 0.0) == "high"


@pytest.mark.slow
def test_ballistic_missiles_fly_about_ten_minutes_and_land_near_their_targets() -> None:
    result = simulate(load_scenario("ballistic-center"))
    for rec in result.truth:
        assert 540.0 <= rec.flight_time_s <= 720.0  # Ynet: ~10-12 minutes to Israel
        target = result.scenario.salvos[rec.salvo].target
        x0, y0 = result.frame.project(target.lat_deg, target.lon_deg)
        x, y = result.frame.project(rec.impact.lat, rec.impact.lon)
        assert np.hypot(x - x0, y - y0) < 15_000.0
        assert 150_000.0 < rec.apogee_m < 500_000.0


def test_unwritable_output_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["sim", "run", str(_scenario(tmp_path)), "--out", str(blocker / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("redcolor: error: cannot write to")


def test_trajectories_file_gives_enu_and_geodetic_samples(tmp_path: Path) -> None:
    _run(_scenario(tmp_path), tmp_path / "a")
    truth = {
        json.loads(x)["id"]: json.loads(x)
        for x in (tmp_path / "a" / "truth.jsonl").read_text().splitlines()
    }
    for line in (tmp_path / "a" / "trajectories.jsonl").read_text().splitlines():
        doc = json.loads(line)
        rec = truth[doc["id"]]
        assert len(doc["t"]) == len(doc["enu_m"]) == len(doc["lat_lon_alt"])
        assert np.all(np.diff(doc["t"]) > 0)
        assert doc["t"][0] == pytest.approx(rec["launch"]["t"])
        assert doc["t"][-1] == pytest.approx(rec["impact"]["t"])
        lat, lon, alt = doc["lat_lon_alt"][-1]
        assert (lat, lon) == pytest.approx((rec["impact"]["lat"], rec["impact"]["lon"]), abs=1e-6)
        assert alt == pytest.approx(rec["impact"]["alt_m"], abs=0.1)
        assert max(p[2] for p in doc["lat_lon_alt"]) == pytest.approx(rec["apogee_m"], abs=20.0)
