"""`redcolor score --db --truth`: a stored run scored as simulate scores it, on every clock.

The pipeline runs in process into a SQLite store, shifted to a wall-clock start as a live run
is; the truth is written by the emitter's writer (``sim emit --truth-out``: on that wall clock)
and by ``sim run --out`` (scenario clock, aligned through the store's run record); a
``simulate --db`` store is on the scenario clock. Each must score exactly what ``simulate``'s
own scoring of the same run gives.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.cli.main import main
from redcolor.eval.compare import evaluate
from redcolor.pipeline.resume import RunRecord
from redcolor.pipeline.runner import run, run_id_for
from redcolor.sim.emit import registry_of, write_truth
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import load_scenario

SCENARIO = "sderot-gaza"
START_UNIX_S = 1_796_000_000.5


@pytest.fixture(scope="module")
def flown(tmp_path_factory) -> tuple[SimulationResult, dict, Path]:
    """The scenario flown, simulate's figures for it, and a directory with its stores."""
    sim = simulate(load_scenario(SCENARIO))
    where = tmp_path_factory.mktemp("score")
    scenario_store = SQLiteEventStore(where / "scenario.db")
    try:
        figures = evaluate(sim, ["predicted"], store=scenario_store).figures()
    finally:
        scenario_store.close()
    live = SQLiteEventStore(where / "live.db")
    record = RunRecord(run_id_for(SCENARIO, START_UNIX_S), SCENARIO, "-", sim.scenario.seed,
                       START_UNIX_S, 1.0, 120.0)  # fmt: skip
    live.record_run(record.run_id, msgspec.json.encode(record))
    try:
        run(sim, store=live, start_unix_s=START_UNIX_S)
    finally:
        live.close()
    return sim, figures, where


def _score(capsys, db: Path, truth: Path, *extra: str) -> dict:
    assert main(["score", "--db", str(db), "--truth", str(truth), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_wall_clock_store_with_the_emitters_truth_scores_as_simulate(flown, capsys) -> None:
    sim, figures, where = flown
    truth = where / "emit-truth"
    write_truth(sim, truth, registry_of(sim), start_unix_s=START_UNIX_S, speed=1.0)
    doc = _score(capsys, where / "live.db", truth)
    assert doc["policies"] == {"predicted": figures["policies"]["predicted"]}
    assert (doc["scenario"], doc["impacts"]) == (SCENARIO, figures["impacts"])
    assert doc["alignment"] == {"offset_s": START_UNIX_S - sim.start_unix_s, "source": "truth"}
    assert doc["events"] > 0
    fig = doc["policies"]["predicted"]
    assert fig["needed"] > 0 and "oracle" in fig and "late_unavoidable" in fig


def test_scenario_clock_truth_aligns_by_the_stores_run_record(flown, capsys) -> None:
    sim, figures, where = flown
    truth = where / "sim-run"
    sim.write(truth)
    doc = _score(capsys, where / "live.db", truth)
    assert doc["policies"] == {"predicted": figures["policies"]["predicted"]}
    assert doc["alignment"]["source"] == "store_run"
    assert doc["alignment"]["offset_s"] == START_UNIX_S - sim.start_unix_s
    # simulate --db writes the scenario clock: no record, no offset
    doc = _score(capsys, where / "scenario.db", truth, "--policy", "predicted")
    assert doc["policies"] == {"predicted": figures["policies"]["predicted"]}
    assert doc["alignment"] == {"offset_s": 0.0, "source": "scenario_clock"}


def test_a_store_and_truth_that_do_not_belong_together_are_refused(flown, capsys) -> None:
    sim, _, where = flown
    truth = where / "emit-truth-2"
    write_truth(sim, truth, registry_of(sim), start_unix_s=START_UNIX_S + 3600.0, speed=1.0)
    assert main(["score", "--db", str(where / "live.db"), "--truth", str(truth)]) == 2
    err = capsys.readouterr().err
    assert "no alert event falls within the run" in err and len(err.strip().splitlines()) == 1
    lines = (truth / "truth.jsonl").read_text().splitlines()
    (truth / "truth.jsonl").write_text("\n".join(lines[1:]) + "\n")
    assert main(["score", "--db", str(where / "live.db"), "--truth", str(truth)]) == 2
    err = capsys.readouterr().err
    assert "does not match scenario" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--db", "{d}/live.db", "--truth", "{d}/missing"], "cannot read truth"),
        (["--db", "{d}/missing.db", "--truth", "{d}/emit-truth"], "missing.db"),
        (["--db", "{d}/live.db", "--truth", "{d}/emit-truth", "--policy", "best"], "predicted"),
    ],
)
def test_bad_input_is_one_line_exit_2(flown, capsys, args, needle) -> None:
    sim, _, where = flown
    write_truth(sim, where / "emit-truth", registry_of(sim), start_unix_s=START_UNIX_S, speed=1.0)
    assert main(["score", *(a.format(d=where) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("redcolor: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_the_table_names_the_alignment(flown, capsys) -> None:
    sim, _, where = flown
    truth = where / "emit-truth"
    write_truth(sim, truth, registry_of(sim), start_unix_s=START_UNIX_S, speed=1.0)
    assert main(["score", "--db", str(where / "live.db"), "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    assert f"Scores: {SCENARIO}" in out and "by truth" in out and "predicted" in out
