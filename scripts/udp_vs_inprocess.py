"""Issue 12 acceptance: every built-in scenario in process and over the wire, side by side.

Per scenario, two runs of the ``predicted`` policy through the real CLI:

(a) in process: ``redcolor simulate NAME --policy predicted --json --db A.db``;
(b) over the wire: ``redcolor sim sensors NAME`` > ``sensors.toml``; ``redcolor serve --db B.db
    --sensors sensors.toml --asterix udp://127.0.0.1:PORT --host 127.0.0.1 --port HTTP
    --ground-alt-m G`` (G the scenario's flat terrain, on which ``simulate`` lands its tracks;
    the live core's default is 0 m), a subprocess, waited for until its HTTP port answers;
    ``redcolor sim emit NAME --to udp://127.0.0.1:PORT --truth-out DIR --json`` at speed 1
    (real time; its worst lateness behind the scenario's pace is kept as ``emit_max_late_s``);
    ``--grace-s`` for the last
    scans to be decided; the server stopped (SIGINT, as an operator's Ctrl-C); then ``redcolor
    score --db B.db --truth DIR --json``.

Compared: ``missed``, ``late`` and ``warned`` from the two score documents, and the warned-area
sets. Neither ``simulate --json`` nor ``score --json`` lists area ids, so the sets are read from
the two stores: an area is warned when a warning interval covers it
(:func:`redcolor.eval.score.warning_intervals`, the definition the scores use). Overlap is the
Jaccard index |A & B| / |A | B| (1 when both are empty).

Acceptance (issue 12): the same missed and late, and the warned-area sets within 10 %, taken here
as a Jaccard index of at least 0.9 (at most 10 % of the areas warned by either run are warned
by only one).

    PYTHONPATH=src python scripts/udp_vs_inprocess.py [-j 2] [--scenario NAME ...] [--json]

Results also go to ``bench/results/udp_vs_inprocess.json``, merged by scenario with what it
holds. Each (b) run takes the scenario's
own duration (drones-galilee about 22 min); ``-j`` runs that many scenarios at once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from redcolor.alerts.store import SQLiteEventStore
from redcolor.eval.score import warning_intervals
from redcolor.sim.scenario import builtin_names, load_scenario

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "udp_vs_inprocess.json"
POLICY = "predicted"
ROUNDTRIP = RESULTS.parent / "wire_roundtrip.json"
"""What ``scripts/wire_roundtrip.py`` saved (for ``--markdown``)."""
JACCARD_MIN = 0.9
"""The acceptance's "warned-area set within 10 %" (module docstring)."""
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 30.0
REDCOLOR = [sys.executable, "-c", "from redcolor.cli.main import run; run()"]


@dataclass
class Side:
    """One run's figures."""

    missed: int
    late: int
    warned: int
    areas: list[int]


@dataclass
class Outcome:
    """One scenario compared; ``error`` a one-line reason when a step failed."""

    scenario: str
    inprocess: Side | None = None
    wire: Side | None = None
    jaccard: float | None = None
    passed: bool = False
    wall_s: float = 0.0
    emit_max_late_s: float | None = None
    load_avg: list[float] | None = None
    """The 1, 5 and 15 min load averages when the comparison ended (the machine is shared)."""
    error: str | None = None


class StepError(Exception):
    """A CLI step failed: its one-line reason."""


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(args: list[str], *, timeout_s: float | None = None) -> str:
    done = subprocess.run(
        [*REDCOLOR, *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise StepError(f"redcolor {args[0]} {args[1]}: exit {done.returncode}: {last}")
    return done.stdout


def _warned_areas(db: Path) -> list[int]:
    store = SQLiteEventStore(db, readonly=True)
    try:
        return sorted(warning_intervals(list(store.iter_all())))
    finally:
        store.close()


def _side(doc: dict[str, Any], db: Path) -> Side:
    fig = doc["policies"][POLICY]
    return Side(int(fig["missed"]), int(fig["late"]), int(fig["warned"]), _warned_areas(db))


def _wait_http(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepError(f"redcolor serve exited {server.returncode} before answering")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2.0):
                return
        except urllib.error.HTTPError:
            return  # it answered (a degraded /health is still an answer)
        except OSError:
            time.sleep(0.2)
    raise StepError(f"redcolor serve did not answer within {SERVER_START_TIMEOUT_S:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise StepError("redcolor serve did not stop on SIGINT") from None


def _inprocess(name: str, work: Path) -> Side:
    db = work / "inprocess.db"
    doc = json.loads(_cli(["simulate", name, "--policy", POLICY, "--json", "--db", str(db)]))
    return _side(doc, db)


def _wire(name: str, work: Path, grace_s: float, phase: Any, outcome: Outcome) -> Side:
    registry = work / "sensors.toml"
    registry.write_text(_cli(["sim", "sensors", name]))
    db, truth, log = work / "wire.db", work / "truth", work / "serve.log"
    udp, http = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    phase("starting serve")
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                *REDCOLOR,
                "serve",
                "--db",
                str(db),
                "--sensors",
                str(registry),
                "--asterix",
                f"udp://127.0.0.1:{udp}",
                "--host",
                "127.0.0.1",
                "--port",
                str(http),
                "--ground-alt-m",
                str(load_scenario(name).ground_alt_m),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_http(http, server)
            phase("emitting (real time)")
            to = f"udp://127.0.0.1:{udp}"
            sent = json.loads(
                _cli(["sim", "emit", name, "--to", to, "--truth-out", str(truth), "--json"])
            )
            outcome.emit_max_late_s = round(float(sent["max_late_s"]), 3)
            phase("grace")
            time.sleep(grace_s)
        finally:
            _stop(server)
    if server.returncode not in (0, 130, -signal.SIGINT):
        tail = (log.read_text(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        raise StepError(f"redcolor serve exited {server.returncode}: {tail}")
    phase("scoring")
    doc = json.loads(_cli(["score", "--db", str(db), "--truth", str(truth), "--json"]))
    return _side(doc, db)


def _jaccard(a: list[int], b: list[int]) -> float:
    union = set(a) | set(b)
    return 1.0 if not union else len(set(a) & set(b)) / len(union)


def compare(name: str, root: Path, grace_s: float, phase: Any) -> Outcome:
    """Run ``name`` both ways under ``root`` and compare (module docstring)."""
    outcome = Outcome(name)
    began = time.monotonic()
    work = root / name
    work.mkdir(parents=True, exist_ok=True)
    try:
        phase("in process")
        outcome.inprocess = a = _inprocess(name, work)
        outcome.wire = b = _wire(name, work, grace_s, phase, outcome)
        outcome.jaccard = round(_jaccard(a.areas, b.areas), 4)
        outcome.passed = (
            a.missed == b.missed and a.late == b.late and outcome.jaccard >= JACCARD_MIN
        )
    except (StepError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError) as exc:
        outcome.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    outcome.wall_s = round(time.monotonic() - began, 1)
    outcome.load_avg = [round(x, 2) for x in os.getloadavg()]
    phase("failed" if outcome.error else ("pass" if outcome.passed else "FAIL"))
    return outcome


def _table(outcomes: list[Outcome], console: Console) -> None:
    table = Table(
        title=f"in process (a) vs over UDP (b), policy {POLICY}: same missed and late, "
        f"warned-area Jaccard >= {JACCARD_MIN}",
        title_justify="left",
    )
    for col in ("scenario", "missed a/b", "late a/b", "warned a/b", "areas a/b", "common"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    table.add_column("Jaccard", justify="right")
    table.add_column("result")
    table.add_column("wall s", justify="right")
    for o in outcomes:
        a, b = o.inprocess, o.wire
        if a is None or b is None:
            table.add_row(o.scenario, *["-"] * 6, f"[red]error: {o.error}[/red]", str(o.wall_s))
            continue
        common = len(set(a.areas) & set(b.areas))
        table.add_row(
            o.scenario,
            f"{a.missed}/{b.missed}",
            f"{a.late}/{b.late}",
            f"{a.warned}/{b.warned}",
            f"{len(a.areas)}/{len(b.areas)}",
            str(common),
            f"{o.jaccard:.3f}",
            "[green]pass[/green]" if o.passed else "[red]FAIL[/red]",
            str(o.wall_s),
        )
    console.print(table)


def markdown(doc: dict[str, Any], roundtrip_path: Path) -> str:
    """The saved results ``doc`` as a markdown table; its last column the areas the socket-free
    round trip (``wire`` variant of ``roundtrip_path``) warns beyond or short of in process."""
    trips = {}
    if roundtrip_path.exists():
        for study in json.loads(roundtrip_path.read_text())["studies"]:
            if "wire" in study["variants"]:
                trips[study["scenario"]] = study["variants"]["wire"]
    lines = [
        "| scenario | missed a/b | late a/b | warned a/b | Jaccard | only in process (a) "
        "| only over UDP (b) | round trip, no socket | emit late s | load 1/5/15 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in doc["scenarios"]:
        a, b = row["inprocess"], row["wire"]
        if a is None or b is None:
            lines.append(f"| {row['scenario']} | error: {row['error']} |" + " |" * 8)
            continue
        only_a, only_b = set(a["areas"]) - set(b["areas"]), set(b["areas"]) - set(a["areas"])
        tripped = _tripped(trips.get(row["scenario"]), only_a, only_b)
        load = "/".join(f"{x:g}" for x in row.get("load_avg") or [])
        lines.append(
            f"| {row['scenario']} | {a['missed']}/{b['missed']} | {a['late']}/{b['late']} "
            f"| {a['warned']}/{b['warned']} | {row['jaccard']:.3f} "
            f"| {' '.join(map(str, sorted(only_a))) or '-'} "
            f"| {' '.join(map(str, sorted(only_b))) or '-'} "
            f"| {tripped} | {row.get('emit_max_late_s', '-')} | {load} |"
        )
    return "\n".join(lines)


def _tripped(trip: dict[str, Any] | None, only_a: set[int], only_b: set[int]) -> str:
    """The round trip's differing areas (-only in process, +only round-tripped), and whether
    they are the UDP run's."""
    if trip is None:
        return "-"
    listed = [f"-{x}" for x in trip["only_plain"]] + [f"+{x}" for x in trip["only_here"]]
    same = (set(trip["only_plain"]), set(trip["only_here"])) == (only_a, only_b)
    return (" ".join(listed) or "none") + (" (= UDP)" if same else " (differs from UDP)")


def _merged(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """:data:`RESULTS` with ``rows`` in place of its rows of the same scenarios (so runs of a
    few scenarios at a time add up to the table), in built-in order."""
    old = json.loads(RESULTS.read_text()).get("scenarios", []) if RESULTS.exists() else []
    by_name = {r["scenario"]: r for r in old} | {r["scenario"]: r for r in rows}
    order = builtin_names()
    kept = sorted(by_name.values(), key=lambda r: order.index(r["scenario"]))
    return {
        "policy": POLICY,
        "jaccard_min": JACCARD_MIN,
        "cores": os.cpu_count(),
        "scenarios": kept,
        "all_passed": all(r["passed"] for r in kept),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="Scenarios at once.")
    parser.add_argument(
        "--scenario", action="append", help="Only this scenario (repeatable; default all)."
    )
    parser.add_argument(
        "--grace-s", type=float, default=5.0, help="Wait after the last scan before stopping."
    )
    parser.add_argument("--keep", type=Path, help="Keep the stores, truth and logs here.")
    parser.add_argument("--json", action="store_true", help="Print JSON for machines.")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="Run nothing: print the saved results as a markdown table, with the socket-free "
        "round trip's areas (scripts/wire_roundtrip.py) where saved.",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text()), ROUNDTRIP))
        return 0
    names = args.scenario or builtin_names()
    unknown = sorted(set(names) - set(builtin_names()))
    if unknown or args.jobs < 1:
        reason = f"unknown scenario {unknown[0]!r}" if unknown else "-j must be >= 1"
        print(f"udp_vs_inprocess: error: {reason}", file=sys.stderr)
        return 2
    console = Console(stderr=args.json)
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="udp-vs-inprocess-") as tmp:
        root = args.keep or Path(tmp)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True)) as bar:
            tasks = {n: bar.add_task(n, phase="waiting", start=False) for n in names}

            def job(name: str) -> Outcome:
                def phase(text: str) -> None:
                    with lock:
                        bar.start_task(tasks[name])
                        bar.update(tasks[name], phase=text)
                        if text in ("pass", "FAIL", "failed"):
                            bar.stop_task(tasks[name])

                return compare(name, root, args.grace_s, phase)

            with ThreadPoolExecutor(args.jobs) as pool:
                outcomes = list(pool.map(job, names))
    rows = [asdict(o) | {"jobs": args.jobs} for o in outcomes]
    doc = {
        "policy": POLICY,
        "jaccard_min": JACCARD_MIN,
        "cores": os.cpu_count(),
        "scenarios": rows,
        "all_passed": all(o.passed for o in outcomes),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_merged(rows), indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _table(outcomes, console)
    return 0 if doc["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
