"""Scoring tracking and prediction against ground truth.

Per scan, the confirmed tracks are assigned to the projectiles then in flight (linear
assignment; a pair counts when closer than ``c_m`` or than ``MATCH_SIGMAS`` times the track's
own position uncertainty, so a ballistic missile tracked at 1,000 km with a kilometre of
angle noise still matches). From that:

* a track's *label* is the projectile it was most often assigned to; a confirmed track whose
  label is "none" (clutter, or a duplicate of a tracked projectile) is a **false track**;
* **confirmation time**: launch to the first scan a confirmed track is assigned to the projectile;
* **impact-point error after k s of tracking**: distance from the true impact of the prediction
  made at the last scan within ``k`` seconds of the track's first plot (only while the
  projectile is still in flight and the track has tracked it for at least ``k - 1`` s);
* **coverage_99**: fraction of the fresh ballistic predictions (made at the scan, of a track
  assigned to a projectile) whose 99% region holds the true impact, averaged per projectile;
  **coverage_50** the same for the 50% region (near 0.5 when the region is not over-wide);
* **GOSPA** (p = 2, alpha = 2, ``c_m``) per scan between in-flight projectiles and tracks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from redcolor.eval.gospa import gospa
from redcolor.geo.frame import LocalFrame
from redcolor.prediction.impact import PredictionSettings
from redcolor.prediction.runner import ScanOutput, TrackPredict, drive
from redcolor.sim.run import SimulationResult
from redcolor.tracking.tracker import TrackerSettings

F64 = NDArray[np.float64]
CHI2_2DOF_99 = 9.210340371976182
CHI2_2DOF_50 = 1.3862943611198906
IPP_AGES_S = (5, 10, 20)
MATCH_SIGMAS = 3.0


class GroundTruth(Protocol):
    """What scoring needs from a simulation's truth (N projectiles), in the tracker's frame."""

    @property
    def kinds(self) -> list[str]: ...
    @property
    def launch_t_unix_s(self) -> F64: ...
    @property
    def impact_lat(self) -> F64: ...
    @property
    def impact_lon(self) -> F64: ...

    def __len__(self) -> int: ...

    def positions_at(self, t_unix_s: float) -> tuple[NDArray[np.int64], F64]:
        """Projectiles in flight at ``t_unix_s``: indices (K,) and positions (K, 3) in the
        tracker's common ENU frame."""
        ...


class SimTruth:
    """:class:`GroundTruth` of a :class:`redcolor.sim.run.SimulationResult`, re-expressed in
    the tracker's frame (through geodetic coordinates, so the two frames may differ)."""

    def __init__(self, sim: SimulationResult, frame: LocalFrame) -> None:
        self.sim = sim
        self.frame = frame
        recs = sim.truth
        self.index = {r.id: i for i, r in enumerate(recs)}
        self.kinds = [r.kind for r in recs]
        self.launch_t_unix_s = np.array([r.launch.t for r in recs])
        self.impact_lat = np.array([r.impact.lat for r in recs])
        self.impact_lon = np.array([r.impact.lon for r in recs])

    def __len__(self) -> int:
        return len(self.kinds)

    def positions_at(self, t_unix_s: float) -> tuple[NDArray[np.int64], F64]:
        state = self.sim.truth_at(t_unix_s)
        idx = np.array([self.index[i] for i in state.ids], dtype=np.int64)
        p = state.pos_enu_m
        lat, lon, alt = self.sim.frame.geodetic_from_enu(p[:, 0], p[:, 1], p[:, 2])
        pos = np.stack(self.frame.enu_from_geodetic(lat, lon, alt), axis=1).reshape(-1, 3)
        return idx, pos


@dataclass
class TrackingReport:
    """The scores of one run (``--json`` keys of ``redcolor track``)."""

    scenario: str
    projectiles: int
    projectiles_confirmed: int
    tracks_confirmed: int
    false_tracks: int
    median_confirm_s: float | None
    ipp_error_m: dict[str, float | None]
    coverage_99: float | None
    coverage_50: float | None
    gospa_mean: float | None
    scans: int
    rejected: dict[str, int]
    ipp_curve: list[tuple[float, float, int]] = field(default_factory=list)
    gospa_series: list[tuple[float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict; the per-second curves are summarised, not dumped."""
        return {
            "scenario": self.scenario,
            "projectiles": self.projectiles,
            "projectiles_confirmed": self.projectiles_confirmed,
            "tracks_confirmed": self.tracks_confirmed,
            "false_tracks": self.false_tracks,
            "median_confirm_s": self.median_confirm_s,
            "ipp_error_m": self.ipp_error_m,
            "coverage_99": self.coverage_99,
            "coverage_50": self.coverage_50,
            "gospa_mean": self.gospa_mean,
            "scans": self.scans,
            "rejected": self.rejected,
        }


def _median(values: Iterable[float]) -> float | None:
    v = list(values)
    return float(np.median(v)) if v else None


class Scorer:
    """Accumulates scores over the outputs of a run (feed it every :class:`ScanOutput`)."""

    def __init__(self, truth: GroundTruth, c_m: float = 500.0) -> None:
        self.truth = truth
        self.c_m = c_m
        self._votes: dict[str, Counter[int]] = defaultdict(Counter)
        self._confirm_t: dict[int, float] = {}
        self._ipp: dict[int, dict[int, float]] = defaultdict(dict)
        self._curve: dict[int, list[float]] = defaultdict(list)
        self._cover: dict[int, list[float]] = defaultdict(list)
        self._gospa: list[tuple[float, float]] = []
        self.scans = 0

    def add(self, out: ScanOutput) -> None:
        """Score one scan's output."""
        self.scans += 1
        t = out.t_unix_s
        alive, truth_pos = self.truth.positions_at(t)
        snap = out.tracks
        if alive.size or len(snap):
            self._gospa.append((t, gospa(truth_pos, snap.x[:, 0:3], self.c_m).distance))
        match = np.full(len(snap), -1, dtype=np.int64)
        if alive.size and len(snap):
            d = cdist(snap.x[:, 0:3], truth_pos)
            sigma = np.sqrt(np.trace(snap.P[:, 0:3, 0:3], axis1=1, axis2=2))
            cut = np.maximum(self.c_m, MATCH_SIGMAS * sigma)[:, None]
            r, c = linear_sum_assignment(np.minimum(d / cut, 1.0))
            ok = d[r, c] < cut[r, 0]
            match[r[ok]] = alive[c[ok]]
        preds = {p.track_id: p for p in out.predictions if p.t_unix_s == t}
        for k, tid in enumerate(snap.ids):
            j = int(match[k])
            self._votes[str(tid)][j] += 1
            if j < 0:
                continue
            self._confirm_t.setdefault(j, t - float(self.truth.launch_t_unix_s[j]))
            p = preds.get(str(tid))
            if p is None or p.kind != "ballistic" or self.truth.kinds[j] == "drone":
                continue
            err = self._error_m(p.impact_lat, p.impact_lon, j)
            age = t - float(snap.first_detection_t_unix_s[k])
            self._curve[int(np.floor(age))].append(err)
            for a in IPP_AGES_S:
                if a - 1.0 <= age <= a:
                    self._ipp[a][j] = err
            self._cover[j].append(
                p.mahalanobis2(self.truth.impact_lat[j], self.truth.impact_lon[j])
            )

    def _error_m(self, lat: float, lon: float, j: int) -> float:
        x, y = LocalFrame(lat, lon).project(self.truth.impact_lat[j], self.truth.impact_lon[j])
        return float(np.hypot(x, y))

    def report(self, scenario: str, rejected: dict[str, int]) -> TrackingReport:
        """The scores so far."""
        labels = {tid: v.most_common(1)[0][0] for tid, v in self._votes.items()}
        d2 = [np.asarray(v) for v in self._cover.values() if v]
        cover99 = [float(np.mean(v <= CHI2_2DOF_99)) for v in d2]
        cover50 = [float(np.mean(v <= CHI2_2DOF_50)) for v in d2]
        return TrackingReport(
            scenario=scenario,
            projectiles=len(self.truth),
            projectiles_confirmed=len(self._confirm_t),
            tracks_confirmed=len(labels),
            false_tracks=sum(1 for j in labels.values() if j < 0),
            median_confirm_s=_median(self._confirm_t.values()),
            ipp_error_m={str(a): _median(self._ipp[a].values()) for a in IPP_AGES_S},
            coverage_99=float(np.mean(cover99)) if cover99 else None,
            coverage_50=float(np.mean(cover50)) if cover50 else None,
            gospa_mean=float(np.mean([g for _, g in self._gospa])) if self._gospa else None,
            scans=self.scans,
            rejected=dict(rejected),
            ipp_curve=[
                (float(a), float(np.median(v)), len(v)) for a, v in sorted(self._curve.items())
            ],
            gospa_series=self._gospa,
        )


def track_simulation(
    sim: SimulationResult,
    *,
    progress: bool = True,
    tracker_settings: TrackerSettings | None = None,
    prediction_settings: PredictionSettings | None = None,
) -> TrackingReport:
    """Run tracking and prediction over a simulated scenario and score it."""
    core = TrackPredict(
        sim.registrations,
        ground_alt_m=sim.scenario.ground_alt_m,
        tracker_settings=tracker_settings,
        prediction_settings=prediction_settings,
    )
    scorer = Scorer(SimTruth(sim, core.setup.frame))
    for out in drive(core, sim.scans, total=sim.scan_count(), progress=progress,
                     label=sim.scenario.name):  # fmt: skip
        scorer.add(out)
    return scorer.report(sim.scenario.name, dict(core.tracker.rejected))
