"""`redcolor simulate`: bad input is one line and exit 2; --json keys; --report files."""

from __future__ import annotations

import json

import pytest

from redcolor.cli.main import main

ISSUE_KEYS = {
    "needed",
    "warned",
    "missed",
    "late",
    "late_unavoidable",
    "needless",
    "precision",
    "lead_time_s",
    "alert_lead_time_s",
    "shelter_area_minutes",
    "oracle",
}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["simulate", "no-such-scenario"], "meron-2024-01-06"),
        (["simulate", "sderot-gaza", "--policy", "nearest"], "predicted, radius, zone, oracle"),
        (["simulate", "sderot-gaza", "--report", "map.svg"], ".png or .html"),
    ],
)
def test_bad_input_is_one_line_listing_choices(capsys, args, needle):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("redcolor: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_json_scores_and_reports(capsys, tmp_path):
    png, page, db = tmp_path / "r.png", tmp_path / "r.html", tmp_path / "a.db"
    args = ["simulate", "sderot-gaza", "--policy", "predicted,oracle", "--json"]
    assert main([*args, "--report", str(png), "--db", str(db)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["policies"]) == {"predicted", "oracle"}
    assert set(doc["policies"]["predicted"]) >= ISSUE_KEYS
    assert set(doc["policies"]["predicted"]["lead_time_s"]) == {"median", "p10"}
    assert doc["latency_ms"]["p99"] >= doc["latency_ms"]["p50"] > 0
    assert doc["policies"]["predicted"]["missed"] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert db.exists()
    assert main(["simulate", "sderot-gaza", "--policy", "oracle", "--report", str(page)]) == 0
    out = capsys.readouterr().out
    assert "Scores" in out and "Alert events" in out
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")
