"""The story `redcolor simulate` (and so `make demo`) tells, and the report map beside it, on the
Mount Meron salvo of 2024-01-06 against the real alerts of that morning."""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest
from rich.cells import cell_len
from rich.console import Console

from redcolor.cli import simulate as simulate_cli
from redcolor.cli.main import main
from redcolor.errors import DataFileError
from redcolor.eval import report
from redcolor.eval.compare import evaluate
from redcolor.eval.story import read_real_alerts, tell
from redcolor.geo import load_areas
from redcolor.sim.run import simulate
from redcolor.sim.scenario import RealAlertsSpec, load_scenario

pytestmark = pytest.mark.slow

REAL_FILE = resources.files("redcolor") / "data" / "real_alerts" / "hfc-2024-01-06-morning.csv"


@pytest.fixture(scope="module")
def meron():
    index = load_areas()
    sim = simulate(load_scenario("meron-2024-01-06"))
    evaluation = evaluate(sim, ["predicted", "radius", "zone", "oracle"], index=index)
    return sim, evaluation, index


def _real_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(REAL_FILE.read_text(encoding="utf-8"))))


def test_what_was_fired_and_where_it_fell(meron) -> None:
    sim, evaluation, index = meron
    story = tell(sim, evaluation, index)
    (fired,) = story.fired
    assert (fired.count, fired.projectile, fired.over_s) == (62, "rocket-122mm", 30.0)
    # the base on the summit lies in no alert area; Meron village is the nearest, 1.8 km off
    assert not fired.target.inside and fired.target.area == "Meron"
    assert 1_700 < fired.target.distance_m < 1_900
    lo, hi = fired.flight_time_s
    assert 0 < lo <= hi == max(r.flight_time_s for r in sim.truth)


def test_the_timeline_is_the_policys_own(meron) -> None:
    sim, evaluation, index = meron
    t = tell(sim, evaluation, index).timeline
    outcome = evaluation.outcomes["predicted"]
    assert t.policy == "predicted"
    assert t.warned == tuple(sorted(index.get(a).name_en for a in outcome.score.warned))
    first = outcome.events[0]
    assert t.first_warning_s == pytest.approx(first.issued_at_unix_s - evaluation.run.start_unix_s)
    assert 0 <= t.first_plot_s < t.first_warning_s < t.first_impact_s <= t.last_impact_s
    assert t.all_clear_s > t.last_impact_s
    assert (t.impacts, t.impacts_in_areas) == (62, 0)  # every rocket fell on the unlisted summit


def test_against_the_real_alerts_of_that_morning(meron) -> None:
    sim, evaluation, index = meron
    real = tell(sim, evaluation, index).real
    rows = _real_rows()
    old = load_areas("2023-12")
    real_ids = {old.find(r["data"]).id for r in rows}
    assert real.areas == len(real_ids) == 94
    assert real.by_category == {"hostile aircraft intrusion": 94, "rockets and missiles": 2}
    assert (real.first_local, real.last_local) == ("2024-01-06 08:04:33", "08:07:25")
    assert real.time_zone == "Asia/Jerusalem, UTC+02"
    for name, outcome in evaluation.outcomes.items():
        warned = outcome.score.warned
        assert real.overlap[name] == (len(warned), len(warned & real_ids)), name
    predicted = evaluation.outcomes["predicted"].score.warned
    assert set(real.warned_in_real) | set(real.warned_not_real) == {
        index.get(a).name_en for a in predicted
    }
    near = real.nearest_to_target
    assert (near.area, near.inside) == ("Meron", False) and 1_700 < near.distance_m < 1_900
    assert "dleshem/israel-alerts-data" in real.source


def test_a_bad_real_alerts_file_is_one_line() -> None:
    spec = RealAlertsSpec("no-such.csv", "2023-12", "Asia/Jerusalem", "nowhere")
    with pytest.raises(DataFileError, match=r"cannot read real alerts no-such\.csv"):
        read_real_alerts(spec)
    spec = RealAlertsSpec("hfc-2024-01-06-morning.csv", "2023-12", "Mars/Olympus", "x")
    with pytest.raises(DataFileError, match="cannot read real alerts"):
        read_real_alerts(spec)


def test_simulate_tells_it_in_80_columns(meron, monkeypatch, tmp_path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, highlight=False, soft_wrap=True)
    monkeypatch.setattr(simulate_cli, "_out", console)
    png = tmp_path / "meron.png"
    assert main(["simulate", "meron-2024-01-06", "--policy", "all", "--report", str(png)]) == 0
    text = out.getvalue()
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    for words in (
        "What was fired",
        "62 x rocket-122mm",
        "in no alert area; nearest Meron, 1.8 km",
        "first radar plot",
        "first warning",
        "all-clear",
        "Against the real alerts of that day",
        "the real system alerted 94 areas",
        "dleshem/israel-alerts-data",
    ):
        assert words in " ".join(text.split()), words
    # a long path may wrap at any of its hyphens, with no space added: join without spaces
    assert f"Map:{png}" in "".join(text.split())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_panel_shows_its_own_warned_areas_and_the_impacts(meron) -> None:
    _, evaluation, index = meron
    boxes = {}
    for name, outcome in evaluation.outcomes.items():
        box = report._view_box(evaluation, name, index)
        for area_id in outcome.score.warned:
            x0, y0, x1, y1 = index.get(area_id).polygon.bounds
            assert box[0] <= x0 and box[1] <= y0 and x1 <= box[2] and y1 <= box[3], name
        for i in evaluation.impacts:
            assert box[0] < i.lon < box[2] and box[1] < i.lat < box[3]
        boxes[name] = box
    # a single warned area is seen at the salvo's scale, not the zone's
    width = {n: b[2] - b[0] for n, b in boxes.items()}
    assert width["predicted"] < width["zone"] / 3
    fitted = [report._fit(b, 1.2) for b in boxes.values()]
    assert all(report._ground_aspect(b) == pytest.approx(1.2) for b in fitted)
    eps = 1e-9  # the fit recomputes a side from the other: equal sides may differ in the last bit
    assert all(
        f[0] <= b[0] + eps and b[2] <= f[2] + eps
        for f, b in zip(fitted, boxes.values(), strict=True)
    )


def test_the_picture_has_sea_land_and_the_real_footprint(meron) -> None:
    """The zone panel reaches the coast: the sea, the land and the dashed real alert areas are
    drawn (their colours are in the picture)."""
    import matplotlib.colors as mcolors
    import matplotlib.image as mimage
    import numpy as np

    _, evaluation, index = meron
    pixels = mimage.imread(io.BytesIO(report.render_png(evaluation, index)), format="png")[..., :3]
    for colour in (report.SEA, report.LAND, report.REAL):
        rgb = np.array(mcolors.to_rgb(colour))
        close = np.all(np.abs(pixels - rgb) < 0.02, axis=-1)
        assert close.sum() > 200, colour
