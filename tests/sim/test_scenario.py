"""Scenario loading and validation: built-ins load, malformed files name file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from redcolor.cli.main import main
from redcolor.errors import NotFoundError, ScenarioError
from redcolor.physics.catalogue import get_projectile
from redcolor.sim.scenario import builtin_names, load_scenario

GOOD = """
name = "tiny"
start = "2024-01-06T06:00:00Z"
seed = 1
ground_alt_m = 100.0

[[radar]]
id = "r1"
lat = 33.0
lon = 35.5
alt_m = 120.0
scan_period_s = 1.0
range_sigma_m = 15.0
angle_sigma_mrad = 2.0
detection_probability = 0.9
false_alarms_per_scan = 1.0
max_range_km = 60.0

[[salvo]]
projectile = "rocket-122mm"
count = 3
at_s = 0.0
over_s = 5.0
launch = { lat = 33.10, lon = 35.42, radius_m = 500.0 }
target = { lat = 32.996, lon = 35.414, radius_m = 200.0 }
"""

ISSUE_SEVEN = [
    "meron-2024-01-06",
    "sderot-gaza",
    "haifa-40km",
    "fajr-tel-aviv",
    "ballistic-center",
    "drones-galilee",
    "barrage-3000",
]
ISSUE_SIXTEEN = [
    # long-range ballistic, cruise and drone threats
    "houthi-eilat",
    "cruise-nevatim",
    "shahed-raid",
    "iran-combined",
    # frontline short-range fire, a degraded radar
    "kiryat-shmona-lebanon",
    "kiryat-shmona-degraded",
    "gaza-border-mortars",
]
NO_LAUNCH = ["clutter-north-10min"]  # clutter with no launch


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_built_in_scenarios_ship_and_load() -> None:
    assert sorted(ISSUE_SEVEN + ISSUE_SIXTEEN + NO_LAUNCH) == builtin_names()
    for name in ISSUE_SEVEN + ISSUE_SIXTEEN:
        s = load_scenario(name)
        assert s.name == name and s.radars and s.salvos
    clutter = load_scenario("clutter-north-10min")
    assert clutter.salvos == () and clutter.duration_s == 600.0
    assert sum(x.count for x in load_scenario("barrage-3000").salvos) == 3000
    assert sum(x.count for x in load_scenario("meron-2024-01-06").salvos) == 62


def test_a_run_without_launches_needs_a_duration_and_an_origin(tmp_path: Path) -> None:
    radar_only = GOOD[: GOOD.index("[[salvo]]")]
    with pytest.raises(ScenarioError, match="duration_s and \\[origin\\]"):
        load_scenario(_write(tmp_path, radar_only))
    with pytest.raises(ScenarioError, match="duration_s and \\[origin\\]"):
        load_scenario(_write(tmp_path, "duration_s = 60.0\n" + radar_only))
    text = "duration_s = 60.0\n" + radar_only + "[origin]\nlat = 33.0\nlon = 35.45\n"
    s = load_scenario(_write(tmp_path, text))
    assert s.salvos == () and s.origin == (33.0, 35.45)
    from redcolor.sim.run import simulate

    sim = simulate(s)
    assert sim.truth == [] and sim.end_unix_s == s.start_unix_s + 60.0
    assert sim.scan_count() == 60  # clutter alone, one scan a second for the duration


def test_a_good_file_loads(tmp_path: Path) -> None:
    s = load_scenario(_write(tmp_path, GOOD))
    assert s.salvos[0].count == 3 and s.ground_alt_m == 100.0
    assert s.origin == pytest.approx((32.996, 35.414))
    assert s.start_unix_s == 1704520800.0
    assert s.real_alerts is None
    meron = load_scenario("meron-2024-01-06").real_alerts
    assert meron is not None
    assert (meron.file, meron.edition) == ("hfc-2024-01-06-morning.csv", "2023-12")


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ('projectile = "rocket-122mm"', 'projectile = "scud-z"', "salvo[0].projectile", "one of"),
        ("count = 3\n", "", "salvo[0].count", "missing required field"),
        ("launch = { lat = 33.10,", "launch = { lat = 200.0,", "salvo[0].launch.lat", "[-90, 90]"),
        ("alt_m = 120.0", "alt_m = 50.0", "radar[0].alt_m", "ground altitude"),
        (
            "detection_probability = 0.9",
            "detection_probability = 1.5",
            "radar[0].detection_probability",
            "[0, 1]",
        ),
        ("seed = 1", 'seed = "one"', "seed", "an integer"),
        ('start = "2024-01-06T06:00:00Z"', 'start = "yesterday"', "start", "ISO 8601"),
        ("over_s = 5.0", "over_s = 5.0\nspeed = 3", "salvo[0].speed", "unknown field"),
        ('id = "r1"', "", "radar[0].id", "missing required field"),
        (
            "seed = 1",
            'seed = 1\nreal_alerts = { file = "x.csv" }',
            "real_alerts.edition",
            "missing",
        ),
        (
            "seed = 1",
            'seed = 1\nreal_alerts = { file = "x.csv", edition = "2023-12", time_zone = "UTC",'
            ' source = "s", when = 1 }',
            "real_alerts.when",
            "unknown field",
        ),
    ],
)
def test_malformed_scenarios_name_file_and_field(
    tmp_path: Path, old: str, new: str, field: str, expected: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}:"), message
    assert expected in message


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "\n[[salvo]\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(path)


def test_unknown_scenario_lists_the_built_ins() -> None:
    with pytest.raises(NotFoundError, match="meron-2024-01-06"):
        load_scenario("no-such-scenario")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('projectile = "rocket-122mm"', 'projectile = "scud-z"', "salvo[0].projectile"),
        ("count = 3\n", "", "salvo[0].count"),
        ("launch = { lat = 33.10,", "launch = { lat = 200.0,", "salvo[0].launch.lat"),
    ],
)
def test_cli_reports_a_malformed_scenario_in_one_line_with_exit_2(
    tmp_path: Path, capsys, old: str, new: str, field: str
) -> None:
    path = _write(tmp_path, GOOD.replace(old, new))
    for command in (
        ["sim", "show", str(path)],
        ["sim", "run", str(path), "--out", str(tmp_path / "out")],
    ):
        assert main(command) == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("redcolor: error:"), captured.err
        assert field in lines[0]
        assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out").exists()


def test_out_of_reach_target_is_a_salvo_error(tmp_path: Path, capsys) -> None:
    far = GOOD.replace("target = { lat = 32.996,", "target = { lat = 32.70,")
    path = _write(tmp_path, far)
    assert main(["sim", "run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "salvo[0]" in err and "cannot reach" in err


def test_a_drone_without_a_target_ends_at_its_last_waypoint(tmp_path: Path) -> None:
    text = GOOD.replace('projectile = "rocket-122mm"', 'projectile = "drone"').replace(
        "target = { lat = 32.996, lon = 35.414, radius_m = 200.0 }",
        "[[salvo.waypoints]]\nlat = 33.05\nlon = 35.45\n\n[[salvo.waypoints]]\n"
        "lat = 33.0\nlon = 35.40\n",
    )
    s = load_scenario(_write(tmp_path, text))
    (salvo,) = s.salvos
    assert (salvo.target.lat_deg, salvo.target.lon_deg) == (33.0, 35.40)
    assert len(salvo.waypoints) == 1
    rocket = GOOD.replace("target = { lat = 32.996, lon = 35.414, radius_m = 200.0 }", "")
    with pytest.raises(ScenarioError, match=r"salvo\[0\]\.target: missing required field"):
        load_scenario(_write(tmp_path, rocket))


def test_drones_turn_at_waypoints_at_a_bounded_rate() -> None:
    # drones-galilee's routes turn 60-90 degrees at waypoints; a 30-degree-bank turn at up to
    # 60 m/s changes heading by at most g tan(30 deg) / v = 5.4 deg/s (more at lower speed), so
    # no 5-s window may hold an instant corner's 60-90 degrees
    from redcolor.physics.atmosphere import G0_M_S2
    from redcolor.sim.run import simulate

    sim = simulate(load_scenario("drones-galilee"))
    ts = np.arange(sim.start_unix_s, max(r.impact.t for r in sim.truth), 1.0)
    heading: dict[str, list[tuple[float, float]]] = {}
    for t in ts:
        state = sim.truth_at(float(t))
        for obj, v in zip(state.ids, state.vel_enu_m_s, strict=True):
            heading.setdefault(obj, []).append((np.arctan2(v[0], v[1]), np.hypot(v[0], v[1])))
    worst = 0.0
    for samples in heading.values():
        h, speed = (np.asarray(c) for c in zip(*samples, strict=True))
        turn_5s = np.abs(np.angle(np.exp(1j * (h[5:] - h[:-5]))))
        limit_5s = 5.0 * G0_M_S2 * np.tan(np.radians(get_projectile("drone").bank_deg)) / speed[:-5]
        worst = max(worst, float(np.max(turn_5s / limit_5s)))
    # sharp corners gave 2.8; the rounded turn, drawn as a polyline, stays near 1
    assert 0.5 < worst <= 1.3
