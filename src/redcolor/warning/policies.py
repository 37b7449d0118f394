"""The warning policies: ``predicted`` (default), ``radius``, ``zone`` and ``oracle``.

All policies share the staging rule and the drone rule and differ in which areas a ballistic
threat endangers:

* ``predicted``: areas meeting the impact region at ``confidence`` grown by the threat class's
  danger radius (:mod:`redcolor.warning.threats`).
* ``radius``: areas within ``radius_m`` of the predicted mean impact (the baseline; the
  evaluation picks the smallest radius that misses nothing, with hindsight).
* ``zone``: the whole zone of every area ``predicted`` warns (the pre-2019 practice).
* ``oracle``: the areas that truly needed a warning, at each projectile's first detection (or
  second: the causal oracle; ``redcolor.pipeline.policies``).

Staging (:class:`Staging`, DESIGN.md "Alert decision"): a track is acted on once it has been
tracked ``settle_s`` and ``settle_fraction`` of its flight (the trade-off: earlier means a wider
region); before that, only the areas near the mean predicted impact that acting now saves and
waiting would make late (their deadline, the early edge of the impact time less their shelter
time, may still be ahead but may come before the settling ends) are acted on, at once, and a
young track's core (the areas meeting its ``early_core_confidence`` region, where it is
likeliest to land) from ``rocket_core_s`` of tracking (a short flight: they shelter at once) or
``missile_core_fraction`` of its flight (a missile: they are pre-alerted). An area in
the threat's region is alerted when the time left to the early edge of the impact time
(``impact - sigma_k * sigma``) comes down to its shelter time plus ``margin_s``, over the region
as it then stands (the latest prediction sets the schedule, and the lifecycle keeps it if the
track is lost). A flight longer than ``long_flight_s`` (from first detection to predicted
impact) is also pre-alerted at once over its region; shorter flights are not.

The reach rule (issue 16; ``predicted`` and ``zone`` only, not the ``radius`` baseline; the
frontline areas, ``reach_max_shelter_s``): a
rocket fired at a frontline town lands before its track could settle, and before it is even
confirmed the tracker's young track is a launch cue (``redcolor.prediction.launch``: where it
started, its heading, and the reach of every catalogued short-range threat flown on from its
state, past a clutter guard). Until ``reach_settle_s`` after the first plot (when a settled
prediction is expected), every area inside that reach (nearest to farthest landing) and the
heading sector (the heading's two-sided ``confidence`` interval either side, 2.58 sigma at
99%: one angle, not the 2-D ellipse's ``k``; it widens from the track's newest position, where
the two plots' direction is measured, not from the launch point behind it, and by
``reach_lateral_m``) is
alerted at the last scan before its deadline could pass (its earliest arrival less its
shelter time, less ``reach_margin_s``; the earliest arrival grows from the reach's earliest
landing at its near end to its latest at its far end, the longer ranges taking longer, and is
no sooner than the track's ground speed plus its margin carries it to the area). Each scan
recomputes it from the grown track, so the sector narrows before most areas fall due; areas
whose deadline comes after the expected settling wait for the prediction.

Drones: the areas the drone can reach along its predicted path within their shelter time plus
``margin_s``, widened by the drone class's danger radius and the path uncertainty, shelter now;
every other area within its straight-line reach in ``drone_pre_alert_s`` (any heading) is
pre-alerted. Both are renewed each scan; the threat lasts to the end of the shelter horizon, so
the all-clear follows the drone. Cruise missiles (drone tracks of the ``cruise`` class) follow
the same rule with their own danger radius, but their pre-alert is the corridor ahead: the
areas within ``cruise_corridor_deg`` of the current heading out to ``cruise_pre_alert_s`` of
flight, renewed as the missile flies (a turn moves the corridor).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.stats import norm

from redcolor.geo import AreaIndex, LocalFrame
from redcolor.warning.base import LaunchCueLike, PredictionLike, ThreatCategory, ThreatDecision
from redcolor.warning.regions import chi2_2dof_k, grown_ellipses_en_m
from redcolor.warning.threats import class_danger_radius_m, classify

DRONE_STEP_S = 1.0
"""Sampling step of a drone's predicted path when finding the areas it reaches, seconds."""
CORRIDOR_ARC_POINTS = 33
"""Points on the far arc of a cruise missile's pre-alert corridor."""
CLEARANCE_CELL_M = 2000.0
"""Cell of the grid of distances to the nearest area that spares the area query the drone path
samples far from every area, metres."""
_NONE = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Staging:
    """When areas are warned. The numbers are assumptions, chosen as documented.

    A track is acted on once it has been tracked ``settle_s`` and, if ballistic, also
    ``settle_fraction`` of its predicted flight (first detection to impact). A confirmed track's
    first predictions are wide (kilometres; REFERENCE.md's Monte Carlo: 770 m median after 3 s
    of tracking, 170 m after 10 s), so each second of settling shrinks the region a lot and
    costs a second of lead. ``settle_fraction`` (0.08, the main trade-off parameter) and the
    tracker's 5-of-7 confirmation (2-3 s from the first plot on the frontline scenarios) spend
    at most 10% of the oracle's lead on refinement: with 0.1 the two together took more (the
    issue 5 setting; fajr-tel-aviv kept 0.87 of the oracle's lead). ``settle_s`` (6 s) is its
    floor for short flights. ``python -m redcolor.eval.tradeoff`` draws both curves; on
    fajr-tel-aviv / haifa-40km 0.1, 0.09, 0.08 and 0.07 give 5 / 18, 6 / 18, 7 / 18 and 10 / 20
    needless areas at 0.87 / 0.92, 0.91 / 0.93, 0.92 / 0.94 and 0.92 / 1.03 of the oracle's
    median lead (``radius``: 18 / 22), and barrage-3000 89 -> 92 (0.1 -> 0.08; ``radius`` 125):
    0.08 is the knee, the first to keep 90% of the oracle's lead on both; below it
    haifa-40km's needless areas rise (20 at 0.07, 21 at 0.05) for lead it already has.
    ``missile_settle_fraction`` (0.2) replaces it for the missile class: a ballistic missile's
    early regions span tens of kilometres over dense areas. On ``ballistic-center`` 0.1, 0.15
    and 0.2 give 392, 230 and 148 needless areas at 94%, 85% and 80% of the oracle's median
    lead; the ``radius`` baseline has 216, so 0.2 is the one that warns fewer needlessly.
    Before that, a missile's core is pre-alerted: once it has been tracked
    ``missile_core_fraction`` (0.09) of its flight, the areas meeting its impact region at
    ``early_core_confidence`` (0.2; 0 turns it off; not grown), each still alerted at its
    shelter time plus ``margin_s``. The most likely landing areas get their minutes of notice
    while the whole region is still tens of kilometres wide (at 8-10% of the flight the
    missile's 1-sigma axis is ~11-15 km on ``ballistic-center``, and the true impact lies inside
    its 50% region at 37-44% of scans: the region is not padded there, only wide). On
    ``ballistic-center`` / ``houthi-eilat`` (``python -m redcolor.eval.tradeoff --param
    missile_core_fraction``, ``early_core_confidence``): off, 148 / 2 needless areas at 0.80 /
    0.80 of the oracle's median lead; 0.09 and 0.2, 192 / 2 at 0.898 / 0.903 (``radius``: 216 /
    3); 0.1 and 0.5, 205 / 3 at 0.901 / 0.895; 0.095 and 0.5, 217 / 3 at 0.905 / 0.900. No
    setting meets both bars on both: ``ballistic-center`` needs a wide core (0.5) to reach its
    Tel Aviv areas early, and on ``houthi-eilat`` any core wider than 0.2 takes in one more
    area near Eilat. 0.09 and 0.2 lie on a plateau: 0.09-0.095 with 0.1-0.2 give 0.898 on
    ``ballistic-center`` (171-192 needless areas) and 0.900-0.903 on ``houthi-eilat`` (2), both
    under ``radius``'s needless areas.
    A short flight's core (no pre-alert; ``rocket`` class) shelters earlier still: from
    ``rocket_core_s`` (4 s) of tracking, two seconds before ``settle_s``, the areas meeting its
    ``early_core_confidence`` region shelter at once. A mortar's impact point is known to
    ~400-500 m after 4-5 s of tracking (gaza-border-mortars' ``track`` table: 407 m median
    after 5 s), so its 20% region (0.67 sigma) is a few hundred metres across and names the
    area under it; waiting for the settling cost gaza-border-mortars 10% of the oracle's lead
    (0.875), two seconds of it that no narrower region repays there. ``python -m
    redcolor.eval.tradeoff --param rocket_core_s``: 0, 2, 3, 3.5, 4, 4.5, 5 and 6 s (6: off,
    the settling) give gaza-border-mortars 0.92, 0.92, 0.91, 0.90, 0.90, 0.89, 0.89 and 0.875
    of the oracle's median lead (1 needless area throughout), sderot-gaza 1.03 down to 0.93 (3
    throughout), and meron-2024-01-06 (no area needed) 11, 11, 10, 10, 7, 7, 7 and 7 needless
    areas (``radius``: 7). 4 s is the earliest that adds none there; haifa-40km keeps 18 at 4 s
    (26 at 3.5), barrage-3000 goes 92 -> 100 (``radius``: 125), the other scenarios unchanged.
    A longer flight has no young core: pre-alerted over its whole region once settled, it
    loses no lead to the wait (with one, fajr-tel-aviv warned 21 areas needlessly against 7).
    ``margin_s`` (30 s): lead beyond an area's shelter time at which it is alerted; it covers
    a scan period, fan-out and the spread of the predicted impact time, and for short flights
    it means "alert as soon as the track has settled". ``sigma_k`` (1): the impact time taken
    is ``impact - sigma_k * sigma``. ``long_flight_s`` (100 s) leaves room for a pre-alert
    before the longest shelter time (90 s).
    The reach rule (module docstring): ``reach_settle_s`` (10 s; 0 turns it off) is when,
    after the first plot, a settled prediction is expected: the 5-of-7 confirmation takes
    ~4-5 s and ``settle_s`` 6 s from the first plot, with a scan or two lost to a low detection
    probability. It is the rule's trade-off parameter (``python -m redcolor.eval.tradeoff
    --param reach_settle_s``): shorter leaves more areas to the settled prediction, late if it
    comes later; longer alerts more of the sector. ``reach_margin_s`` (1.5 s): an area is
    alerted at the last scan (one a second) before its deadline could pass, plus half a scan
    of fan-out (0 and 0.5 s warn one area fewer on sderot-gaza, 2 against 3, with no area late
    on the frontline scenarios; but below a scan's second an area whose deadline falls between
    two scans is alerted after it). ``reach_lateral_m`` (300 m): the rocket class's danger
    radius, so an impact on the sector's edge still finds its areas inside (the wind's drift,
    ~100-200 m over 25 s, is inside the 99% heading sector's width from the first kilometres
    on). The trade-off (``docs/tradeoff/tradeoff-reach_lateral_m.png``, frontline scenarios,
    needless areas for 0/150/300/500/1000/2000 m: kiryat-shmona-lebanon 2/2/3/5/6/10,
    kiryat-shmona-degraded 2/2/2/3/6/9, sderot-gaza 2/3/3/3/3/6, gaza-border-mortars 1
    throughout; no area late beyond the causal oracle at any): 300 m is the smallest that
    keeps the danger radius.
    ``reach_max_shelter_s`` (15 s): the rule is for the frontline areas (0-15 s of shelter
    time, REFERENCE.md), as the real system alerts them on a launch nearby; a young track's
    reach spans tens of kilometres and minutes, and the 30-90 s areas behind the front fill
    it. ``python -m redcolor.eval.tradeoff --param reach_max_shelter_s``, 0/15/30/45/60/90 s,
    needless areas: kiryat-shmona-lebanon 0/3/3/3/3/3 (at 0 one area late that the causal
    oracle warned in time, none from 15), sderot-gaza 1/3/4/4/4/4, meron-2024-01-06 (none
    needed) 2/7/19/27/48/53, haifa-40km 15/18/23/40/50/69 (its one area late beyond the
    causal oracle, a 90 s area 36 km from the launch, is late at every setting),
    barrage-3000 55/100/136/181/227/260 (its one such area, a 30 s one, in time from 30).
    15 s is the smallest that keeps the frontline's 15 s areas in time; 30 s would keep
    barrage-3000's area too, for 36 more needless areas there (``radius``: 125), 12 more on
    meron-2024-01-06 and 5 on haifa-40km, each then above ``radius``.
    ``core_confidence`` (0.5; 0 turns it off): once a track of a short flight (no pre-alert:
    a longer one is pre-alerted at once, and sheltering minutes early costs more than it
    saves) has settled, an area meeting its
    impact region at this confidence (the ellipse where the impact is as likely as not, not
    grown) is alerted at once rather than at its shelter time plus ``margin_s``: the region
    only narrows round it while it waits, so waiting saves nothing there and costs lead. On
    sderot-gaza it raised the median lead from 0.89 to 0.93 of the oracle's at no added
    needless area (unchanged on the other short-range scenarios, where settling or the reach
    rule set the lead).
    """

    settle_s: float = 6.0
    settle_fraction: float = 0.08
    missile_settle_fraction: float = 0.2
    margin_s: float = 30.0
    sigma_k: float = 1.0
    long_flight_s: float = 100.0
    drone_pre_alert_s: float = 420.0
    cruise_pre_alert_s: float = 600.0
    cruise_corridor_deg: float = 20.0
    reach_settle_s: float = 10.0
    reach_margin_s: float = 1.5
    reach_lateral_m: float = 300.0
    reach_max_shelter_s: float = 15.0
    core_confidence: float = 0.5
    missile_core_fraction: float = 0.09
    rocket_core_s: float = 4.0
    early_core_confidence: float = 0.2


class _Areas:
    """Per-area lookups built once from an :class:`AreaIndex`, in one local metric frame.

    The polygons are projected once into the ground metres of a :class:`LocalFrame` at the
    areas' mean position (azimuthal equidistant: scale error under 0.1% within 250 km of the
    centre, i.e. metres on a region kilometres wide), so each scan's regions are built and
    queried in metres, with no per-vertex projection.
    """

    def __init__(self, index: AreaIndex) -> None:
        self.index = index
        self.ids = np.array([a.id for a in index.areas], dtype=np.int64)
        self.shelter_s = np.zeros(int(self.ids.max()) + 1, dtype=np.float64)
        self.shelter_s[self.ids] = [a.shelter_s for a in index.areas]
        self.max_shelter_s = float(self.shelter_s.max())
        lat = float(np.mean([a.lat for a in index.areas]))
        lon = float(np.mean([a.lon for a in index.areas]))
        self.frame = LocalFrame(lat, lon)
        self.polygons_m = self.frame.to_local(np.array([a.polygon for a in index.areas]))
        self.tree = shapely.STRtree(self.polygons_m)

    def query(
        self,
        geoms_m: NDArray,
        predicate: str = "intersects",
        distance_m: float | NDArray[np.float64] | None = None,
    ) -> list[NDArray[np.int64]]:
        """Sorted area ids per geometry (ground metres) meeting it, or within ``distance_m``
        (one, or one per geometry)."""
        which, hit = self.tree.query(geoms_m, predicate=predicate, distance=distance_m)
        ids = self.ids[hit]
        order = np.lexsort((ids, which))
        bounds = np.searchsorted(which[order], np.arange(len(geoms_m) + 1))
        ids = ids[order]
        return [ids[bounds[i] : bounds[i + 1]] for i in range(len(geoms_m))]

    @cached_property
    def _clearance(self) -> tuple[float, float, NDArray[np.float64]]:
        """West and south edges of a grid over the areas and, per cell (rows north), the
        distance from its centre to the nearest area less half its diagonal: no point of the
        cell is nearer any area."""
        c = CLEARANCE_CELL_M
        x0, y0, x1, y1 = shapely.total_bounds(self.polygons_m)
        cx, cy = np.meshgrid(
            np.arange(x0 - c, x1 + c, c) + c / 2, np.arange(y0 - c, y1 + c, c) + c / 2
        )
        centres = shapely.points(np.column_stack([cx.ravel(), cy.ravel()]))
        _, dist_m = self.tree.query_nearest(centres, return_distance=True, all_matches=False)
        return x0 - c, y0 - c, dist_m.reshape(cx.shape) - c * np.sqrt(0.5)

    def may_reach(
        self, x_m: NDArray[np.float64], y_m: NDArray[np.float64], reach_m: NDArray[np.float64]
    ) -> NDArray[np.bool_]:
        """Whether each point may be within ``reach_m`` of an area (False only where its grid
        cell says none is; outside the grid, True), to query only those."""
        west, south, clear_m = self._clearance
        col = np.floor((x_m - west) / CLEARANCE_CELL_M).astype(np.int64)
        row = np.floor((y_m - south) / CLEARANCE_CELL_M).astype(np.int64)
        inside = (col >= 0) & (col < clear_m.shape[1]) & (row >= 0) & (row < clear_m.shape[0])
        out = np.ones(x_m.shape, dtype=bool)
        # 1 m of slack for rounding; the query decides exactly
        out[inside] = clear_m[row[inside], col[inside]] - 1.0 <= reach_m[inside]
        return out

    def project(self, preds: Sequence[PredictionLike]) -> tuple[NDArray, NDArray]:
        """Mean impact points of ``preds`` in ground metres, each of shape (N,)."""
        return self.frame.project(
            np.array([p.impact_lat for p in preds]), np.array([p.impact_lon for p in preds])
        )


class _Policy:
    """Shared staging and drone rule; subclasses override :meth:`_ballistic_areas` only."""

    name = "base"

    def __init__(
        self, index: AreaIndex, staging: Staging | None = None, confidence: float = 0.99
    ) -> None:
        self.areas = _Areas(index)
        self.staging = staging or Staging()
        self.confidence = confidence
        self.k = chi2_2dof_k(confidence)
        self.t_k = float(norm.ppf(0.5 + 0.5 * confidence))
        self.radius_m = class_danger_radius_m()

    def decide(
        self,
        predictions: Sequence[PredictionLike],
        now_unix_s: float,
        cues: Sequence[LaunchCueLike] = (),
    ) -> list[ThreatDecision]:
        """One decision per prediction (or launch cue) with any area to warn, sorted by
        threat id. A cue counts for a tentative track, and for a confirmed one whose
        unsettled prediction is in ``predictions`` (merged with it); a settled prediction
        ends the reach rule for its track."""
        settled = [p for p in predictions if p.kind != "drone" and self._settled(p)]
        early = [p for p in predictions if p.kind != "drone" and not self._settled(p)]
        drones = [p for p in predictions if p.kind == "drone" and self._settled(p)]
        early_ids = {p.track_id for p in early}
        reach = self._reach(
            [c for c in cues if not c.confirmed or c.track_id in early_ids], now_unix_s
        )
        out: list[ThreatDecision] = []
        if settled:
            areas, cores = self._ballistic_areas(settled), self._core_areas(settled)
            for p, ids, core in zip(settled, areas, cores, strict=True):
                if ids.size:
                    out.append(self._staged(p, ids, now_unix_s, core))
        if early:
            urgent, cores = self._urgent(early, now_unix_s), self._early_cores(early)
            for p, urgent_ids, core in zip(early, urgent, cores, strict=True):
                ids = np.union1d(urgent_ids, core)
                now_ids, until = reach.pop(p.track_id, (_NONE, -np.inf))
                if ids.size or now_ids.size:
                    d = self._staged(p, ids, now_unix_s, core)
                    out.append(_with_now(d, now_ids, until))
        for track_id, (now_ids, until) in reach.items():
            if now_ids.size:
                at = np.full(now_ids.shape, now_unix_s)
                out.append(ThreatDecision(track_id, "missiles", now_unix_s, now_ids, at, until))
        out.extend(self._drones(drones, now_unix_s))
        return sorted(out, key=lambda d: d.threat_id)

    def _ballistic_areas(self, preds: Sequence[PredictionLike]) -> list[NDArray[np.int64]]:
        raise NotImplementedError

    def _core_areas(
        self, preds: Sequence[PredictionLike], confidence: float | None = None
    ) -> list[NDArray[np.int64]]:
        """Per prediction, the areas meeting its impact region at ``confidence`` (by default
        ``core_confidence``; not grown): alerted at once (:class:`Staging`)."""
        conf = self.staging.core_confidence if confidence is None else confidence
        if conf <= 0.0 or not preds:
            return [_NONE] * len(preds)
        cov = np.stack([np.asarray(p.cov_en_m2, dtype=np.float64) for p in preds])
        offsets = grown_ellipses_en_m(cov, conf, np.zeros(len(preds)))
        x0, y0 = self.areas.project(preds)
        verts = offsets + np.stack([x0, y0], axis=-1)[:, None, :]
        return self.areas.query(shapely.polygons(verts))

    def _settle_end_unix_s(self, p: PredictionLike) -> float:
        """When the track has been tracked ``settle_s`` and, if ballistic, also
        ``settle_fraction`` of its predicted flight since first detection."""
        st = self.staging
        if p.kind == "drone":
            return p.first_detection_t_unix_s + st.settle_s
        fraction = st.settle_fraction
        if self._classes([p])[0] == "missile":
            fraction = st.missile_settle_fraction
        return _tracked_until_unix_s(p, st.settle_s, fraction)

    def _early_cores(self, preds: Sequence[PredictionLike]) -> list[NDArray[np.int64]]:
        """Per unsettled prediction, its early core (:class:`Staging`): the areas meeting its
        impact region at ``early_core_confidence`` (not grown) once a missile has been
        tracked ``missile_core_fraction`` of its flight or a short flight (no pre-alert)
        ``rocket_core_s``; none before, and none for a longer rocket flight."""
        st = self.staging
        classes = self._classes(preds)
        due = [
            i for i, p in enumerate(preds) if p.t_unix_s >= self._core_from_unix_s(p, classes[i])
        ]
        out = [_NONE] * len(preds)
        cores = self._core_areas([preds[i] for i in due], st.early_core_confidence)
        for i, ids in zip(due, cores, strict=True):
            out[i] = ids
        return out

    def _core_from_unix_s(self, p: PredictionLike, threat_class: str) -> float:
        """When an unsettled prediction's early core is first acted on (:meth:`_early_cores`)."""
        st = self.staging
        if threat_class == "missile":
            return _tracked_until_unix_s(p, st.settle_s, st.missile_core_fraction)
        if not self._pre_alerted(p):
            return p.first_detection_t_unix_s + st.rocket_core_s
        return np.inf

    def _pre_alerted(self, p: PredictionLike) -> bool:
        """A long flight (``long_flight_s`` from first detection to impact): pre-alerted."""
        return p.impact_t_unix_s - p.first_detection_t_unix_s >= self.staging.long_flight_s

    def _settled(self, p: PredictionLike) -> bool:
        return p.t_unix_s >= self._settle_end_unix_s(p)

    def _urgent(self, preds: Sequence[PredictionLike], now: float) -> list[NDArray[np.int64]]:
        """Per unsettled ballistic track, the areas acting now saves and settling would make
        late: within the class danger radius of the mean predicted impact (the early region
        is kilometres wide; its mean point is not) whose deadline (impact time less the
        shelter time) may still be ahead (at the late edge of the impact time) and may come
        before the settling ends (at its early edge). Areas past even the late edge are late
        either way and wait for the settled region."""
        x0, y0 = self.areas.project(preds)
        near = self.areas.query(shapely.points(x0, y0), "dwithin", self._class_radius_m(preds))
        out = []
        for p, ids in zip(preds, near, strict=True):
            spread_s = self.staging.sigma_k * p.impact_t_sigma_s
            deadline = p.impact_t_unix_s - self.areas.shelter_s[ids]
            in_time = deadline + spread_s >= now
            out.append(ids[in_time & (deadline - spread_s < self._settle_end_unix_s(p))])
        return out

    def _reach(
        self, cues: Sequence[LaunchCueLike], now: float
    ) -> dict[str, tuple[NDArray[np.int64], float]]:
        """Per cue (track id): the areas the reach rule alerts now, and until when the threat
        may fly (module docstring). None with ``reach_settle_s`` 0."""
        st = self.staging
        out: dict[str, tuple[NDArray[np.int64], float]] = {}
        if st.reach_settle_s <= 0.0 or not cues:
            return out
        frame = self.areas.frame
        lx, ly = frame.project(
            np.array([c.launch_lat for c in cues]), np.array([c.launch_lon for c in cues])
        )
        cx, cy = frame.project(np.array([c.lat for c in cues]), np.array([c.lon for c in cues]))
        for i, c in enumerate(cues):
            settle_at = c.first_detection_t_unix_s + st.reach_settle_s
            if settle_at <= now or not np.isfinite(c.impact_early_unix_s):
                continue
            region = _sector(
                (float(lx[i]), float(ly[i])),
                (float(cx[i]), float(cy[i])),
                (c.reach_near_m, c.reach_far_m),
                self.t_k * c.heading_sigma_rad,
                st.reach_lateral_m,
            )
            ids = self.areas.query(np.array([region]))[0]
            ids = ids[self.areas.shelter_s[ids] <= st.reach_max_shelter_s]
            # the earliest landing, and no sooner than the ground speed (which only falls
            # once the motor is out) carries the projectile to the area
            polys = self.areas.polygons_m[np.searchsorted(self.areas.ids, ids)]
            gap_m = shapely.distance(polys, shapely.points(cx[i], cy[i]))
            speed_m_s = c.ground_speed_m_s + c.speed_margin_m_s
            ahead_m = np.maximum(gap_m, 0.0)
            by_reach = np.interp(
                ahead_m,
                [c.reach_near_m, max(c.reach_far_m, c.reach_near_m + 1.0)],
                [c.impact_early_unix_s, c.impact_late_unix_s],
            )
            arrival = np.maximum(by_reach, now + gap_m / speed_m_s)
            deadline = arrival - self.areas.shelter_s[ids]
            ids = ids[(deadline < settle_at) & (deadline - st.reach_margin_s <= now)]
            out[c.track_id] = (ids, float(c.impact_late_unix_s))
        return out

    def _classes(self, preds: Sequence[PredictionLike]) -> NDArray[np.str_]:
        return classify(
            np.array([p.kind for p in preds]),
            np.array([p.impact_t_unix_s - p.first_detection_t_unix_s for p in preds]),
            np.array([p.speed_m_s for p in preds]),
        )

    def _class_radius_m(self, preds: Sequence[PredictionLike]) -> NDArray[np.float64]:
        return np.array([self.radius_m[c] for c in self._classes(preds)], dtype=np.float64)

    def _staged(
        self, p: PredictionLike, ids: NDArray[np.int64], now: float, core: NDArray[np.int64] = _NONE
    ) -> ThreatDecision:
        """The decision for ``ids`` of one prediction, each alerted at its shelter time plus
        the margin before the early edge of the impact time, those in ``core`` at once."""
        st = self.staging
        early_impact = p.impact_t_unix_s - st.sigma_k * p.impact_t_sigma_s
        alert_at = early_impact - self.areas.shelter_s[ids] - st.margin_s
        pre_alert = self._pre_alerted(p)
        if not pre_alert:
            alert_at = np.where(np.isin(ids, core), np.minimum(alert_at, now), alert_at)
        until = p.impact_t_unix_s + st.sigma_k * p.impact_t_sigma_s
        # the impact time window at the region's confidence (two-sided, normal), the same for
        # every area of the region: one projectile comes down once
        spread_s = self.t_k * p.impact_t_sigma_s
        earliest = np.full(ids.shape, p.impact_t_unix_s - spread_s)
        latest = np.full(ids.shape, p.impact_t_unix_s + spread_s)
        return ThreatDecision(
            p.track_id, "missiles", now, ids, alert_at, until, pre_alert, earliest, latest
        )

    def _drones(self, preds: Sequence[PredictionLike], now: float) -> list[ThreatDecision]:
        """The drone rule (module docstring) for every drone track of a scan, with one area
        query for all their path samples and one for all their pre-alerts."""
        if not preds:
            return []
        st, frame = self.staging, self.areas.frame
        horizon_s = self.areas.max_shelter_s + st.margin_s
        paths = [_drone_path(p, now) for p in preds]
        bounds = np.cumsum([0] + [t.size for t, _, _ in paths])
        x_all, y_all = frame.project(
            np.concatenate([lat for _, lat, _ in paths]),
            np.concatenate([lon for _, _, lon in paths]),
        )
        # position uncertainty grows along the path, from 0 now to the path end's (a random
        # walk in acceleration: sigma ~ tau^1.5)
        cov = np.array([np.asarray(p.cov_en_m2, dtype=np.float64) for p in preds])
        eig = np.linalg.eigvalsh(0.5 * (cov + np.swapaxes(cov, 1, 2))).max(axis=1)
        sigma_end_m = np.sqrt(np.maximum(eig, 0.0))
        radius_m = self._class_radius_m(preds)
        samples_t, samples_x, samples_y, reach, t_ends = [], [], [], [], []
        x0, y0, heading = np.empty(len(preds)), np.empty(len(preds)), np.empty(len(preds))
        for i, (t, _, _) in enumerate(paths):
            x, y = x_all[bounds[i] : bounds[i + 1]], y_all[bounds[i] : bounds[i + 1]]
            # the path every DRONE_STEP_S up to the horizon; each sample's reach grows by half
            # the gap to its neighbours, so no area within reach of the path between two
            # samples slips through (a cruise missile's samples are 250 m apart, more than its
            # 150 m danger radius)
            t_end = min(float(t[-1]), now + horizon_s)
            ts = np.append(np.arange(float(t[0]), t_end, DRONE_STEP_S), t_end)
            xs, ys = np.interp(ts, t, x), np.interp(ts, t, y)
            tau = np.clip((ts - now) / max(float(t[-1]) - now, 1.0), 0.0, 1.0)
            samples_t.append(ts)
            samples_x.append(xs)
            samples_y.append(ys)
            reach.append(
                radius_m[i] + self.k * float(sigma_end_m[i]) * tau**1.5 + _half_gap_m(xs, ys)
            )
            t_ends.append(t_end)
            x0[i], y0[i] = xs[0], ys[0]
            heading[i] = np.arctan2(x[-1] - x[0], y[-1] - y[0])
        ts_all = np.concatenate(samples_t)
        owner = np.repeat(np.arange(len(preds)), [ts.size for ts in samples_t])
        px, py, pr = np.concatenate(samples_x), np.concatenate(samples_y), np.concatenate(reach)
        near = np.flatnonzero(self.areas.may_reach(px, py, pr))
        # from one (N, 2) array: twice as fast as from separate x and y
        points = shapely.points(np.column_stack([px[near], py[near]]))
        which, hit = self.areas.tree.query(points, predicate="dwithin", distance=pr[near])
        which = near[which]
        # per (track, area): the first and last path sample within reach
        track, hit_ids = owner[which], self.areas.ids[hit]
        order = np.lexsort((which, hit_ids, track))
        track, hit_ids, which = track[order], hit_ids[order], which[order]
        new = np.r_[track.size > 0, (track[1:] != track[:-1]) | (hit_ids[1:] != hit_ids[:-1])]
        first = np.flatnonzero(new)
        last = np.append(first[1:], track.size)[: first.size] - 1
        track, ids = track[first], hit_ids[first]
        reach_t, leave_t = ts_all[which[first]], ts_all[which[last]]
        keep = reach_t - now <= self.areas.shelter_s[ids] + st.margin_s
        track, ids, reach_t, leave_t = track[keep], ids[keep], reach_t[keep], leave_t[keep]
        # the reached areas shelter now, with the window while the path is within reach; the
        # other areas of the pre-alert have no window (the any-heading reach says where, not
        # when)
        pre_track, pre_ids = self._drone_pre_alert_ids(preds, x0, y0, heading)
        stride = int(self.areas.ids.max()) + 1
        other = ~np.isin(pre_track * stride + pre_ids, track * stride + ids)
        pre_track, pre_ids = pre_track[other], pre_ids[other]
        unknown = np.full(pre_ids.shape, np.nan)
        all_track = np.concatenate([track, pre_track])
        order = np.lexsort((np.concatenate([ids, pre_ids]), all_track))
        all_ids = np.concatenate([ids, pre_ids])[order]
        alert_at = np.concatenate([np.full(ids.shape, now), np.full(pre_ids.shape, np.inf)])[order]
        earliest = np.concatenate([reach_t, unknown])[order]
        latest = np.concatenate([leave_t, unknown])[order]
        split = np.searchsorted(all_track[order], np.arange(len(preds) + 1))
        category: ThreatCategory = "hostile_aircraft"
        return [
            ThreatDecision(
                p.track_id,
                category,
                now,
                all_ids[split[i] : split[i + 1]],
                alert_at[split[i] : split[i + 1]],
                t_ends[i],
                True,
                earliest[split[i] : split[i + 1]],
                latest[split[i] : split[i + 1]],
            )
            for i, p in enumerate(preds)
            if split[i + 1] > split[i]
        ]

    def _drone_pre_alert_ids(
        self,
        preds: Sequence[PredictionLike],
        x_m: NDArray[np.float64],
        y_m: NDArray[np.float64],
        heading_rad: NDArray[np.float64],
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Per drone track, the areas within its straight-line reach in ``drone_pre_alert_s``
        at its speed, whichever way it turns, grown by the class danger radius; for a cruise
        missile, the part of its reach in ``cruise_pre_alert_s`` within
        ``cruise_corridor_deg`` of its heading (``heading_rad``, clockwise from north). The
        reach already holds every path the threat can fly (or, for a cruise missile, every
        path near its heading), so no path uncertainty is added (its position now is known
        to tens of metres). One area query for all tracks: (track index, area id) pairs."""
        st = self.staging
        cruise = self._classes(preds) == "cruise"
        radius_m = np.where(cruise, self.radius_m["cruise"], self.radius_m["drone"])
        horizon_s = np.where(cruise, st.cruise_pre_alert_s, st.drone_pre_alert_s)
        reach_m = np.array([p.speed_m_s for p in preds], dtype=np.float64) * horizon_s
        corridor = cruise & (st.cruise_corridor_deg < 180.0)
        geoms = shapely.points(x_m, y_m)
        distance_m = np.where(corridor, radius_m, reach_m + radius_m)
        if corridor.any():
            half = np.radians(st.cruise_corridor_deg)
            bearing = heading_rad[corridor, None] + np.linspace(-half, half, CORRIDOR_ARC_POINTS)
            far = reach_m[corridor, None]
            cx, cy = x_m[corridor, None], y_m[corridor, None]
            ring = np.stack(
                [
                    np.concatenate([cx, cx + far * np.sin(bearing)], axis=1),
                    np.concatenate([cy, cy + far * np.cos(bearing)], axis=1),
                ],
                axis=-1,
            )
            geoms[corridor] = shapely.polygons(ring)
        live = np.flatnonzero(horizon_s > 0.0)
        which, hit = self.areas.tree.query(
            geoms[live], predicate="dwithin", distance=distance_m[live]
        )
        return live[which], self.areas.ids[hit]


def _sector(
    launch: tuple[float, float],
    now: tuple[float, float],
    reach_m: tuple[float, float],
    half_angle_rad: float,
    lateral_m: float,
) -> shapely.Geometry:
    """Ground metres where a projectile flying from ``launch`` through ``now`` may land
    between ``reach_m`` (nearest, farthest) ahead of ``now``: a wedge along the heading from
    ``now`` (where the heading is measured), ``half_angle_rad`` either side of it, widened by
    ``lateral_m`` (a ring round ``now`` once the heading says nothing)."""
    lx, ly = launch
    dx, dy = now[0] - lx, now[1] - ly
    flown = float(np.hypot(dx, dy))
    near, far = reach_m
    if flown < 1.0 or half_angle_rad >= np.pi / 3:
        disc = shapely.Point(now).buffer(far + lateral_m)
        return disc.difference(shapely.Point(now).buffer(max(near - lateral_m, 0.0)))
    u = np.array([dx, dy]) / flown
    w = np.array([-u[1], u[0]])
    o = np.asarray(now, dtype=np.float64)
    a0, a1 = max(near - lateral_m, -flown), far + lateral_m
    h0 = lateral_m + max(a0, 0.0) * np.tan(half_angle_rad)
    h1 = lateral_m + a1 * np.tan(half_angle_rad)
    ring = [o + a0 * u - h0 * w, o + a0 * u + h0 * w, o + a1 * u + h1 * w, o + a1 * u - h1 * w]
    return shapely.Polygon(ring)


def _half_gap_m(x_m: NDArray[np.float64], y_m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per sample of a path, half the larger gap to its neighbours, metres: every point of
    the path between two samples is at most that far from one of them."""
    gap_m = np.hypot(np.diff(x_m), np.diff(y_m))
    return 0.5 * np.maximum(np.append(gap_m, 0.0), np.insert(gap_m, 0, 0.0))


def _drone_path(
    p: PredictionLike, now: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """A drone track's predicted path (times, latitudes, longitudes); a path-less prediction
    is its impact point at its impact time (no sooner than now)."""
    t = np.asarray(p.path_t_unix_s, dtype=np.float64)
    if t.size == 0:
        t = np.array([max(now, p.impact_t_unix_s)])
        return t, np.array([p.impact_lat]), np.array([p.impact_lon])
    return t, np.asarray(p.path_lat, dtype=np.float64), np.asarray(p.path_lon, dtype=np.float64)


def _tracked_until_unix_s(p: PredictionLike, settle_s: float, fraction: float) -> float:
    """When ``p``'s track has been tracked ``settle_s`` and ``fraction`` of its predicted
    flight (first detection to impact)."""
    flight_s = p.impact_t_unix_s - p.first_detection_t_unix_s
    return p.first_detection_t_unix_s + max(settle_s, fraction * flight_s)


def _with_now(d: ThreatDecision, now_ids: NDArray[np.int64], until_unix_s: float) -> ThreatDecision:
    """``d`` with the areas ``now_ids`` alerted at once (the earlier time kept where both
    name an area) and lasting at least to ``until_unix_s``. An area only the reach rule names
    has no impact time window (NaN): the reach says where, not when."""
    if now_ids.size == 0:
        return d
    unknown = np.full(d.area_ids.shape, np.nan)
    earliest = unknown if d.impact_earliest_unix_s is None else d.impact_earliest_unix_s
    latest = unknown if d.impact_latest_unix_s is None else d.impact_latest_unix_s
    ids = np.concatenate([d.area_ids, now_ids])
    at = np.concatenate([d.alert_at_unix_s, np.full(now_ids.shape, d.t_unix_s)])
    early = np.concatenate([earliest, np.full(now_ids.shape, np.nan)])
    late = np.concatenate([latest, np.full(now_ids.shape, np.nan)])
    order = np.lexsort((at, ids))
    ids, at, early, late = ids[order], at[order], early[order], late[order]
    first = np.concatenate([[True], ids[1:] != ids[:-1]])
    until = max(d.until_unix_s, until_unix_s)
    return ThreatDecision(
        d.threat_id,
        d.category,
        d.t_unix_s,
        ids[first],
        at[first],
        until,
        d.pre_alert,
        early[first],
        late[first],
    )


class PredictedPolicy(_Policy):
    """Areas meeting the impact region at ``confidence`` grown by the class danger radius."""

    name = "predicted"

    def _ballistic_areas(self, preds: Sequence[PredictionLike]) -> list[NDArray[np.int64]]:
        cov = np.stack([np.asarray(p.cov_en_m2, dtype=np.float64) for p in preds])
        offsets = grown_ellipses_en_m(cov, self.confidence, self._class_radius_m(preds))
        x0, y0 = self.areas.project(preds)
        verts = offsets + np.stack([x0, y0], axis=-1)[:, None, :]
        return self.areas.query(shapely.polygons(verts))


IMMEDIATE = Staging(
    settle_s=0.0,
    settle_fraction=0.0,
    missile_settle_fraction=0.0,
    margin_s=np.inf,
    cruise_corridor_deg=180.0,
    reach_settle_s=0.0,
    core_confidence=0.0,
    early_core_confidence=0.0,
)
"""The baseline timing: alert at the first scan where a confirmed track gives a prediction (and
no reach rule); a cruise missile's pre-alert reaches every heading, as a drone's does."""


class RadiusPolicy(_Policy):
    """Areas within ``radius_m`` of the predicted mean impact (a baseline), by default with the
    baseline timing :data:`IMMEDIATE`."""

    name = "radius"

    def __init__(self, index: AreaIndex, radius_m: float, staging: Staging | None = None) -> None:
        super().__init__(index, staging or IMMEDIATE)
        self.fixed_radius_m = radius_m

    def _ballistic_areas(self, preds: Sequence[PredictionLike]) -> list[NDArray[np.int64]]:
        x0, y0 = self.areas.project(preds)
        return self.areas.query(shapely.points(x0, y0), "dwithin", self.fixed_radius_m)


class ZonePolicy:
    """The whole zone of every area ``predicted`` warns, each at the earliest time it asks."""

    name = "zone"

    def __init__(self, inner: PredictedPolicy) -> None:
        self.inner = inner
        index = inner.areas.index
        self._zone_of = {a.id: a.zone_en for a in index.areas}
        self._members = {z: index.zone_areas(z) for z in set(self._zone_of.values())}

    def decide(
        self,
        predictions: Sequence[PredictionLike],
        now_unix_s: float,
        cues: Sequence[LaunchCueLike] = (),
    ) -> list[ThreatDecision]:
        out = []
        for d in self.inner.decide(predictions, now_unix_s, cues):
            at_by_zone: dict[str, float] = {}
            window_by_zone: dict[str, tuple[float, float]] = {}
            unknown = np.full(d.area_ids.shape, np.nan)
            earliest = unknown if d.impact_earliest_unix_s is None else d.impact_earliest_unix_s
            latest = unknown if d.impact_latest_unix_s is None else d.impact_latest_unix_s
            for area, at, early, late in zip(
                d.area_ids.tolist(), d.alert_at_unix_s.tolist(), earliest, latest, strict=True
            ):
                zone = self._zone_of[area]
                at_by_zone[zone] = min(at, at_by_zone.get(zone, np.inf))
                # a zone's window spans its areas' windows (NaN: none known)
                e0, l0 = window_by_zone.get(zone, (np.nan, np.nan))
                window_by_zone[zone] = (float(np.fmin(e0, early)), float(np.fmax(l0, late)))
            ids = np.concatenate([self._members[z] for z in at_by_zone])
            ats = np.concatenate([np.full(self._members[z].size, a) for z, a in at_by_zone.items()])
            es, ls = (
                np.concatenate(
                    [np.full(self._members[z].size, window_by_zone[z][k]) for z in at_by_zone]
                )
                for k in (0, 1)
            )
            ids, first = np.unique(ids, return_index=True)
            out.append(
                ThreatDecision(
                    d.threat_id,
                    d.category,
                    d.t_unix_s,
                    ids,
                    ats[first],
                    d.until_unix_s,
                    d.pre_alert,
                    None if d.impact_earliest_unix_s is None else es[first],
                    None if d.impact_latest_unix_s is None else ls[first],
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class OracleThreat:
    """What the oracle knows with hindsight about one true projectile."""

    threat_id: str
    category: ThreatCategory
    first_detection_t_unix_s: float
    impact_t_unix_s: float
    needed_area_ids: NDArray[np.int64]


class OraclePolicy:
    """Exactly the areas that needed a warning, alerted at each threat's
    ``first_detection_t_unix_s`` (the time its hindsight lets it act: first or second plot)."""

    name = "oracle"

    def __init__(self, threats: Sequence[OracleThreat]) -> None:
        self.threats = sorted(
            (t for t in threats if t.needed_area_ids.size), key=lambda t: t.threat_id
        )

    def decide(
        self,
        predictions: Sequence[PredictionLike],
        now_unix_s: float,
        cues: Sequence[LaunchCueLike] = (),
    ) -> list[ThreatDecision]:
        return [
            ThreatDecision(
                t.threat_id,
                t.category,
                now_unix_s,
                t.needed_area_ids,
                np.full(t.needed_area_ids.shape, now_unix_s),
                t.impact_t_unix_s,
            )
            for t in self.threats
            if t.first_detection_t_unix_s <= now_unix_s < t.impact_t_unix_s
        ]
