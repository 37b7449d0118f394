"""Score tables of `redcolor simulate`, `redcolor score` (the same table) and `redcolor track`
read in an 80-column terminal: the default columns fit without folding or cutting a cell;
`--wide` shows every column."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from redcolor.cli import simulate as simulate_cli
from redcolor.cli.main import main
from redcolor.cli.track import render
from redcolor.eval.track_score import TrackingReport

DEFAULT_HEADERS = ("policy", "needed", "warned", "missed", "late", "needless", "lead s", "area-min")
WIDE_ONLY = ("unavoid.", "prec.", "lead p10 s", "alert lead s", "lead/oracle")


def _fig(needed, warned, missed, late, needless, lead, area_min, **extra) -> dict:
    return {
        "needed": needed, "warned": warned, "missed": missed, "late": late,
        "late_unavoidable": min(late, 1), "needless": needless,
        "precision": round((warned - needless) / warned, 4) if warned else None,
        "lead_time_s": {"median": lead, "p10": None if lead is None else round(lead * 0.3, 2)},
        "alert_lead_time_s": {"median": lead, "p10": None},
        "lead_time_ratio": None if lead is None else 1.0271,
        "shelter_area_minutes": area_min,
    } | extra  # fmt: skip


# The widest figures the built-in scenarios give (barrage-3000, drones-galilee; see README).
DOC = {
    "scenario": "barrage-3000",
    "impacts": 3000,
    "policies": {
        "predicted": _fig(27, 66, 0, 4, 39, 96.34, 1081.27),
        "radius": _fig(27, 124, 0, 3, 97, 102.5, 1955.02, radius_m=8000.0),
        "zone": _fig(27, 501, 0, 2, 474, 683.21, 8725.43),
        "oracle": _fig(27, 27, 0, 2, 0, 47.0, 412.9),
        "none-needed": _fig(0, 1, 0, 0, 1, None, 10.5),
    },
}
TITLE = "Scores: barrage-3000 (3000 impacts)"


def _render(table, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(table)
    return console.file.getvalue().splitlines()


def _row(lines: list[str], label: str) -> str:
    (line,) = [ln for ln in lines if ln.startswith(f"│ {label} ")]
    return line


def test_default_scores_fit_80_columns_with_every_cell_whole() -> None:
    lines = _render(simulate_cli.score_table(TITLE, DOC["policies"]), 80)
    assert max(cell_len(ln) for ln in lines) <= 80
    assert "…" not in "".join(lines)
    header = next(ln for ln in lines if "needed" in ln)
    assert all(h in header for h in DEFAULT_HEADERS) and not any(h in header for h in WIDE_ONLY)
    # One line per policy (no cell folded onto a second line), each value whole.
    assert len([ln for ln in lines if ln.startswith("│ ")]) == len(DOC["policies"])
    zone = _row(lines, "zone").split("│")[1:-1]
    assert [c.strip() for c in zone] == ["zone", "27", "501", "0", "2", "474", "683.21", "8725.43"]
    assert _row(lines, "radius 8km").split("│")[-3].strip() == "102.5"
    assert _row(lines, "none-needed").split("│")[-3].strip() == "-"


def test_wide_scores_show_every_column() -> None:
    lines = _render(simulate_cli.score_table(TITLE, DOC["policies"], wide=True), 200)
    header = next(ln for ln in lines if "needed" in ln)
    assert all(h in header for h in (*DEFAULT_HEADERS, *WIDE_ONLY))
    cells = [c.strip() for c in _row(lines, "predicted").split("│")[1:-1]]
    assert cells == [
        "predicted", "27", "66", "0", "4", "1", "39", "0.4091", "96.34", "28.9", "96.34",
        "1.0271", "1081.27",
    ]  # fmt: skip
    assert max(cell_len(ln) for ln in lines) <= 150  # what --wide needs


def test_track_table_fits_80_columns() -> None:
    report = TrackingReport(
        scenario="barrage-3000",
        projectiles=3000,
        projectiles_confirmed=2987,
        tracks_confirmed=3012,
        false_tracks=25,
        median_confirm_s=4.25,
        ipp_error_m={"10": 1234.5, "20": 310.2, "30": 95.1, "45": None},
        coverage_99=0.9871,
        coverage_50=0.5123,
        gospa_mean=214.7,
        scans=14_400,
        rejected={"out_of_range": 12, "stale": 3, "duplicate": 0},
    )
    console = Console(file=io.StringIO(), width=80, color_system=None, highlight=False)
    render(report, console)
    lines = console.file.getvalue().splitlines()
    assert max(cell_len(ln) for ln in lines) <= 80 and "…" not in "".join(lines)
    text = "\n".join(lines)
    for whole in ("impact-point error after 10 s (median)", "1234 m", "out_of_range 12, stale 3"):
        assert whole in text


@pytest.mark.slow
def test_simulate_prints_an_80_column_score_table(capsys, monkeypatch) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, highlight=False, soft_wrap=True)
    monkeypatch.setattr(simulate_cli, "_out", console)
    assert main(["simulate", "sderot-gaza", "--policy", "all"]) == 0
    lines = out.getvalue().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Scores: sderot-gaza"))
    table = [ln for ln in lines[start + 1 :] if ln[:1] in "┏┃┡│└"]
    assert max(cell_len(ln) for ln in table) <= 80 and "…" not in "".join(table)
    rows = [ln.split("│")[1].strip() for ln in table if ln.startswith("│ ")]
    assert rows == ["predicted", "radius 1km", "zone", "oracle", "causal"]
    wide = io.StringIO()
    monkeypatch.setattr(simulate_cli, "_out", Console(file=wide, width=160, color_system=None))
    assert main(["simulate", "sderot-gaza", "--policy", "oracle", "--wide"]) == 0
    assert all(h in wide.getvalue() for h in WIDE_ONLY)
