"""Benchmark: the alert lifecycle and its checkpoint through a barrage, this tree against
another source tree, in the same command.

``barrage-3000`` (3,000 rockets and mortars in 10 minutes, five radars) is run through the
pipeline with the ``zone`` policy, which names every area of a threat's zone: the most areas
per decision, and so the heaviest load the lifecycle meets in the built-in scenarios. Every
call the pipeline makes to the policy is recorded (its decisions and time, the drain after the
last scan included). Then two worker processes, one importing this tree's ``redcolor`` and one
``--baseline SRC``'s, replay those decisions step by step in lockstep, the order alternating
so that both see the same machine load. Each step is
:func:`redcolor.alerts.lifecycle.apply` (timed), its events numbered as a store would
(``record_stored``), and the checkpoint of the new state
(:func:`redcolor.alerts.checkpoint.encode`, timed; every step, where the pipeline skips the
steps that change nothing). It prints the median and total of each part for both, their
ratios, and at how many steps both made the same events (their msgpack bytes).

Without ``--baseline`` only this tree is timed. The whole scenario takes about 2.5 minutes to
record and 3 to replay against a baseline here; ``--until-s`` replays the first seconds only.
Writes ``bench/results/lifecycle.json``.
Run: ``python bench/bench_lifecycle.py [--baseline SRC] [--until-s 0] [--json]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from itertools import takewhile  # noqa: E402
from pathlib import Path  # noqa: E402

import msgspec  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from redcolor.alerts.checkpoint import Clock, encode  # noqa: E402
from redcolor.alerts.lifecycle import (  # noqa: E402
    DEFAULT_HOLD_S,
    LifecycleConfig,
    apply,
    initial_state,
    record_stored,
)
from redcolor.geo import load_areas  # noqa: E402
from redcolor.pipeline.policies import make_policy  # noqa: E402
from redcolor.pipeline.runner import feed_of, run  # noqa: E402
from redcolor.sim.run import simulate  # noqa: E402
from redcolor.sim.scenario import load_scenario  # noqa: E402

SCENARIO = "barrage-3000"
HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "lifecycle.json"


class _Recorder:
    """A policy that decides as ``policy`` does and keeps every call's decisions."""

    def __init__(self, policy) -> None:
        self.policy = policy
        self.name = policy.name
        self.steps: list = []

    def decide(self, predictions, now_unix_s, cues=()):
        decisions = self.policy.decide(predictions, now_unix_s, cues)
        self.steps.append((decisions, now_unix_s))
        return decisions


def record(until_s: float | None, path: Path) -> int:
    """Run the scenario with the zone policy; pickle its calls' decisions to ``path``."""
    feed = feed_of(simulate(load_scenario(SCENARIO)))
    if until_s is not None:
        end_unix_s = feed.start_unix_s + until_s
        feed = replace(feed, scans=takewhile(lambda scan: scan.t < end_unix_s, feed.scans))
    recorder = _Recorder(make_policy("zone", load_areas(), None))
    run(feed, policy=recorder)
    path.write_bytes(pickle.dumps(recorder.steps, protocol=pickle.HIGHEST_PROTOCOL))
    return len(recorder.steps)


def worker(path: Path) -> int:
    """One side of the replay: the lifecycle of whichever ``redcolor`` is on the path, one
    step per line read from stdin; writes the step's apply and encode ms, checkpoint bytes,
    event count and the events' digest."""
    steps = pickle.loads(path.read_bytes())
    shelter_s = {a.id: a.shelter_s for a in load_areas().areas}
    state = initial_state(LifecycleConfig(shelter_s, DEFAULT_HOLD_S, "bench"))
    seq = 0
    print("ready", flush=True)
    for decisions, now_unix_s in steps:
        if not sys.stdin.readline():
            break
        t0 = time.perf_counter()
        state, events = apply(state, decisions, now_unix_s)
        t1 = time.perf_counter()
        stored = [msgspec.structs.replace(e, seq=seq + 1 + i) for i, e in enumerate(events)]
        seq += len(stored)
        state = record_stored(state, stored)
        t2 = time.perf_counter()
        body = encode(state, Clock())
        t3 = time.perf_counter()
        digest = hashlib.sha256(msgspec.msgpack.encode(stored)).hexdigest()[:16]
        apply_ms, encode_ms = (t1 - t0) * 1e3, (t3 - t2) * 1e3
        print(f"{apply_ms:.4f} {encode_ms:.4f} {len(body)} {len(stored)} {digest}", flush=True)
    return 0


def replay(path: Path, n_steps: int, baseline: Path | None, bar: Progress) -> dict:
    """Replay the recorded steps in each tree, interleaved; per side, the columns per step."""
    srcs = {"new": HERE.parent / "src"}
    if baseline is not None:
        srcs["baseline"] = baseline
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path)]
    procs = {
        k: subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
        for k, src in srcs.items()
    }
    for p in procs.values():
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    rows: dict[str, list[list[str]]] = {k: [] for k in procs}
    task = bar.add_task("lifecycle replay", total=n_steps)
    for i in range(n_steps):
        for k in list(procs) if i % 2 == 0 else list(procs)[::-1]:
            p = procs[k]
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("step\n")
            p.stdin.flush()
            rows[k].append(p.stdout.readline().split())
        bar.update(task, advance=1)
    for p in procs.values():
        assert p.stdin is not None
        p.stdin.close()
        p.wait()
    return rows


def summarise(rows: dict[str, list[list[str]]], n_steps: int) -> dict:
    res: dict[str, object] = {"scenario": SCENARIO, "policy": "zone", "steps": n_steps}
    for k, side in rows.items():
        apply_ms = [float(r[0]) for r in side]
        encode_ms = [float(r[1]) for r in side]
        res[k] = {
            "apply_ms_median": round(statistics.median(apply_ms), 3),
            "apply_s_total": round(sum(apply_ms) / 1e3, 2),
            "encode_ms_median": round(statistics.median(encode_ms), 3),
            "encode_s_total": round(sum(encode_ms) / 1e3, 2),
            "checkpoint_kb_median": round(statistics.median(int(r[2]) for r in side) / 1e3, 1),
            "events": sum(int(r[3]) for r in side),
        }
    if "baseline" in rows:
        new, base = res["new"], res["baseline"]
        assert isinstance(new, dict) and isinstance(base, dict)
        for part in ("apply", "encode"):
            res[f"{part}_ratio_median"] = round(
                base[f"{part}_ms_median"] / new[f"{part}_ms_median"], 2
            )
            res[f"{part}_ratio_total"] = round(base[f"{part}_s_total"] / new[f"{part}_s_total"], 2)
        same = sum(a[3:] == b[3:] for a, b in zip(rows["new"], rows["baseline"], strict=True))
        res["steps_with_the_same_events"] = same
    res["load_average_1min"] = round(os.getloadavg()[0], 2)
    return res


def render(console: Console, res: dict) -> None:
    table = Table(title=f"{SCENARIO}, zone policy: {res['steps']} steps", title_justify="left")
    sides = [k for k in ("new", "baseline") if k in res]
    for col in ("part", *sides, *(["baseline / new"] if len(sides) == 2 else [])):
        table.add_column(col, justify="left" if col == "part" else "right")
    rows = (("ms a step, median", "ms_median", "median", "{:.2f}"),
            ("s in all", "s_total", "total", "{:.1f}"))  # fmt: skip
    for part in ("apply", "encode"):
        for label, key, ratio_key, fmt in rows:
            cells = [fmt.format(res[k][f"{part}_{key}"]) for k in sides]
            if len(sides) == 2:
                cells.append(f"{res[f'{part}_ratio_{ratio_key}']:.2f}")
            table.add_row(f"{part}: {label}", *cells)
    console.print(table)
    if "steps_with_the_same_events" in res:
        console.print(f"the same events at {res['steps_with_the_same_events']} of {res['steps']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="SRC",
        help="also replay in this source tree, interleaved (an older src)",
    )
    ap.add_argument(
        "--until-s",
        type=float,
        default=0.0,
        help="record only the scans this many seconds from the start (0: all)",
    )
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        return worker(args.worker)
    until = None if args.until_s <= 0 else args.until_s
    console = Console(stderr=args.json)
    with tempfile.TemporaryDirectory() as tmp, Progress(console=Console(stderr=True)) as bar:
        path = Path(tmp) / "steps.pickle"
        task = bar.add_task(f"recording {SCENARIO} (zone policy)", total=None)
        n_steps = record(until, path)
        bar.update(task, total=1, completed=1)
        res = summarise(replay(path, n_steps, args.baseline, bar), n_steps)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        render(console, res)
        console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
