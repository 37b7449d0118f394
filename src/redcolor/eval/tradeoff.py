"""Trade-off curves of the ``predicted`` policy's settling parameters.

Acting on a younger track warns earlier over a wider region: more lead time, more needless
areas. The main parameter is ``settle_fraction`` (the share of a ballistic flight spent
tracking before the first warning); ``settle_s`` is its floor for short flights. For each
scenario the tracker runs once and one ``predicted`` lane per setting runs on its output (plus
the oracle for the lead-time ratio), so the points differ only in the parameter. Writes a table
(stdout), ``tradeoff-<param>.json`` and ``tradeoff-<param>.png`` into ``--out``.

``missile_core_fraction`` (the share of a ballistic missile's flight tracked before its core,
the ``early_core_confidence`` region, is pre-alerted), ``rocket_core_s`` (the seconds a short
rocket flight is tracked before its core shelters, ahead of its settling) and
``early_core_confidence`` (both cores' size) set the early cores. ``drone_pre_alert_s`` (how
far ahead a drone's reach is pre-alerted) is the drone's parameter.
``reach_settle_s`` (until when after a track's first plot the reach rule alerts the frontline
areas a settled prediction would warn too late) trades needless areas against late ones on the
frontline scenarios: its plot draws needless areas against the areas late where the causal
oracle was not (``late - late_unavoidable``); 0 turns the rule off. ``reach_margin_s`` (how
long before an area's deadline could pass the rule alerts it) is its other parameter: larger
alerts earlier, from a younger and wider sector; ``reach_lateral_m`` widens the heading sector.
``reach_max_shelter_s`` (the longest shelter time the rule alerts) runs on the frontline
scenarios and on those with 30-90 s areas near a launch (haifa-40km, meron-2024-01-06,
barrage-3000), where a longer one alerts the areas behind the front.

Run: ``python -m redcolor.eval.tradeoff [--param settle_fraction|settle_s|missile_core_fraction|
rocket_core_s|early_core_confidence|drone_pre_alert_s|reach_settle_s|reach_margin_s|
reach_lateral_m|reach_max_shelter_s]
[--out DIR] [--replot] [SCENARIO ...]``
(``--replot`` redraws the picture from the JSON already in ``--out``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from redcolor.errors import InputError
from redcolor.eval.compare import true_impacts
from redcolor.eval.score import score_events
from redcolor.geo import load_areas
from redcolor.pipeline import run_lanes
from redcolor.pipeline.policies import ORACLE_PLOTS
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.policies import PredictedPolicy, Staging

FRONTLINE = (
    "kiryat-shmona-lebanon",
    "kiryat-shmona-degraded",
    "sderot-gaza",
    "gaza-border-mortars",
)
"""The frontline scenarios (0-15 s shelter areas) the reach rule's sweeps run on."""
SWEEPS: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "settle_fraction": ((0.0, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3), ("fajr-tel-aviv", "haifa-40km")),
    "settle_s": ((2.0, 3.0, 4.0, 5.0, 6.0, 8.0), ("sderot-gaza", "meron-2024-01-06")),
    "missile_core_fraction": (
        (0.07, 0.08, 0.09, 0.095, 0.1, 0.11, 0.15),
        ("ballistic-center", "houthi-eilat"),
    ),
    "rocket_core_s": (
        (0.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0),
        ("gaza-border-mortars", "meron-2024-01-06", "sderot-gaza"),
    ),
    "early_core_confidence": (
        (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
        ("ballistic-center", "houthi-eilat"),
    ),
    "drone_pre_alert_s": ((0.0, 180.0, 300.0, 360.0, 420.0, 480.0, 600.0), ("drones-galilee",)),
    "reach_settle_s": ((0.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0), FRONTLINE),
    "reach_margin_s": ((0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0), FRONTLINE),
    "reach_lateral_m": ((0.0, 150.0, 300.0, 500.0, 1000.0, 2000.0), FRONTLINE),
    "reach_max_shelter_s": (
        (0.0, 15.0, 30.0, 45.0, 60.0, 90.0),
        (
            "kiryat-shmona-lebanon",
            "sderot-gaza",
            "haifa-40km",
            "meron-2024-01-06",
            "barrage-3000",
        ),
    ),
}
LATE_AXIS = ("reach_settle_s", "reach_margin_s", "reach_lateral_m", "reach_max_shelter_s")
"""Parameters whose curve is needless areas against avoidable late areas (not lead time)."""


def sweep(scenario: str, param: str, values: tuple[float, ...]) -> list[dict[str, Any]]:
    """One row per value of ``param``: needless, warned, missed, late, median lead and its
    ratio to the oracle's."""
    index = load_areas()
    sim = simulate(load_scenario(scenario))
    lanes: list[Any] = []
    for value in values:
        policy = PredictedPolicy(index, replace(Staging(), **{param: value}))
        policy.name = f"{param}={value:g}"
        lanes.append(policy)
    run = run_lanes(sim, [*lanes, *ORACLE_PLOTS], index=index)
    impacts = true_impacts(sim)
    oracle, causal = (score_events(run.lanes[n].events, impacts, index) for n in ORACLE_PLOTS)
    rows = []
    for value, policy in zip(values, lanes, strict=True):
        fig = score_events(run.lanes[policy.name].events, impacts, index).figures(oracle, causal)
        rows.append(
            {
                "scenario": scenario,
                param: value,
                "warned": fig["warned"],
                "needless": fig["needless"],
                "missed": fig["missed"],
                "late": fig["late"],
                "late_unavoidable": fig["late_unavoidable"],
                "late_avoidable": fig["late"] - fig["late_unavoidable"],
                "lead_median_s": fig["lead_time_s"]["median"],
                "lead_ratio": fig["lead_time_ratio"],
                "shelter_area_minutes": fig["shelter_area_minutes"],
                "pre_alert_only": fig["pre_alert_only"],
            }
        )
    return rows


def figure(rows: list[dict[str, Any]], param: str) -> Figure:
    """The picture of a sweep of ``param``: :func:`_lead_figure`, or :func:`_setting_figure`
    for :data:`LATE_AXIS` (whose settings move few areas, so labelled points would pile up)."""
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    in_use = getattr(Staging(), param)
    draw = _setting_figure if param in LATE_AXIS else _lead_figure
    fig = draw(rows, param, scenarios, in_use)
    fig.tight_layout()
    return fig


def _lead_figure(
    rows: list[dict[str, Any]], param: str, scenarios: list[str], in_use: float
) -> Figure:
    """Needless areas against the median lead-time ratio, one line per scenario, each point
    labelled with its setting, the setting in use (:class:`Staging`) ringed and 90% of the
    oracle's lead (issue 16's bar) dashed. A scenario with no needed area (no lead at any
    setting, e.g. meron-2024-01-06) is drawn beside it: its needless areas against the
    setting."""
    led = [s for s in scenarios if any(r["lead_ratio"] is not None for r in _of(rows, s))]
    unled = [s for s in scenarios if s not in led]
    fig = Figure(figsize=(12.0, 5.0) if unled else (7.5, 5.0))
    if unled:
        ax, side = fig.subplots(1, 2, width_ratios=(3, 2))
        _needless_by_setting(side, rows, param, scenarios, unled, in_use)
    else:
        ax = fig.subplots()
    for scenario in led:
        mine = [r for r in _of(rows, scenario) if r["lead_ratio"] is not None]
        x, y = [r["lead_ratio"] for r in mine], [r["needless"] for r in mine]
        ax.plot(x, y, "o-", label=scenario, color=_colour(scenarios, scenario))
        # settings that land on the same point share one label
        labels: dict[tuple[float, int], list[str]] = {}
        for r in mine:
            labels.setdefault((r["lead_ratio"], r["needless"]), []).append(f"{r[param]:g}")
        for point, names in labels.items():
            ax.annotate(
                ", ".join(names), point, fontsize=8, textcoords="offset points", xytext=(4, 4)
            )
    ax.axvline(0.9, color="grey", linestyle="--", linewidth=0.8)
    used = [r for r in rows if r[param] == in_use and r["lead_ratio"] is not None]
    ax.plot(
        [r["lead_ratio"] for r in used],
        [r["needless"] for r in used],
        "o",
        markersize=13,
        markerfacecolor="none",
        markeredgecolor="black",
        label=f"set: {in_use:g}",
    )
    ax.set_xlabel("median lead time / oracle's")
    ax.set_ylabel("needless areas")
    ax.set_title(f"predicted policy: {param} trades lead time for needless areas")
    ax.legend()
    return fig


def _colour(scenarios: list[str], scenario: str) -> str:
    """One colour per scenario of a sweep, the same in every panel."""
    return f"C{scenarios.index(scenario) % 10}"


def _of(rows: list[dict[str, Any]], scenario: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["scenario"] == scenario]


def _needless_by_setting(
    ax: Any,
    rows: list[dict[str, Any]],
    param: str,
    scenarios: list[str],
    drawn: list[str],
    in_use: float,
) -> None:
    """Needless areas against the setting, one line per scenario of ``drawn`` (coloured as
    among all ``scenarios``), the setting in use marked."""
    for scenario in drawn:
        mine = _of(rows, scenario)
        x, y = [r[param] for r in mine], [r["needless"] for r in mine]
        ax.plot(x, y, "o-", label=scenario, color=_colour(scenarios, scenario))
    _mark_setting(ax, param, in_use, "needless areas")
    ax.set_title("scenarios with no needed area")
    ax.legend(fontsize=8)


def _mark_setting(ax: Any, param: str, in_use: float, ylabel: str) -> None:
    """An axis against ``param``'s settings: the setting in use dashed and labelled."""
    ax.axvline(in_use, color="grey", linestyle="--", linewidth=0.8)
    ax.annotate(
        f"set: {in_use:g}",
        (in_use, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, -12),
        textcoords="offset points",
        fontsize=8,
    )
    ax.set_xlabel(param)
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _setting_figure(
    rows: list[dict[str, Any]], param: str, scenarios: list[str], in_use: float
) -> Figure:
    """Two panels against the setting itself, needless areas and the avoidable late areas,
    one line per scenario, the setting in use (:class:`Staging`) marked."""
    fig = Figure(figsize=(10.0, 4.5))
    needless_ax, late_ax = fig.subplots(1, 2, sharex=True)
    for scenario in scenarios:
        mine = _of(rows, scenario)
        x = [r[param] for r in mine]
        needless_ax.plot(x, [r["needless"] for r in mine], "o-", label=scenario)
        late_ax.plot(x, [r["late_avoidable"] for r in mine], "o-", label=scenario)
    for ax, label in (
        (needless_ax, "needless areas"),
        (late_ax, "areas late where the causal oracle was not"),
    ):
        _mark_setting(ax, param, in_use, label)
    late_ax.set_ylim(bottom=-0.5, top=max(2.0, max(r["late_avoidable"] for r in rows) + 1.0))
    needless_ax.legend(fontsize=8)
    fig.suptitle(f"predicted policy: the reach rule's {param}")
    return fig


def plot(rows: list[dict[str, Any]], param: str, path: Path) -> None:
    """:func:`figure`, written to ``path`` (PNG)."""
    figure(rows, param).savefig(path, dpi=110)


def _saved_rows(path: Path, param: str) -> list[dict[str, Any]]:
    """The rows a sweep of ``param`` wrote to ``path``; InputError (one line) if it did not."""
    try:
        rows = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the sweep {path}: {exc}") from None
    keys = ("scenario", param, "needless", "late_avoidable", "lead_ratio")
    if not rows or not isinstance(rows, list):
        raise InputError(f"{path} holds no sweep rows")
    for n, row in enumerate(rows):
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise InputError(
                f"{path}: row {n} is not a {param} sweep row (needs {', '.join(keys)})"
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--param", choices=sorted(SWEEPS), default="settle_fraction")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the picture from --out's JSON of this parameter, run nothing",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"tradeoff-{args.param}"
    if args.replot:
        try:
            rows = _saved_rows(stem.with_suffix(".json"), args.param)
        except InputError as exc:
            print(f"tradeoff: {exc}", file=sys.stderr)
            return 2
        plot(rows, args.param, stem.with_suffix(".png"))
        print(f"wrote {stem}.png")
        return 0
    values, default_scenarios = SWEEPS[args.param]
    names = args.scenarios or list(default_scenarios)
    rows = [row for name in names for row in sweep(name, args.param, values)]
    cols = list(rows[0])
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row[c]) for c in cols))
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    plot(rows, args.param, stem.with_suffix(".png"))
    print(f"wrote {stem}.json and {stem}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
