"""`redcolor score`: score the alert events in a store against a run's ground truth.

Parses the arguments, calls :func:`redcolor.eval.stored.load_stored_run` and
:func:`~redcolor.eval.stored.score_stored`, renders the result.
No logic here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from redcolor.cli.simulate import progress_columns, score_table

_out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("score")(score)


def score(
    db: Annotated[Path, typer.Option("--db", help="The alert event store (SQLite) of the run.")],
    truth: Annotated[
        Path,
        typer.Option(
            "--truth", help="Ground truth of the run (sim emit --truth-out, sim run --out)."
        ),
    ],
    policy: Annotated[
        str, typer.Option("--policy", help="The policy that ran (the store does not say).")
    ] = "predicted",
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Every score column (about 150 columns wide; the default fits 80)."
        ),
    ] = False,
) -> None:
    """Score the alert events in --db against the ground truth in --truth, as simulate does."""
    from redcolor.eval.stored import load_stored_run, score_stored

    stored = load_stored_run(db, truth, policy=policy)

    with Progress(*progress_columns(), console=_err, transient=True) as bar:
        task = bar.add_task("oracle: scans", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        doc = score_stored(stored, progress=progress)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    align = doc["alignment"]
    title = (
        f"Scores: {doc['scenario']} ({doc['impacts']} impacts, {doc['events']} events; "
        f"store clock {align['offset_s']:+.3f} s from the scenario's, by {align['source']})"
    )
    rows = {}
    for name, fig in doc["policies"].items():
        rows[name] = fig
        if "oracle" in fig:
            rows["oracle"] = fig["oracle"]
    _out.print(score_table(title, rows, wide=wide))
