"""`redcolor track SCENARIO`: simulator -> tracker -> impact prediction, scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from redcolor.eval.track_score import TrackingReport


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) < 1:
            return f"{value:.3f}{unit}"
        return f"{value:.1f}{unit}" if abs(value) < 100 else f"{value:.0f}{unit}"
    return f"{value}{unit}"


def render(report: TrackingReport, console: Console) -> None:
    """The metrics of one run as a rich table."""
    table = Table(title=f"tracking: {report.scenario}", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("projectiles", _fmt(report.projectiles)),
        ("projectiles confirmed", _fmt(report.projectiles_confirmed)),
        ("tracks confirmed", _fmt(report.tracks_confirmed)),
        ("false tracks", _fmt(report.false_tracks)),
        ("median launch -> confirmation", _fmt(report.median_confirm_s, " s")),
        *(
            (f"impact-point error after {k} s (median)", _fmt(v, " m"))
            for k, v in report.ipp_error_m.items()
        ),
        ("true impact inside the 99% region", _fmt(report.coverage_99)),
        ("true impact inside the 50% region", _fmt(report.coverage_50)),
        ("GOSPA mean (c 500 m)", _fmt(report.gospa_mean, " m")),
        ("scans", _fmt(report.scans)),
        ("rejected", ", ".join(f"{k} {v}" for k, v in report.rejected.items() if v) or "none"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""

    @app.command("track")
    def track(
        scenario: str = typer.Argument(..., help="A built-in scenario name or a TOML file."),
        as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
        plot: Path | None = typer.Option(
            None, "--plot", help="Write impact-point error and GOSPA plots to this PNG."
        ),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    ) -> None:
        """Run simulator, tracker and impact prediction on SCENARIO and print the metrics."""
        if plot is not None and plot.suffix.lower() != ".png":
            raise typer.BadParameter(f"--plot must name a .png file, got {plot}")
        from redcolor.eval.track_score import track_simulation
        from redcolor.sim.run import simulate
        from redcolor.sim.scenario import load_scenario

        report = track_simulation(simulate(load_scenario(scenario)), progress=progress)
        if plot is not None:
            from redcolor.eval.track_plot import plot_report

            plot_report(report, plot)
        if as_json:
            typer.echo(json.dumps(report.to_json(), indent=2))
        else:
            render(report, Console())
