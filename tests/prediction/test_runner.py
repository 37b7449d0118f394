"""Simulator -> tracker -> prediction on a small salvo, scored against the ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redcolor.cli.main import main
from redcolor.eval.track_score import track_simulation
from redcolor.model import Plot, Scan
from redcolor.prediction.runner import iter_track_predictions
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parent / "data" / "small-grad-salvo.toml"


@pytest.fixture(scope="module")
def sim():
    return simulate(load_scenario(SCENARIO))


def test_small_salvo_scores(sim) -> None:
    rep = track_simulation(sim, progress=False)
    assert rep.projectiles == 8
    assert rep.projectiles_confirmed == 8
    assert rep.false_tracks == 0
    assert rep.median_confirm_s is not None and rep.median_confirm_s < 1.9 + 4.0
    assert rep.ipp_error_m["20"] is not None and rep.ipp_error_m["20"] < 150.0
    assert rep.coverage_99 is not None and rep.coverage_99 >= 0.9
    assert rep.gospa_mean is not None
    assert sum(rep.rejected.values()) == 0


def test_bad_scans_are_counted_and_the_run_goes_on(sim) -> None:
    scans = list(sim.scans)
    bad = [
        Scan(sensor="ghost", t=scans[20].t, plots=[Plot(r=1e4, az=0.1, el=0.1)]),
        Scan(sensor=scans[20].sensor, t=scans[20].t, plots=[Plot(r=float("nan"), az=0, el=0)]),
        Scan(sensor=scans[20].sensor, t=scans[0].t, plots=[]),
    ]
    feed = scans[:21] + bad + scans[21:]
    ground = sim.scenario.ground_alt_m
    outs = list(iter_track_predictions(sim.registrations, feed, ground_alt_m=ground,
                                       progress=False))  # fmt: skip
    assert len(outs) == len(feed)
    ids = {str(i) for o in outs for i in o.tracks.ids}
    assert len(ids) >= 8
    last_pred = [o for o in outs if o.predictions]
    assert last_pred and all(p.kind == "ballistic" for p in last_pred[-1].predictions)


def test_cli_track_json_and_plot(tmp_path, capsys) -> None:
    png = tmp_path / "track.png"
    code = main(["track", str(SCENARIO), "--json", "--no-progress", "--plot", str(png)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("tracks_confirmed", "false_tracks", "median_confirm_s", "ipp_error_m",
                "coverage_99", "gospa_mean"):  # fmt: skip
        assert key in data
    assert set(data["ipp_error_m"]) == {"5", "10", "20"}
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args",
    [["track", "no-such-scenario"], ["track", str(SCENARIO), "--plot", "x.txt"]],
)
def test_cli_track_bad_input_is_one_line(args, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("redcolor: error:")
    assert len(err.strip().splitlines()) == 1
