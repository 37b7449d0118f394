"""`redcolor sim` commands: list and show scenarios, run one to files, print range tables.
Each command parses, calls one ``redcolor.sim`` function and renders the result."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from redcolor.physics.catalogue import CATALOGUE, get_projectile
from redcolor.sensors.registry import dump_registry
from redcolor.sensors.udp import parse_udp_url
from redcolor.sim.emit import (
    DEFAULT_SOURCES,
    ScanSent,
    emit,
    radar_indices,
    registry_of,
    write_truth,
)
from redcolor.sim.run import simulate
from redcolor.sim.scenario import builtin_names, load_scenario
from redcolor.sim.summary import catalogue_summary, range_table_rows, scenario_summary

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

sim_app = typer.Typer(
    name="sim",
    help="Threat and sensor simulator: scenarios, ground truth, measurement feed, range tables.",
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
ScenarioArg = Annotated[str, typer.Argument(help="A built-in scenario name or a TOML file path.")]
Sources = Annotated[
    list[str] | None,
    typer.Option(
        "--source",
        help="An address or CIDR the radars send from (repeatable; default 127.0.0.1 and ::1).",
    ),
]


@sim_app.callback(invoke_without_command=True)
def _sim(ctx: typer.Context) -> None:
    """Threat and sensor simulator: scenarios, ground truth, measurement feed, range tables."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(sim_app, name="sim")


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))


@sim_app.command("list")
def list_scenarios(as_json: AsJson = False) -> None:
    """List the built-in scenarios."""
    rows: list[dict[str, Any]] = []
    for name in builtin_names():
        s = load_scenario(name)
        rows.append(
            {
                "name": name,
                "projectiles": sum(x.count for x in s.salvos),
                "radars": len(s.radars),
                "description": s.description,
            }
        )
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Built-in scenarios", title_justify="left")
    for col in ("name", "projectiles", "radars", "description"):
        table.add_column(col, justify="right" if col in ("projectiles", "radars") else "left")
    for r in rows:
        table.add_row(r["name"], str(r["projectiles"]), str(r["radars"]), r["description"])
    _out.print(table)


@sim_app.command("show")
def show(scenario: ScenarioArg, as_json: AsJson = False) -> None:
    """Summarise a scenario: radars, salvos, distances and the nominal shots."""
    doc = scenario_summary(load_scenario(scenario))
    if as_json:
        _print_json(doc)
        return
    _out.print(f"[bold]{doc['name']}[/bold]: {doc['description']}")
    _out.print(
        f"source {doc['source']}, seed {doc['seed']}, ground {doc['ground_alt_m']:g} m, "
        f"origin {doc['origin']['lat']:.4f}, {doc['origin']['lon']:.4f}, "
        f"{doc['projectiles']} projectiles"
    )
    radars = Table(title="Radars", title_justify="left")
    for col in ("id", "lat", "lon", "alt_m", "max_range_km", "Pd"):
        radars.add_column(col)
    for r in doc["radars"]:
        radars.add_row(
            r["id"],
            f"{r['lat']:.4f}",
            f"{r['lon']:.4f}",
            f"{r['alt_m']:g}",
            f"{r['max_range_km']:g}",
            f"{r['detection_probability']:g}",
        )
    _out.print(radars)
    salvos = Table(
        title="Salvos (nominal shot from the launch centre at the target centre; radar km: "
        "launch centre to the nearest radar)",
        title_justify="left",
    )
    cols = {
        "salvo": "#",
        "projectile": "projectile",
        "count": "n",
        "at_s": "at s",
        "over_s": "over s",
        "distance_km": "km",
        "nearest_radar_km": "radar km",
        "trajectory": "branch",
        "elevation_deg": "elev deg",
        "flight_time_s": "flight s",
        "apogee_km": "apogee km",
    }
    for col in cols.values():
        salvos.add_column(col, no_wrap=True, min_width=max(len(col), 5))
    for s in doc["salvos"]:
        salvos.add_row(*(str(s.get(c, "-")) for c in cols))
    _out.print(salvos)


@sim_app.command("run")
def run(
    scenario: ScenarioArg,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Write overview.png.")] = True,
    as_json: AsJson = False,
) -> None:
    """Fly a scenario; write truth.jsonl, measurements.jsonl, sensors.jsonl,
    trajectories.jsonl and run.json (and overview.png) into --out."""
    result = simulate(load_scenario(scenario))
    total = result.scan_count()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        disable=as_json,
        transient=True,
    ) as progress:
        task = progress.add_task(f"scanning {result.scenario.name}", total=total)
        counts = result.write(out, on_scan=lambda n: progress.update(task, completed=n))
    if plot:
        from redcolor.sim.plots import plot_overview

        plot_overview(result, out / "overview.png")
    doc = {
        "out": str(out),
        **counts,
        "simulated_s": round(result.end_unix_s - result.start_unix_s, 1),
    }
    if as_json:
        _print_json(doc)
        return
    _out.print(
        f"{result.scenario.name}: {counts['projectiles']} projectiles, {counts['scans']} scans, "
        f"{counts['plots']} plots over {doc['simulated_s']} s -> {out}"
    )


@sim_app.command("table")
def table(
    projectile: Annotated[
        str | None, typer.Argument(help="A catalogue name; all projectiles if omitted.")
    ] = None,
    step_deg: Annotated[
        float, typer.Option("--step", min=0.5, max=30.0, help="Elevation step, degrees.")
    ] = 5.0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write a PNG here.")] = None,
    as_json: AsJson = False,
) -> None:
    """Print the nominal range table (elevation, range, flight time, apogee, impact speed)."""
    names = (
        [get_projectile(projectile).name]
        if projectile
        else [n for n, p in CATALOGUE.items() if p.kind != "drone"]
    )
    if projectile and get_projectile(projectile).kind == "drone":
        names = []
    doc = {name: range_table_rows(name, step_deg) for name in names}
    if plot is not None:
        from redcolor.sim.plots import plot_range_tables

        plot_range_tables(names, plot)
    if as_json:
        _print_json({"tables": doc, "catalogue": catalogue_summary()})
        return
    for name, rows in doc.items():
        p = CATALOGUE[name]
        t = Table(
            title=f"{name}: {p.description} (published max {p.max_range_m / 1e3:g} km)",
            title_justify="left",
        )
        for col in ("elevation deg", "range km", "flight s", "apogee km", "impact m/s"):
            t.add_column(col, justify="right")
        for r in rows:
            mark = " *" if r["max_range"] else ""
            t.add_row(
                f"{r['elevation_deg']:g}{mark}",
                f"{r['range_km']:.2f}",
                f"{r['flight_time_s']:.1f}",
                f"{r['apogee_km']:.2f}",
                str(r["impact_speed_m_s"]),
            )
        _out.print(t)
    if not doc:
        _out.print(f"{projectile} flies waypoints; it has no range table")


@sim_app.command("sensors")
def sensors(scenario: ScenarioArg, source: Sources = None, as_json: AsJson = False) -> None:
    """Print the sensor registry (TOML) of a scenario's radars, for serve --sensors."""
    registry = registry_of(simulate(load_scenario(scenario)), source or DEFAULT_SOURCES)
    if as_json:
        _print_json([msgspec.to_builtins(cfg) for cfg in registry.sensors])
        return
    typer.echo(dump_registry(registry), nl=False)


@sim_app.command("emit")
def emit_scans(
    scenario: ScenarioArg,
    to: Annotated[str, typer.Option("--to", help="Where to send: udp://HOST:PORT.")],
    speed: Annotated[
        float, typer.Option("--speed", min=0.01, max=1000.0, help="Times faster than real time.")
    ] = 1.0,
    truth_out: Annotated[
        Path | None,
        typer.Option("--truth-out", help="Write truth.jsonl, sensors.toml, run.json here."),
    ] = None,
    radar: Annotated[
        list[str] | None, typer.Option("--radar", help="Send only this radar (repeatable).")
    ] = None,
    start_unix_s: Annotated[
        float | None,
        typer.Option(
            "--start-unix-s",
            help="Shift the scenario to start then (default now; give several "
            "emitters the same one to send on one clock).",
        ),
    ] = None,
    source: Sources = None,
    as_json: AsJson = False,
) -> None:
    """Send a scenario's scans as ASTERIX CAT034 + CAT048 over UDP, in real time from now."""
    url = parse_udp_url(to)
    sim = simulate(load_scenario(scenario))
    registry = registry_of(sim, source or DEFAULT_SOURCES)
    total = sum(len(sim.scan_times(j)) for j in radar_indices(sim, radar))
    start = time.time() if start_unix_s is None else start_unix_s
    if truth_out is not None:
        write_truth(sim, truth_out, registry, start_unix_s=start, speed=speed, radars=radar)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=_err,
        disable=as_json,
        transient=True,
    ) as progress:
        task = progress.add_task(f"sending {sim.scenario.name} to {url}", total=total, note="")

        def on_scan(sent: ScanSent) -> None:
            note = f"{sent.sensor}: {sent.plots} plots, {sent.datagrams} datagrams"
            if sent.late_s > 0.05:
                note += f", {sent.late_s:.2f} s late"
            progress.update(task, completed=sent.done, note=note)

        summary = emit(
            sim, registry, url, speed=speed, start_unix_s=start, radars=radar, on_scan=on_scan
        )
    doc = {"to": str(url), "truth_out": None if truth_out is None else str(truth_out),
           **dataclasses.asdict(summary)}  # fmt: skip
    if as_json:
        _print_json(doc)
        return
    errors = sum(summary.send_errors.values())
    _out.print(
        f"{sim.scenario.name}: {summary.scans} scans, {summary.plots} plots in "
        f"{summary.datagrams} datagrams ({summary.bytes} bytes) sent to {url} at speed "
        f"{speed:g}; at worst {summary.max_late_s * 1e3:.1f} ms late, "
        f"{summary.max_scan_s * 1e3:.1f} ms to make and send a scan"
        + (f"; {errors} datagrams refused by the kernel {summary.send_errors}" if errors else "")
    )
