"""Launch cues: what a young ballistic track says before any impact prediction can be trusted.

A rocket fired at a frontline town from 5-10 km lands 15-25 s later; the tracker's M-of-N
confirmation and the policy's settling take ~6-10 s of it, while a 15 s shelter deadline falls
~5-10 s after launch. So from the first plots on, every ballistic track (tentative from its
second plot, or confirmed) that looks like a launch from the ground yields a
:class:`LaunchCue`: where it started, which way it flies and how sure the heading is, and the reach
of every catalogued short-range threat from where it is now: the track's state flown to the
ground with the lowest and the highest ballistic coefficient of the catalogue's rockets and
mortars (less and more three sigma of their drag spread), at its ground speed less and more
``speed_margin_m_s`` and its climb rate less and more two sigma (of two plots' height error
over the time tracked). That gives how near and how far along its heading it can land, and the
earliest and latest impact time. The warning policy turns a cue into the areas the projectile
can reach before a settled prediction exists (``redcolor.warning.policies``, the reach rule).

The clutter guard (:class:`CueSettings`): one plot cannot be told from clutter, and two clutter
plots paired by the initiator make a tentative track too. A cue needs a track that is
ballistic, coasting (the tracker's speed-gain test), low (at most ``max_height_m`` above the
ground), climbing at ``min_climb_deg`` or more at a rocket's or mortar's speed, and launched
from the ground at most ``max_age_s`` ago: ``tau = height / climb rate`` back along its
velocity puts the launch point on the ground. Uniform clutter over a radar's volume rarely
pairs into such a track; on ``clutter-north-10min`` (ten minutes at 40 and 25 false plots a
scan) the guard lets none through to an alert.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from redcolor.physics.ballistics import EarthModel, FlatTerrain, propagate_to_ground
from redcolor.physics.catalogue import CATALOGUE
from redcolor.tracking.frame import TrackingSetup
from redcolor.tracking.state import KIND_BALLISTIC

REACH_KINDS = ("rocket", "mortar")
"""Catalogue kinds whose reach a cue gives: the short-range threats (the ``rocket`` threat
class); ballistic missiles fly minutes, and their prediction settles in time."""
REACH_DT_S = 0.2
"""Integration step of the reach flights, seconds (landing interpolated inside the step)."""


@dataclass(frozen=True)
class CueSettings:
    """The clutter guard (all assumptions, module docstring).

    ``min_plots`` (2): plots a track needs (the initiating pair is two). ``min_speed_m_s``
    (100), ``max_speed_m_s`` (1500): a 120 mm mortar leaves the tube at ~320 m/s, a 107 mm
    rocket burns out at ~385 m/s, a Grad at ~690 m/s; the threat classes' bound for a rocket is
    1.5 km/s. ``min_climb_deg`` (3): launchers lay at 1-85 degrees and the flight path
    steepens little in the first seconds. ``max_height_m`` (4000) and ``max_age_s`` (10): a
    cue is about the first seconds of a flight. A track of two plots only must also be lower
    than ``pair_max_height_m`` (1000) and slower than ``pair_max_speed_m_s`` (800: the
    short-range rockets burn out at 300-690 m/s, the faster ones still burn at that height).
    Measured: the built-in scenarios' rockets and mortars give their first cue at 100-900 m
    above the ground and 80-700 m/s; of ten minutes of clutter at 40 and 25 false plots a scan
    (``clutter-north-10min``) 32 pairs passed the rest of the guard, 31 at 1.1-4 km, one at
    990 m and 930 m/s; one ballistic clutter track of the 10,880 got a third plot (none
    before a tentative ballistic track outlived a second miss, ``redcolor.tracking.deletion``),
    and none passed the whole guard. ``max_track_age_s`` (30): a track first seen
    longer ago has its prediction settled (or is no short-range threat).
    ``speed_margin_m_s`` (50): a young track's speed error (two plots a second apart at
    10-20 m of noise) and the last tenth of a second of a motor's burn.
    """

    min_plots: int = 2
    min_speed_m_s: float = 100.0
    max_speed_m_s: float = 1500.0
    min_climb_deg: float = 3.0
    max_height_m: float = 4000.0
    pair_max_height_m: float = 1000.0
    pair_max_speed_m_s: float = 800.0
    max_age_s: float = 10.0
    max_track_age_s: float = 30.0
    speed_margin_m_s: float = 50.0


def reach_betas_kg_m2() -> tuple[float, float]:
    """The lowest and highest ballistic coefficient of the catalogue's short-range threats,
    less and more three sigma of each one's drag spread, kg/m^2."""
    members = [p for p in CATALOGUE.values() if p.kind in REACH_KINDS]
    lo = min(p.beta_kg_m2 / (1.0 + 3.0 * p.drag_sigma) for p in members)
    hi = max(p.beta_kg_m2 / max(1.0 - 3.0 * p.drag_sigma, 0.5) for p in members)
    return lo, hi


@dataclass(frozen=True)
class LaunchCue:
    """One young ballistic track as a launch.

    Attributes
    ----------
    track_id : str
        The track's id (the same once it is confirmed).
    t_unix_s, first_detection_t_unix_s, launch_t_unix_s : float
        This scan's time, the track's first plot and the estimated launch.
    launch_lat, launch_lon : float
        Estimated launch point (degrees WGS84), back along the velocity to the ground.
    lat, lon : float
        The point on the ground under the track now.
    height_m, ground_speed_m_s, climb_m_s : float
        Height above the ground, horizontal and vertical speed now.
    speed_margin_m_s : float
        How much faster than ``ground_speed_m_s`` it may fly (:class:`CueSettings`).
    heading_sigma_rad : float
        One-sigma error of the heading (the direction from the launch point to ``lat, lon``).
    reach_near_m, reach_far_m : float
        Nearest and farthest landing of the catalogued threats from ``lat, lon`` along the
        heading, metres (their ground distance; the nearest may be 0).
    impact_early_unix_s, impact_late_unix_s : float
        Earliest and latest of those landings.
    confirmed : bool
        Whether the tracker has confirmed the track (it then also has a prediction).
    """

    track_id: str
    t_unix_s: float
    first_detection_t_unix_s: float
    launch_t_unix_s: float
    launch_lat: float
    launch_lon: float
    lat: float
    lon: float
    height_m: float
    ground_speed_m_s: float
    climb_m_s: float
    speed_margin_m_s: float
    heading_sigma_rad: float
    reach_near_m: float
    reach_far_m: float
    impact_early_unix_s: float
    impact_late_unix_s: float
    confirmed: bool


def launch_cues(
    setup: TrackingSetup, ground_alt_m: float, settings: CueSettings | None = None
) -> LaunchCues:
    """The cues of the tracker's current tracks that pass the clutter guard, by track id; the
    reach of each is flown when it is asked for (:class:`LaunchCues`)."""
    s = settings or CueSettings()
    tracker, frame = setup.tracker, setup.frame
    tab = tracker.tracks
    t = tracker.t_unix_s
    no_flights = _Flights(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), setup.earth, 0.0, 0.0)
    if tab.size == 0:
        return LaunchCues(float(t), [], no_flights)
    x = tab.x
    v_h = np.hypot(x[:, 3], x[:, 4])
    v_z = x[:, 5]
    speed = np.hypot(v_h, v_z)
    height = tracker.height_above_ground_m(x[:, 0:3])
    climb_deg = np.degrees(np.arctan2(v_z, np.maximum(v_h, 1e-9)))
    age_s = height / np.maximum(v_z, 1e-9)
    coasting = tab.speed_gain_m_s2 <= tracker.settings.max_coast_speed_gain_m_s2
    ok = (
        (tab.kind == KIND_BALLISTIC)
        & (tab.n_hits >= s.min_plots)
        & coasting
        & (speed >= s.min_speed_m_s)
        & (speed <= np.where(tab.n_hits > 2, s.max_speed_m_s, s.pair_max_speed_m_s))
        & (climb_deg >= s.min_climb_deg)
        & (height >= 0.0)
        & (height <= np.where(tab.n_hits > 2, s.max_height_m, s.pair_max_height_m))
        & (age_s <= s.max_age_s)
        & (t - tab.first_t <= s.max_track_age_s)
    )
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return LaunchCues(float(t), [], no_flights)
    pos = x[rows, 0:2]
    vel = x[rows, 3:5]
    launch = pos - vel * age_s[rows, None]
    # heading error: one plot's cross-range error (the best radar's, at either end of the
    # track) over the distance flown since the first plot, for the two ends
    plot_var_m2 = tracker.best_plot_var_m2(x[rows, 0:3])
    flown_m = v_h[rows] * np.maximum(t - tab.first_t[rows], 0.5)
    sigma = np.sqrt(2.0 * plot_var_m2 / 3.0) / np.maximum(flown_m, 1e-9)
    # climb-rate error: one plot's height error at either end over the time tracked
    climb_sigma = np.sqrt(2.0 * plot_var_m2 / 3.0) / np.maximum(t - tab.first_t[rows], 0.5)
    lat, lon, _ = frame.geodetic_from_enu(pos[:, 0], pos[:, 1], 0.0)
    llat, llon, _ = frame.geodetic_from_enu(launch[:, 0], launch[:, 1], 0.0)
    # every field but the reach, which LaunchCues fills in when a cue is asked for
    heads = [
        LaunchCue(
            track_id=f"T{tab.ids[r]}",
            t_unix_s=float(t),
            first_detection_t_unix_s=float(tab.first_t[r]),
            launch_t_unix_s=float(t - age_s[r]),
            launch_lat=float(llat[i]),
            launch_lon=float(llon[i]),
            lat=float(lat[i]),
            lon=float(lon[i]),
            height_m=float(height[r]),
            ground_speed_m_s=float(v_h[r]),
            climb_m_s=float(v_z[r]),
            speed_margin_m_s=s.speed_margin_m_s,
            heading_sigma_rad=float(min(sigma[i], np.pi)),
            reach_near_m=np.nan,
            reach_far_m=np.nan,
            impact_early_unix_s=np.nan,
            impact_late_unix_s=np.nan,
            confirmed=bool(tab.confirmed[r]),
        )
        for i, r in enumerate(rows.tolist())
    ]
    flights = _Flights(
        x[rows, 0:3], x[rows, 3:6], climb_sigma, setup.earth, ground_alt_m, s.speed_margin_m_s
    )
    return LaunchCues(float(t), heads, flights)


@dataclass(frozen=True)
class _Flights:
    """The arguments of :func:`_reach` for the cues of one scan, one row per cue."""

    pos_enu_m: NDArray[np.float64]
    vel_enu_m_s: NDArray[np.float64]
    climb_sigma_m_s: NDArray[np.float64]
    earth: EarthModel
    ground_alt_m: float
    speed_margin_m_s: float


class LaunchCues:
    """The cues of one scan (:func:`launch_cues`), the reach flown only for those asked for.

    The reach flights are nearly all of a cue's cost, and a consumer needs few of them: the
    warning policy reads a confirmed track's cue only with the track's new prediction
    (``redcolor.warning.base.Policy``), and the predictor makes one about once a second while
    several radars update a track more often (on ``barrage-3000`` 37% of the cues are a
    tentative track's or come with a new prediction). A reach once flown is kept, so the
    consumers of a scan share it. Each row is flown alone (the compiled kernel), so a cue is
    the same, bit for bit, whichever others are asked for with it.
    """

    def __init__(self, t_unix_s: float, heads: list[LaunchCue], flights: _Flights) -> None:
        self.t_unix_s = t_unix_s
        self._heads = heads
        self._flights = flights
        self._track_ids = np.array([c.track_id for c in heads], dtype=np.str_)
        self._confirmed = np.array([c.confirmed for c in heads], dtype=np.bool_)
        self._flown = np.zeros(len(heads), dtype=np.bool_)
        self._reach = np.full((4, len(heads)), np.nan)  # near, far, early, late

    def all(self) -> tuple[LaunchCue, ...]:
        """Every cue, by track id."""
        return self._cues(np.ones(len(self._heads), dtype=np.bool_))

    def select(self, confirmed_ids: Collection[str]) -> tuple[LaunchCue, ...]:
        """The cues of every tentative track and of the confirmed tracks in ``confirmed_ids``
        (those whose prediction a policy decides on), by track id."""
        named = np.isin(self._track_ids, np.array(list(confirmed_ids), dtype=np.str_))
        return self._cues(~self._confirmed | named)

    def _cues(self, want: NDArray[np.bool_]) -> tuple[LaunchCue, ...]:
        todo = np.flatnonzero(want & ~self._flown)
        f = self._flights
        if todo.size:
            reach = _reach(
                f.pos_enu_m[todo], f.vel_enu_m_s[todo], f.climb_sigma_m_s[todo], f.earth,
                f.ground_alt_m, f.speed_margin_m_s,
            )  # fmt: skip
            self._reach[:, todo] = np.stack(reach)
            self._flown[todo] = True
        near, far, early, late = self._reach
        t = self.t_unix_s
        return tuple(
            replace(
                self._heads[i],
                reach_near_m=float(near[i]),
                reach_far_m=float(far[i]),
                impact_early_unix_s=float(t + early[i]),
                impact_late_unix_s=float(t + late[i]),
            )
            for i in np.flatnonzero(want).tolist()
        )


def _reach(
    pos_enu_m: NDArray[np.float64],
    vel_enu_m_s: NDArray[np.float64],
    climb_sigma_m_s: NDArray[np.float64],
    earth: EarthModel,
    ground_alt_m: float,
    speed_margin_m_s: float,
) -> tuple[NDArray[np.float64], ...]:
    """Per state (K, 3): nearest and farthest landing along the ground velocity (m from the
    point under it) and earliest and latest landing time (s from now), over the catalogue's
    lowest and highest ballistic coefficient, the speed less and more the margin and the
    climb rate less and more two sigma."""
    k = pos_enu_m.shape[0]
    lo, hi = reach_betas_kg_m2()
    v_h = np.linalg.norm(vel_enu_m_s[:, 0:2], axis=1)
    ground = vel_enu_m_s[:, 0:2] / np.maximum(v_h, 1e-9)[:, None]
    vel, beta = [], []
    for dv in (-speed_margin_m_s, speed_margin_m_s):
        for dz in (-2.0, 2.0):
            for b in (lo, hi):
                v = vel_enu_m_s.copy()
                v[:, 0:2] = ground * np.maximum(v_h + dv, 1.0)[:, None]
                v[:, 2] += dz * climb_sigma_m_s
                vel.append(v)
                beta.append(np.full(k, b))
    n = len(vel)
    pos = np.concatenate([pos_enu_m] * n)
    hit = propagate_to_ground(
        pos,
        np.concatenate(vel),
        np.concatenate(beta),
        earth,
        FlatTerrain(ground_alt_m),
        dt_s=REACH_DT_S,
        max_time_s=600.0,
    )
    along = np.einsum("nk,nk->n", hit.pos_enu_m[:, 0:2] - pos[:, 0:2], np.tile(ground, (n, 1)))
    along = along.reshape(n, k)
    t = np.where(hit.landed, hit.time_s, np.nan).reshape(n, k)
    return (
        np.maximum(along.min(axis=0), 0.0),
        along.max(axis=0),
        np.nanmin(t, axis=0),
        np.nanmax(t, axis=0),
    )
