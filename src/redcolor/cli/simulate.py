"""`redcolor simulate`: run a scenario end to end, show the alert timeline and the scores.

Parses the arguments, calls :func:`redcolor.eval.compare.evaluate` (and
:func:`redcolor.eval.report.write_report`), renders the result. No logic here.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from redcolor.errors import InputError

if TYPE_CHECKING:
    from redcolor.eval.compare import Evaluation
    from redcolor.eval.story import Place, Story

_out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
_err = Console(stderr=True, highlight=False, soft_wrap=True)
TIMELINE_ROWS = 40

# (header, the cell from one policy's figures, shown without --wide). The default set fits an
# 80-column terminal: who needed a warning, who got it, who missed or was late, the cost in
# needless areas and shelter minutes, and the median lead; --wide adds the rest.
_SCORE_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any], bool], ...] = (
    ("needed", lambda f: f["needed"], True),
    ("warned", lambda f: f["warned"], True),
    ("missed", lambda f: f["missed"], True),
    ("late", lambda f: f["late"], True),
    ("unavoid.", lambda f: f.get("late_unavoidable"), False),
    ("needless", lambda f: f["needless"], True),
    ("prec.", lambda f: f.get("precision"), False),
    ("lead s", lambda f: f["lead_time_s"]["median"], True),
    ("lead p10 s", lambda f: f["lead_time_s"]["p10"], False),
    ("alert lead s", lambda f: f["alert_lead_time_s"]["median"], False),
    ("lead/oracle", lambda f: f.get("lead_time_ratio"), False),
    ("area-min", lambda f: f["shelter_area_minutes"], True),
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("simulate")(simulate)


def simulate(
    scenario: Annotated[str, typer.Argument(help="A built-in scenario name or a TOML path.")],
    policy: Annotated[
        str, typer.Option("--policy", help="predicted, radius, zone, oracle, causal or all.")
    ] = "predicted",
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a map report (.png or .html).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="SQLite event store for the first policy.")
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Every score column (about 150 columns wide; the default fits 80)."
        ),
    ] = False,
) -> None:
    """Run SCENARIO through sim, tracking, prediction, warning and the alert store; score it."""
    # imported here, not at the top: `redcolor --help` should not load the whole pipeline
    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.eval.compare import parse_policies
    from redcolor.eval.report import write_report
    from redcolor.eval.story import tell
    from redcolor.geo import load_areas
    from redcolor.sim.run import simulate as fly
    from redcolor.sim.scenario import load_scenario

    policies = parse_policies(policy)
    if report is not None and report.suffix.lower() not in (".png", ".html"):
        raise InputError(f"--report must name a .png or .html file, got {report.name!r}")
    sim = fly(load_scenario(scenario))
    store = SQLiteEventStore(db) if db is not None else None
    index = load_areas()
    try:
        evaluation = _run(sim, policies, store, index)
    finally:
        if store is not None:
            store.close()
    doc = evaluation.figures()
    if report is not None:
        write_report(evaluation, report, index)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    story = tell(sim, evaluation, index)
    _told(story)
    _timeline(evaluation, index)
    title = f"Scores: {doc['scenario']} ({doc['impacts']} impacts)"
    _out.print(score_table(title, doc["policies"], wide=wide))
    _beyond_causal(doc, index)
    _real(story)
    lat = doc["latency_ms"]
    _out.print(
        f"latency scan -> events durable: p50 {lat['p50']} ms, p99 {lat['p99']} ms "
        f"over {lat['scans']} scans"
    )
    if report is not None:
        _say(f"Map: {report} (a panel per policy: warned areas by name, tracks, impacts).")


_WIDTH = 78  # the story's paragraphs fit an 80-column terminal


def _say(text: str, indent: str = "") -> None:
    _out.print(
        textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent="  "),
        markup=False,
    )


def _where(place: Place) -> str:
    at = f"{place.lat:.3f}, {place.lon:.3f}"
    if place.inside:
        return f"{at} (in {place.area})"
    return f"{at} (in no alert area; nearest {place.area}, {place.distance_m / 1000:.1f} km)"


def _names(names: tuple[str, ...], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _told(story: Story) -> None:
    """What was fired and what the first policy did, in words a person can follow."""
    _out.print(f"[bold]{story.scenario}[/bold]")
    _say(story.description)
    _out.print("\n[bold]What was fired[/bold]")
    for f in story.fired:
        lo, hi = f.flight_time_s
        _say(
            f"{f.count} x {f.projectile} ({f.description}) over {f.over_s:g} s, from "
            f"{_where(f.launch)} at {_where(f.target)}; {lo:.0f}-{hi:.0f} s in flight.",
            "- ",
        )
    t = story.timeline
    _out.print(f"\n[bold]What redcolor warned, and when[/bold] (policy {t.policy})")
    if t.first_plot_s is not None:
        _say(f"t+{t.first_plot_s:6.1f} s  first radar plot of a confirmed track")
    if t.first_warning_s is not None:
        first = _names(t.first_warning_areas)
        _say(f"t+{t.first_warning_s:6.1f} s  first warning: {first}")
    if t.first_impact_s is None or t.last_impact_s is None:
        _say("Nothing was fired: every plot was clutter.")
    else:
        _say(
            f"t+{t.first_impact_s:6.1f} s  first impact; the last at t+{t.last_impact_s:.1f} s; "
            f"{t.impacts_in_areas} of {t.impacts} inside an alert area"
        )
    if t.all_clear_s is not None:
        _say(f"t+{t.all_clear_s:6.1f} s  all-clear")
    if t.warned:
        _say(f"Warned in all: {len(t.warned)} area(s): {_names(t.warned, 12)}.")
    else:
        _say("Nothing was warned.")
    _out.print()


def _real(story: Story) -> None:
    """The policies' warned areas beside what the real system alerted in the same event."""
    real = story.real
    if real is None:
        return
    kinds = ", ".join(f"{n} {k}" for k, n in real.by_category.items())
    _out.print("\n[bold]Against the real alerts of that day[/bold]")
    _say(
        f"On {real.first_local}-{real.last_local} ({real.time_zone}) the real system alerted "
        f"{real.areas} areas ({kinds})."
    )
    table = Table(title_justify="left")
    for col in ("policy", "warned", "also alerted for real"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for name, (warned, also) in real.overlap.items():
        table.add_row(name, str(warned), str(also))
    _out.print(table)
    if real.warned_in_real:
        both = _names(real.warned_in_real)
        _say(f"Warned by {story.timeline.policy} and alerted for real: {both}.")
    if real.warned_not_real:
        _say(f"Warned by {story.timeline.policy} only: {_names(real.warned_not_real)}.")
    near = real.nearest_to_target
    if not near.inside:
        _say(
            f"The target itself lies in no alert area: the nearest the real system alerted is "
            f"{near.area}, {near.distance_m / 1000:.1f} km away."
        )
    _say(f"Source: {real.source}.")


def progress_columns() -> tuple[ProgressColumn, ...]:
    """The columns of a long job's progress bar: what, how far, how long."""
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def _run(sim: Any, policies: list[str], store: Any, index: Any) -> Evaluation:
    with Progress(*progress_columns(), console=_err, transient=True) as bar:
        task = bar.add_task(f"{sim.scenario.name}: scans", total=sim.scan_count())

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done)

        from redcolor.eval.compare import evaluate

        return evaluate(sim, policies, store=store, progress=progress, index=index)


def _timeline(evaluation: Evaluation, index: Any) -> None:
    name, outcome = next(iter(evaluation.outcomes.items()))
    t0 = evaluation.run.start_unix_s
    table = Table(title=f"Alert events ({name})", title_justify="left")
    for col in ("t+ s", "seq", "alert", "stage", "category", "areas", "first area", "tracks"):
        table.add_column(col, justify="right" if col in ("t+ s", "seq", "areas") else "left")
    for event in outcome.events[:TIMELINE_ROWS]:
        table.add_row(
            f"{event.issued_at_unix_s - t0:.1f}",
            str(event.seq),
            event.id.rsplit("-", 1)[-1],
            event.stage,
            event.category,
            str(len(event.areas)),
            index.get(event.areas[0].id).name_en if event.areas else "",
            str(len(event.source)),
        )
    _out.print(table)
    if len(outcome.events) > TIMELINE_ROWS:
        _out.print(f"... {len(outcome.events) - TIMELINE_ROWS} more events")


def score_table(title: str, policies: dict[str, Any], *, wide: bool = False) -> Table:
    """Policies' scores (name -> figures, as ``simulate --json`` writes them) as a table: the
    default columns, which fit 80 terminal columns, or with ``wide`` all of them."""
    table = Table(title=title, title_justify="left")
    columns = [(label, cell) for label, cell, default in _SCORE_COLUMNS if wide or default]
    table.add_column("policy", no_wrap=True)
    for label, _ in columns:
        table.add_column(label, justify="right", no_wrap=True)
    for name, fig in policies.items():
        label = f"{name} {fig['radius_m'] / 1000:g}km" if "radius_m" in fig else name
        table.add_row(label, *(_cell(cell(fig)) for _, cell in columns))
    return table


def _beyond_causal(doc: dict[str, Any], index: Any) -> None:
    for name, fig in doc["policies"].items():
        beyond = fig.get("late_beyond_causal") or {}
        if not beyond:
            continue
        slack = ", ".join(f"{index.get(int(a)).name_en} {s} s" for a, s in beyond.items())
        _out.print(
            f"{name}: late where the causal oracle was not in {len(beyond)} area(s); its "
            f"slack from the second radar plot to the deadline: {slack}"
        )


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)
