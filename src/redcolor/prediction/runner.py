"""Tracking plus prediction, scan by scan.

:class:`TrackPredict` is the sans-I/O core a live pipeline feeds one scan at a time;
:func:`iter_track_predictions` drives it over a whole recorded or simulated feed with a rich
progress bar. A prediction is recomputed for a newly confirmed track, and for a track a plot
updated in the scan once its last prediction is ``repredict_s`` old (with several radars a
track is updated several times a second; the impact point moves little between them). The
others keep their last prediction, whose ``t_unix_s`` says when it was made. The launch cues
of the scan's young ballistic tracks are found too, their reach flown only for the cues a
consumer asks for (:class:`~redcolor.prediction.launch.LaunchCues`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from redcolor.model import Scan, SensorRegistration
from redcolor.prediction.impact import ImpactPrediction, ImpactPredictor, PredictionSettings
from redcolor.prediction.launch import CueSettings, LaunchCues, launch_cues
from redcolor.tracking.frame import TrackingSetup, build_tracker
from redcolor.tracking.state import TrackSnapshot
from redcolor.tracking.tracker import Tracker, TrackerSettings


@dataclass(frozen=True)
class ScanOutput:
    """What one scan produced: the confirmed tracks after it, every current prediction and the
    launch cues of the young ballistic tracks (tentative ones included)."""

    t_unix_s: float
    scan: Scan
    tracks: TrackSnapshot
    predictions: tuple[ImpactPrediction, ...]
    cues: LaunchCues


class TrackPredict:
    """Tracker and impact predictor wired together; feed scans in time order with :meth:`step`.

    Parameters
    ----------
    registrations : the radars.
    ground_alt_m : flat terrain altitude, m.
    origin : (lat, lon, alt_m) of the common frame; default the mean radar position.
    repredict_s : shortest interval between two predictions of one track (see module doc).
    cue_settings : the launch cues' clutter guard (:mod:`redcolor.prediction.launch`).
    """

    def __init__(
        self,
        registrations: Sequence[SensorRegistration],
        *,
        ground_alt_m: float = 0.0,
        origin: tuple[float, float, float] | None = None,
        tracker_settings: TrackerSettings | None = None,
        prediction_settings: PredictionSettings | None = None,
        repredict_s: float = 0.9,
        cue_settings: CueSettings | None = None,
    ) -> None:
        self.repredict_s = repredict_s
        self.ground_alt_m = ground_alt_m
        self.cue_settings = cue_settings or CueSettings()
        self.setup: TrackingSetup = build_tracker(
            registrations, ground_alt_m=ground_alt_m, origin=origin, settings=tracker_settings
        )
        self.predictor = ImpactPredictor(
            self.setup.frame,
            self.setup.earth,
            ground_alt_m,
            prediction_settings or PredictionSettings(),
        )
        self._latest: dict[str, ImpactPrediction] = {}

    @property
    def tracker(self) -> Tracker:
        """The underlying tracker."""
        return self.setup.tracker

    def step(self, scan: Scan) -> ScanOutput:
        """Process one scan; bad input is counted in ``tracker.rejected`` and dropped."""
        tracker = self.setup.tracker
        tracker.process(scan)
        snap = tracker.snapshot()
        ids = [str(i) for i in snap.ids]
        age = np.array(
            [snap.t_unix_s - self._latest[i].t_unix_s if i in self._latest else np.inf for i in ids]
        ).reshape(-1)
        updated = snap.last_update_t_unix_s >= snap.t_unix_s
        stale = np.isinf(age) | (updated & (age >= self.repredict_s))
        for p in self.predictor.predict(snap, np.flatnonzero(stale)):
            self._latest[p.track_id] = p
        live = set(ids)
        self._latest = {k: v for k, v in self._latest.items() if k in live}
        preds = tuple(self._latest[i] for i in ids if i in self._latest)
        cues = launch_cues(self.setup, self.ground_alt_m, self.cue_settings)
        return ScanOutput(float(snap.t_unix_s), scan, snap, preds, cues)


def drive(
    core: TrackPredict,
    scans: Iterable[Scan],
    *,
    total: int | None = None,
    progress: bool = True,
    label: str = "tracking",
) -> Iterator[ScanOutput]:
    """Feed ``scans`` through ``core``, one :class:`ScanOutput` per scan, with a rich
    progress bar on stderr unless ``progress`` is False.

    Rejected scans (unknown sensor, out of order) still yield an output with the unchanged
    tracks, so a caller sees every input.
    """
    if not progress:
        for scan in scans:
            yield core.step(scan)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tracks {task.fields[n_tracks]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, n_tracks=0)
        for scan in scans:
            out = core.step(scan)
            bar.update(task, advance=1, n_tracks=len(out.tracks))
            yield out


def iter_track_predictions(
    registrations: Sequence[SensorRegistration],
    scans: Iterable[Scan],
    *,
    ground_alt_m: float = 0.0,
    total: int | None = None,
    progress: bool = True,
    label: str = "tracking",
    tracker_settings: TrackerSettings | None = None,
    prediction_settings: PredictionSettings | None = None,
) -> Iterator[ScanOutput]:
    """Run tracking and prediction over a feed, yielding one :class:`ScanOutput` per scan."""
    core = TrackPredict(
        registrations,
        ground_alt_m=ground_alt_m,
        tracker_settings=tracker_settings,
        prediction_settings=prediction_settings,
    )
    yield from drive(core, scans, total=total, progress=progress, label=label)
