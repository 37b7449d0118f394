"""Trade-off curves of the ``predicted`` policy's settling parameters.

Acting on a younger track warns earlier over a wider region: more lead time, more needless
areas. The main parameter is ``settle_fraction`` (the share of a ballistic flight spent
tracking before the first warning); ``settle_s`` is its floor for short flights. For each
scenario the tracker runs once and one ``predicted`` lane per setting runs on its output (plus
the oracle for the lead-time ratio), so the points differ only in the parameter. Writes a table
(stdout), ``tradeoff-<param>.json`` and ``tradeoff-<param>.png`` into ``--out``.

``drone_pre_alert_s`` (how far ahead a drone's reach is pre-alerted) is the drone's parameter.

Run: ``python -m redcolor.eval.tradeoff [--param settle_fraction|settle_s|drone_pre_alert_s]
[--out DIR] [SCENARIO ...]``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from redcolor.eval.compare import true_impacts
from redcolor.eval.score import score_events
from redcolor.geo import load_areas
from redcolor.pipeline import run_lanes
from redcolor.pipeline.policies import ORACLE_PLOTS
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario
from redcolor.warning.policies import PredictedPolicy, Staging

SWEEPS: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "settle_fraction": ((0.0, 0.05, 0.1, 0.15, 0.2, 0.3), ("fajr-tel-aviv", "haifa-40km")),
    "settle_s": ((2.0, 3.0, 4.0, 5.0, 6.0, 8.0), ("sderot-gaza", "meron-2024-01-06")),
    "drone_pre_alert_s": ((0.0, 180.0, 300.0, 360.0, 420.0, 480.0, 600.0), ("drones-galilee",)),
}


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
                "lead_median_s": fig["lead_time_s"]["median"],
                "lead_ratio": fig["lead_time_ratio"],
                "shelter_area_minutes": fig["shelter_area_minutes"],
                "pre_alert_only": fig["pre_alert_only"],
            }
        )
    return rows


def plot(rows: list[dict[str, Any]], param: str, path: Path) -> None:
    """Needless areas against the median lead-time ratio, one line per scenario."""
    fig = Figure(figsize=(7.5, 5.0))
    ax = fig.subplots()
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == scenario and r["lead_ratio"] is not None]
        ax.plot(
            [r["lead_ratio"] for r in mine], [r["needless"] for r in mine], "o-", label=scenario
        )
        for r in mine:
            ax.annotate(
                f"{r[param]:g}",
                (r["lead_ratio"], r["needless"]),
                fontsize=8,
                textcoords="offset points",
                xytext=(4, 4),
            )
    ax.axvline(0.8, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("median lead time / oracle's")
    ax.set_ylabel("needless areas")
    ax.set_title(f"predicted policy: {param} trades lead time for needless areas")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--param", choices=sorted(SWEEPS), default="settle_fraction")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    values, default_scenarios = SWEEPS[args.param]
    names = args.scenarios or list(default_scenarios)
    rows = [row for name in names for row in sweep(name, args.param, values)]
    cols = list(rows[0])
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row[c]) for c in cols))
    stem = args.out / f"tradeoff-{args.param}"
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    plot(rows, args.param, stem.with_suffix(".png"))
    print(f"wrote {stem}.json and {stem}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
