"""Issue 12: what the wire does to the in-process pipeline, without a socket.

Each scenario's scans are sent through the wire's own encoder and decoder, socket-free: the
emitter's datagrams (:func:`redcolor.sim.emit.scan_datagrams`: north marker, CAT048 plots,
sector crossing, on the clock shifted by ``--offset-s``) into the live core's
:class:`~redcolor.sensors.ingest.Ingest`, whose scans are shifted back to the scenario clock.
The in-process pipeline (:func:`redcolor.pipeline.run_lanes`, ``predicted`` policy, the
scenario's ground altitude) then runs on scans that take from the round trip only the fields
named by a variant, the rest from the simulator's own plots:

* ``plain``: none (this must reproduce ``redcolor simulate``, the control);
* one ASTERIX quantiser at a time: ``range`` (I048/040 RHO, 1/256 NM), ``azimuth`` (THETA,
  2^-16 turn), ``elevation`` (from the I048/110 height, 25 ft, and the quantised range),
  ``range_rate`` (I048/120 CAL, 1 m/s), ``time`` (I048/140, 1/128 s);
* ``wire``: all of them (what ``serve --sensors --asterix`` tracks).

Per variant: missed, late and the warned-area set (scored as ``simulate`` scores, against the
scenario's truth), and the Jaccard index and symmetric difference against ``plain``. With
``--tracks``, ``plain`` and ``wire`` are also tracked side by side scan by scan
(:class:`~redcolor.prediction.TrackPredict`): for every track both predicted afresh at the
same scan, the distance between the two predicted impact points, in metres and in the plain
prediction's 1-sigma (the square root of the larger eigenvalue of its east/north covariance).

    PYTHONPATH=src python scripts/wire_roundtrip.py [--scenario NAME ...] [--tracks] [--json]

Results also go to ``bench/results/wire_roundtrip.json``, merged by scenario with what it holds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from redcolor.eval.compare import true_impacts
from redcolor.eval.score import score_events
from redcolor.geo import AreaIndex, load_areas
from redcolor.model import Plot, Scan
from redcolor.pipeline import Feed, run_lanes
from redcolor.prediction import ImpactPrediction, TrackPredict
from redcolor.sensors.ingest import Ingest
from redcolor.sim.emit import registry_of, scan_datagrams
from redcolor.sim.run import SimulationResult, simulate
from redcolor.sim.scenario import builtin_names, load_scenario
from redcolor.warning.base import PredictionLike, ThreatDecision
from redcolor.warning.policies import PredictedPolicy

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "wire_roundtrip.json"
POLICY = "predicted"
QUANTISERS = ("range", "azimuth", "elevation", "range_rate", "time")
VARIANTS: dict[str, tuple[str, ...]] = {
    "plain": (),
    **{q: (q,) for q in QUANTISERS},
    "wire": QUANTISERS,
}
SOURCE_IP = "127.0.0.1"  # one of registry_of's default sources
EARTH_M_PER_DEG = 6_371_000.0 * math.pi / 180.0
SAME_TRACK_S = 0.1
"""Two tracks of one id are the same object when first detected this close in time (the
round trip moves scan times by at most half of I048/140's 1/128 s)."""


def wire_pairs(sim: SimulationResult, offset_s: float) -> list[tuple[Scan, Scan]]:
    """Each scan of ``sim`` with what the live core's ingest makes of its datagrams (times
    back on the scenario clock), in order; the ingest must keep every plot, in order."""
    registry = registry_of(sim)
    ingest = Ingest(registry)
    pairs: list[tuple[Scan, Scan]] = []
    for scan in sim.scans:
        cfg = registry.by_id(scan.sensor)
        assert cfg is not None
        t_wire = scan.t + offset_s
        got = []
        for data in scan_datagrams(cfg, t_wire, scan.plots):
            got += ingest.datagram(data, SOURCE_IP, t_wire, time.monotonic())
        if len(got) != 1 or len(got[0].scan.plots) != len(scan.plots):
            raise RuntimeError(f"{scan.sensor} at {scan.t}: the ingest did not return the scan")
        wire = got[0].scan
        pairs.append((scan, Scan(wire.sensor, wire.t - offset_s, wire.plots)))
    return pairs


def mixed(plain: Scan, wire: Scan, fields: Sequence[str]) -> Scan:
    """``plain`` with the round-tripped values of ``fields`` (module docstring) from ``wire``."""
    if not fields:
        return plain
    take = set(fields)
    plots = [
        Plot(
            r=w.r if "range" in take else p.r,
            az=w.az if "azimuth" in take else p.az,
            el=w.el if "elevation" in take else p.el,
            rr=w.rr if "range_rate" in take else p.rr,
        )
        for p, w in zip(plain.plots, wire.plots, strict=True)
    ]
    return Scan(plain.sensor, wire.t if "time" in take else plain.t, plots)


class RecordingPolicy(PredictedPolicy):
    """The ``predicted`` policy, noting per area the decisions (track, scan time) that named
    it and per track how many decisions it had."""

    def __init__(self, index: AreaIndex) -> None:
        super().__init__(index)
        self.named: dict[int, list[tuple[str, float]]] = {}
        self.decisions: Counter[str] = Counter()
        self.first: dict[str, float] = {}

    def decide(
        self, predictions: Sequence[PredictionLike], now_unix_s: float
    ) -> list[ThreatDecision]:
        out = super().decide(predictions, now_unix_s)
        for d in out:
            self.decisions[d.threat_id] += 1
            self.first.setdefault(d.threat_id, d.t_unix_s)
            for a in d.area_ids.tolist():
                self.named.setdefault(a, []).append((d.threat_id, d.t_unix_s))
        return out

    def why(self, area: int, t0_unix_s: float) -> str:
        """Which decisions named ``area``, per track: "T12 3/140 at +41.0..+43.0 s": k of
        the track's n decisions, between those scenario times, with "(from its first
        decision)" when the track's first decision was among them."""
        by: dict[str, list[float]] = {}
        for tid, t in self.named.get(area, []):
            by.setdefault(tid, []).append(t)
        return ", ".join(
            f"{tid} {len(ts)}/{self.decisions[tid]} at +{min(ts) - t0_unix_s:.1f}.."
            f"+{max(ts) - t0_unix_s:.1f} s"
            + (" (from its first decision)" if min(ts) == self.first[tid] else "")
            for tid, ts in sorted(by.items())
        )


@dataclass
class Variant:
    """One variant's figures; ``only_plain`` / ``only_here`` the symmetric difference."""

    missed: int
    late: int
    warned: int
    areas: list[int]
    jaccard: float
    only_plain: list[int]
    only_here: list[int]
    needed: list[int]
    """Of the differing areas, those that truly needed a warning."""
    why: dict[str, str]
    """Per differing area, the decisions that named it in the run that warned it (``track
    k/n at +t..+t s``: k of the track's n decisions named it, between those scenario times)."""


def _jaccard(a: set[int], b: set[int]) -> float:
    return 1.0 if not (a | b) else len(a & b) / len(a | b)


def run_variant(
    sim: SimulationResult,
    scans: list[Scan],
    index: AreaIndex,
    plain: tuple[set[int], RecordingPolicy] | None,
) -> tuple[Variant, RecordingPolicy]:
    """The ``predicted`` lane on ``scans``, scored against ``sim``'s truth and compared with
    ``plain`` (its warned areas and policy; None: this is plain)."""
    feed = Feed(
        sim.scenario.name,
        sim.registrations,
        scans,
        sim.start_unix_s,
        ground_alt_m=sim.scenario.ground_alt_m,
        total=len(scans),
    )
    policy = RecordingPolicy(index)
    run = run_lanes(feed, [policy], index=index)
    score = score_events(run.lanes[POLICY].events, true_impacts(sim), index)
    areas = set(score.warned)
    ref, ref_policy = (areas, policy) if plain is None else plain
    t0 = sim.start_unix_s
    why = {str(a): ref_policy.why(a, t0) for a in sorted(ref - areas)}
    why |= {str(a): policy.why(a, t0) for a in sorted(areas - ref)}
    variant = Variant(
        len(score.missed),
        len(score.late),
        len(areas),
        sorted(areas),
        round(_jaccard(ref, areas), 4),
        sorted(ref - areas),
        sorted(areas - ref),
        sorted((ref ^ areas) & score.needed),
        why,
    )
    return variant, policy


@dataclass
class TrackShift:
    """Plain vs wire predictions made at the same scan for the same track."""

    compared: int = 0
    other_object: int = 0
    """Predictions left out: the same id, but first detected at another time (the two runs
    numbered their tracks differently from some point on)."""
    max_shift_m: float = 0.0
    max_shift_sigma: float = 0.0
    median_shift_sigma: float | None = None
    p99_shift_sigma: float | None = None
    max_impact_t_shift_s: float = 0.0
    worst: dict[str, float | str] = field(default_factory=dict)


def _fresh(preds: Sequence[ImpactPrediction], t: float) -> dict[str, ImpactPrediction]:
    return {p.track_id: p for p in preds if p.t_unix_s == t}


def track_shift(sim: SimulationResult, pairs: list[tuple[Scan, Scan]]) -> TrackShift:
    """Track ``plain`` and ``wire`` in lockstep and compare their fresh predictions."""
    ground = sim.scenario.ground_alt_m
    cores = [TrackPredict(sim.registrations, ground_alt_m=ground) for _ in range(2)]
    sigmas: list[float] = []
    out = TrackShift()
    for plain, wire in pairs:
        a, b = cores[0].step(plain), cores[1].step(mixed(plain, wire, QUANTISERS))
        fa, fb = _fresh(a.predictions, a.t_unix_s), _fresh(b.predictions, b.t_unix_s)
        for tid in fa.keys() & fb.keys():
            p, q = fa[tid], fb[tid]
            if abs(p.first_detection_t_unix_s - q.first_detection_t_unix_s) > SAME_TRACK_S:
                out.other_object += 1  # the id went to another object in one of the runs
                continue
            de = (
                (q.impact_lon - p.impact_lon)
                * EARTH_M_PER_DEG
                * math.cos(math.radians(p.impact_lat))
            )
            dn = (q.impact_lat - p.impact_lat) * EARTH_M_PER_DEG
            shift_m = math.hypot(de, dn)
            sigma_m = math.sqrt(max(float(np.linalg.eigvalsh(p.cov_en_m2)[-1]), 1e-12))
            s = shift_m / sigma_m
            sigmas.append(s)
            out.max_impact_t_shift_s = max(
                out.max_impact_t_shift_s, abs(q.impact_t_unix_s - p.impact_t_unix_s)
            )
            if shift_m > out.max_shift_m:
                out.max_shift_m = shift_m
                out.worst = {"track": tid, "t_s": round(p.t_unix_s - sim.start_unix_s, 2),
                             "kind": p.kind, "shift_m": round(shift_m, 1),
                             "sigma_m": round(sigma_m, 1)}  # fmt: skip
            out.max_shift_sigma = max(out.max_shift_sigma, s)
    out.compared = len(sigmas)
    if sigmas:
        out.median_shift_sigma = round(float(np.median(sigmas)), 4)
        out.p99_shift_sigma = round(float(np.percentile(sigmas, 99)), 4)
    out.max_shift_m = round(out.max_shift_m, 1)
    out.max_shift_sigma = round(out.max_shift_sigma, 3)
    out.max_impact_t_shift_s = round(out.max_impact_t_shift_s, 3)
    return out


def quantisation_error(sim: SimulationResult, pairs: list[tuple[Scan, Scan]]) -> dict[str, float]:
    """Per field, the RMS of (round-tripped - plain) over every plot, as a fraction of the
    radar's own noise sigma (``time``: the RMS scan-time shift in ms); the variance the wire
    adds to a plot is this squared."""
    reg = {r.id: r for r in sim.registrations}
    sq: dict[str, list[float]] = {q: [] for q in QUANTISERS}
    for plain, wire in pairs:
        r = reg[plain.sensor]
        angle = r.angle_sigma_mrad * 1e-3
        sq["time"].append(((wire.t - plain.t) * 1e3) ** 2)
        for p, w in zip(plain.plots, wire.plots, strict=True):
            sq["range"].append(((w.r - p.r) / r.range_sigma_m) ** 2)
            daz = (w.az - p.az + math.pi) % (2.0 * math.pi) - math.pi
            sq["azimuth"].append((daz / angle) ** 2)
            sq["elevation"].append(((w.el - p.el) / angle) ** 2)
            if p.rr is not None and w.rr is not None and r.range_rate_sigma_m_s:
                sq["range_rate"].append(((w.rr - p.rr) / r.range_rate_sigma_m_s) ** 2)
    return {q: round(math.sqrt(float(np.mean(v))), 4) if v else math.nan for q, v in sq.items()}


@dataclass
class Study:
    """One scenario: every variant, and (``--tracks``) the per-track shift."""

    scenario: str
    offset_s: float
    variants: dict[str, Variant]
    quantisation_rms_over_sigma: dict[str, float]
    """:func:`quantisation_error`."""
    tracks: TrackShift | None
    wall_s: float


def study(
    name: str, index: AreaIndex, offset_s: float, variants: Sequence[str], tracks: bool
) -> Study:
    """Run ``variants`` (``plain`` always first) of scenario ``name``."""
    began = time.monotonic()
    sim = simulate(load_scenario(name))
    pairs = wire_pairs(sim, offset_s)
    plain, policy = run_variant(sim, [p for p, _ in pairs], index, None)
    out = {"plain": plain}
    for v in variants:
        if v != "plain":
            scans = [mixed(p, w, VARIANTS[v]) for p, w in pairs]
            out[v], _ = run_variant(sim, scans, index, (set(plain.areas), policy))
    shift = track_shift(sim, pairs) if tracks else None
    quant = quantisation_error(sim, pairs)
    return Study(name, offset_s, out, quant, shift, round(time.monotonic() - began, 1))


def _table(studies: list[Study], console: Console) -> None:
    table = Table(
        title=f"in process on ASTERIX-round-tripped scans, policy {POLICY}: missed/late/warned, "
        "Jaccard vs plain, areas only plain (-) / only this variant (+)",
        title_justify="left",
    )
    for col in ("scenario", "variant", "missed", "late", "warned", "Jaccard", "differ"):
        table.add_column(col, justify="left" if col in ("scenario", "variant", "differ")
                         else "right")  # fmt: skip
    for s in studies:
        for v, fig in s.variants.items():
            differ = " ".join([f"-{a}" for a in fig.only_plain] + [f"+{a}" for a in fig.only_here])
            table.add_row(s.scenario, v, str(fig.missed), str(fig.late), str(fig.warned),
                          f"{fig.jaccard:.3f}", differ)  # fmt: skip
        console.print(
            f"{s.scenario}: round-trip RMS / noise sigma {s.quantisation_rms_over_sigma}"
            " (time: RMS ms)"
        )
        if s.tracks is not None:
            t = s.tracks
            console.print(
                f"{s.scenario}: {t.compared} fresh predictions compared ({t.other_object} of "
                "another object under the same id left out); impact point shift "
                f"max {t.max_shift_m} m ({t.max_shift_sigma} sigma), median "
                f"{t.median_shift_sigma} sigma, p99 {t.p99_shift_sigma} sigma; impact time "
                f"max {t.max_impact_t_shift_s} s; worst {t.worst}"
            )
    console.print(table)
    for s in studies:
        for v, fig in s.variants.items():
            for area, why in fig.why.items():
                side = "plain" if int(area) in fig.only_plain else v
                need = "needed" if int(area) in fig.needed else "not needed"
                console.print(f"{s.scenario} {v}: area {area} ({need}) warned by {side}: {why}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="Only this scenario (repeatable).")
    parser.add_argument(
        "--variant", action="append", choices=list(VARIANTS), help="Only this variant (and plain)."
    )
    parser.add_argument(
        "--offset-s", type=float, default=0.0,
        help="Shift of the wire clock from the scenario's (its fraction moves the 1/128 s "
        "time rounding).",
    )  # fmt: skip
    parser.add_argument("--tracks", action="store_true", help="Compare per-track predictions.")
    parser.add_argument("--json", action="store_true", help="Print JSON for machines.")
    args = parser.parse_args(argv)
    names = args.scenario or builtin_names()
    unknown = sorted(set(names) - set(builtin_names()))
    if unknown:
        print(f"wire_roundtrip: error: unknown scenario {unknown[0]!r}", file=sys.stderr)
        return 2
    console = Console(stderr=args.json)
    index = load_areas()
    studies = []
    for name in names:
        studies.append(study(name, index, args.offset_s, args.variant or list(VARIANTS),
                             args.tracks))  # fmt: skip
        console.print(f"{name}: done in {studies[-1].wall_s} s", style="dim")
    doc = {"policy": POLICY, "studies": [asdict(s) for s in studies]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(RESULTS.read_text())["studies"] if RESULTS.exists() else []
    by_name = {s["scenario"]: s for s in old} | {s["scenario"]: s for s in doc["studies"]}
    order = builtin_names()
    merged = sorted(by_name.values(), key=lambda s: order.index(s["scenario"]))
    RESULTS.write_text(json.dumps({"policy": POLICY, "studies": merged}, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _table(studies, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
