"""`redcolor score`: score the alert events in a store against a run's ground truth.

Parses the arguments, calls :func:`redcolor.eval.stored.load_stored_run` and
:func:`~redcolor.eval.stored.score_stored`, renders the result.
No logic here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from redcolor.cli.simulate import progress_columns

_out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

_COLUMNS = (
    "needed",
    "warned",
    "missed",
    "late",
    "late_unavoidable",
    "needless",
    "precision",
    "shelter_area_minutes",
)


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
    _table(doc)


def _table(doc: dict[str, Any]) -> None:
    align = doc["alignment"]
    table = Table(
        title=f"Scores: {doc['scenario']} ({doc['impacts']} impacts, {doc['events']} events; "
        f"store clock {align['offset_s']:+.3f} s from the scenario's, by {align['source']})",
        title_justify="left",
    )
    table.add_column("policy")
    for key in _COLUMNS:
        table.add_column(key.replace("_", " "), justify="right")
    for label in ("lead med s", "lead p10 s", "alert lead s", "lead/oracle"):
        table.add_column(label, justify="right")
    for name, fig in doc["policies"].items():
        rows = [(name, fig)] + ([("oracle", fig["oracle"])] if "oracle" in fig else [])
        for label, f in rows:
            table.add_row(
                label,
                *(_cell(f.get(key)) for key in _COLUMNS),
                _cell(f["lead_time_s"]["median"]),
                _cell(f["lead_time_s"]["p10"]),
                _cell(f["alert_lead_time_s"]["median"]),
                _cell(f.get("lead_time_ratio")),
            )
    _out.print(table)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)
