"""The trade-off pictures (redcolor.eval.tradeoff) drawn from rows, without running a sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from redcolor.eval import tradeoff
from redcolor.warning.policies import Staging


def _rows(param: str) -> list[dict]:
    values, scenarios = tradeoff.SWEEPS[param]
    return [
        {"scenario": s, param: v, "needless": k + n, "late_avoidable": int(v == 0.0),
         "lead_ratio": 0.8 + 0.01 * k}
        for n, s in enumerate(scenarios[:2])
        for k, v in enumerate(values)
    ]  # fmt: skip


def test_a_reach_parameter_is_drawn_against_its_setting_with_the_one_in_use_marked() -> None:
    rows = _rows("reach_lateral_m")
    needless_ax, late_ax = tradeoff.figure(rows, "reach_lateral_m").axes
    values = tradeoff.SWEEPS["reach_lateral_m"][0]
    for ax, key in ((needless_ax, "needless"), (late_ax, "late_avoidable")):
        curves, marks = ax.lines[:-1], ax.lines[-1]  # one per scenario, then the setting in use
        assert len(curves) == 2
        for n, line in enumerate(curves):
            np.testing.assert_array_equal(line.get_xdata(), values)
            want = [r[key] for r in rows if r["scenario"] == rows[n * len(values)]["scenario"]]
            np.testing.assert_array_equal(line.get_ydata(), want)
        assert set(marks.get_xdata()) == {Staging().reach_lateral_m}


def test_a_settling_parameter_is_drawn_against_the_lead_ratio_with_the_one_in_use_ringed() -> None:
    rows = _rows("settle_fraction")
    (ax,) = tradeoff.figure(rows, "settle_fraction").axes
    values = tradeoff.SWEEPS["settle_fraction"][0]
    assert ax.get_xlabel() == "median lead time / oracle's" and len(ax.texts) == 2 * len(values)
    ringed = ax.lines[-1]
    used = [r for r in rows if r["settle_fraction"] == Staging().settle_fraction]
    assert len(used) == 2
    np.testing.assert_array_equal(ringed.get_xdata(), [r["lead_ratio"] for r in used])
    np.testing.assert_array_equal(ringed.get_ydata(), [r["needless"] for r in used])


def test_a_scenario_with_no_needed_area_is_drawn_against_the_setting_beside() -> None:
    """meron-2024-01-06 has no needed area, so no lead ratio: its needless areas are drawn
    against the setting in a second panel rather than dropped from the picture; settings that
    land on one point share a label."""
    values = tradeoff.SWEEPS["rocket_core_s"][0]
    rows = [
        {"scenario": "gaza", "rocket_core_s": v, "needless": 1, "late_avoidable": 0,
         "lead_ratio": 0.9 if v < 5 else 0.88}
        for v in values
    ] + [
        {"scenario": "meron", "rocket_core_s": v, "needless": 11 - k, "late_avoidable": 0,
         "lead_ratio": None}
        for k, v in enumerate(values)
    ]  # fmt: skip
    lead_ax, side = tradeoff.figure(rows, "rocket_core_s").axes
    assert [t.get_text() for t in lead_ax.texts] == [
        ", ".join(f"{v:g}" for v in values if v < 5),
        ", ".join(f"{v:g}" for v in values if v >= 5),
    ]
    (meron,) = side.lines[:-1]
    np.testing.assert_array_equal(meron.get_xdata(), values)
    np.testing.assert_array_equal(meron.get_ydata(), [r["needless"] for r in rows[len(values) :]])
    assert side.get_xlabel() == "rocket_core_s"
    assert set(side.lines[-1].get_xdata()) == {Staging().rocket_core_s}


def test_replot_redraws_the_picture_from_the_json_alone(tmp_path, capsys) -> None:
    (tmp_path / "tradeoff-reach_margin_s.json").write_text(json.dumps(_rows("reach_margin_s")))
    assert tradeoff.main(["--param", "reach_margin_s", "--out", str(tmp_path), "--replot"]) == 0
    assert (tmp_path / "tradeoff-reach_margin_s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read the sweep"),
        ("{not json", "cannot read the sweep"),
        ("[]", "holds no sweep rows"),
        ('[{"scenario": "x"}]', "row 0 is not a reach_margin_s sweep row"),
    ],
)
def test_replot_of_a_missing_or_broken_sweep_says_so_in_one_line(
    tmp_path, capsys, content, says
) -> None:
    if content is not None:
        (tmp_path / "tradeoff-reach_margin_s.json").write_text(content)
    assert tradeoff.main(["--param", "reach_margin_s", "--out", str(tmp_path), "--replot"]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "tradeoff-reach_margin_s.png").exists()
