"""The multi-target tracker: it only wires the parts.

For each scan, in time order over all radars: reject bad input (counted by reason), predict
every track to the scan time, gate and assign the plots first to confirmed then to tentative
tracks, update, confirm (M of N), delete, and start tentative tracks from the plots left over.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from redcolor.model import Scan
from redcolor.physics.ballistics import EARTH_MEAN_RADIUS_M
from redcolor.tracking.association import GnnAssociator
from redcolor.tracking.deletion import Deleter, DeleterSettings
from redcolor.tracking.dynamics import AccelModel, Predictor, PredictorSettings
from redcolor.tracking.gating import Gater, GaterSettings
from redcolor.tracking.initiation import KIND_SIGMAS, InitiatorSettings, TwoPointInitiator
from redcolor.tracking.measurement import RadarPose, enu_from_polar, in_coverage
from redcolor.tracking.state import KIND_BALLISTIC, KIND_DRONE, LN_BETA, TrackSnapshot
from redcolor.tracking.table import TrackTable
from redcolor.tracking.update import ekf_update, innovation

F64 = NDArray[np.float64]
DUPLICATE_WINDOW_S = 10.0
"""Tracks confirmed within this many seconds are checked for duplicating an existing one."""
COVERAGE_SIGMAS = 2.0
"""A scan counts as a missed opportunity only if the track would be in the radar's coverage
even this many standard deviations of height lower (low drones skim the radar horizon)."""


@dataclass(frozen=True)
class TrackerSettings:
    """All tracker settings, one frozen group per part (mirrors a TOML table per part).

    ``drone_to_ballistic_speed_m_s``: a drone track whose estimated speed exceeds this is
    re-modelled as ballistic (a projectile first seen slow, near its apogee, or a rocket born
    slow under thrust), unless it may fly level (the initiator's ``level_angle_deg``) below
    the initiator's ``cruise_max_speed_m_s``, both within
    :data:`redcolor.tracking.initiation.KIND_SIGMAS` standard deviations: a cruise missile,
    which the ballistic model would pull down to the ground within seconds (at 100-200 km a plot's
    height is uncertain by a hundred metres or more, so gravity wins). A rocket passes
    through level flight only near its apogee, where gravity turns its path by ``g / v`` rad/s
    (over 2 degrees a second below 300 m/s), so it leaves the 5-degree band within seconds.
    ``cruise_confirm_s``: a drone track faster than a drone (a cruise-missile candidate) is not
    confirmed before it has been tracked this long: a rocket seen near its apogee looks level
    for a few seconds, then falls out of the level band and is re-modelled as ballistic
    (sderot-gaza confirmed two rockets as air-breathers without it). A rocket on a flat
    trajectory descends at a few degrees near its end and stays in the band longer: at 10 s,
    barrage-3000 confirmed 5 such tracks as cruise candidates (250-540 m up, descending 18-30
    m/s at 260-300 m/s), whose corridor pre-alerts warned about 150 areas needlessly; each
    left the band or reached the ground by 13 s (``tests/tracking/test_false_cruise.py``).
    Assumption, 15 s; it costs a cruise missile 15 s of its ~500 s of warning.
    ``max_coast_speed_gain_m_s2``: a tentative track whose estimated speed grew faster than
    this over its last plots is still under thrust (gravity alone gives at most 9.8 m/s^2; a
    burning Fajr-5 motor ~200 m/s^2, a Grad's ~370 m/s^2; the margin covers the filter's
    noise) and is not confirmed yet: the coast model, and any impact point predicted from
    it, would fall short.
    ``ln_beta_bounds``: ASSUMPTION, the physical range of ln(beta / (kg/m^2)) the estimate is
    held to (the catalogue spans ~8,000-18,000; a few hundred would make the coast equation
    stiff and is never a real projectile).
    """

    predictor: PredictorSettings = field(default_factory=PredictorSettings)
    gater: GaterSettings = field(default_factory=GaterSettings)
    initiator: InitiatorSettings = field(default_factory=InitiatorSettings)
    deleter: DeleterSettings = field(default_factory=DeleterSettings)
    drone_to_ballistic_speed_m_s: float = 220.0
    ln_beta_bounds: tuple[float, float] = (float(np.log(1500.0)), float(np.log(2.0e5)))
    max_coast_speed_gain_m_s2: float = 20.0
    cruise_confirm_s: float = 15.0


REJECT_REASONS = ("unknown_sensor", "out_of_order", "bad_time", "non_finite_plot", "bad_plot")


class Tracker:
    """Measurements in, tracks out, in one common ENU frame.

    Parameters
    ----------
    poses : the registered radars, by id.
    accel : coast physics of ballistic tracks (see :class:`AccelModel`).
    origin_alt_m : altitude of the common frame's origin (m above the ellipsoid).
    ground_alt_m : terrain altitude (flat), m.
    """

    def __init__(
        self,
        poses: dict[str, RadarPose],
        accel: AccelModel,
        *,
        origin_alt_m: float,
        ground_alt_m: float,
        settings: TrackerSettings | None = None,
    ) -> None:
        self.settings = settings or TrackerSettings()
        self.poses = dict(poses)
        self.origin_alt_m = origin_alt_m
        self.ground_alt_m = ground_alt_m
        self.predictor = Predictor(self.settings.predictor, accel)
        self.gater = Gater(self.settings.gater)
        self.associator = GnnAssociator()
        self.initiator = TwoPointInitiator(self.settings.initiator)
        self.deleter = Deleter(self.settings.deleter)
        self.tracks = TrackTable()
        self.t_unix_s = -math.inf
        self.rejected: Counter[str] = Counter({r: 0 for r in REJECT_REASONS})
        self.scans_processed = 0

    # ---------------------------------------------------------------- input checks
    def _accept(self, scan: Scan) -> tuple[RadarPose, F64] | None:
        pose = self.poses.get(scan.sensor)
        if pose is None:
            self.rejected["unknown_sensor"] += 1
            return None
        if not math.isfinite(scan.t):
            self.rejected["bad_time"] += 1
            return None
        if scan.t < self.t_unix_s:
            self.rejected["out_of_order"] += 1
            return None
        with_rr = pose.range_rate_sigma_m_s is not None and all(
            p.rr is not None for p in scan.plots
        )
        cols = 4 if with_rr else 3
        z = np.array(
            [(p.r, p.az, p.el, p.rr)[:cols] for p in scan.plots], dtype=np.float64
        ).reshape(-1, cols)
        finite = np.all(np.isfinite(z), axis=1)
        sane = finite & (z[:, 0] > 0.0) & (np.abs(z[:, 2]) <= np.pi / 2)
        self.rejected["non_finite_plot"] += int((~finite).sum())
        self.rejected["bad_plot"] += int((finite & ~sane).sum())
        z = z[sane]
        z[:, 1] = np.mod(z[:, 1], 2.0 * np.pi)
        return pose, z

    # ---------------------------------------------------------------- one scan
    def process(self, scan: Scan) -> None:
        """Take one scan. Bad scans and plots are counted in ``rejected`` and dropped."""
        accepted = self._accept(scan)
        if accepted is None:
            return
        pose, z = accepted
        t = float(scan.t)
        tab = self.tracks
        if tab.size and t > self.t_unix_s:
            tab.x, tab.P = self.predictor.predict(
                tab.x, tab.P, tab.kind, tab.n_hits, t - self.t_unix_s
            )
        self.t_unix_s = t
        self.scans_processed += 1
        plot_pos, plot_cov = enu_from_polar(z, pose)
        with_rr = z.shape[1] == 4
        r_cov = pose.noise_cov(with_rr)
        assigned = np.full(tab.size, -1, dtype=np.int64)
        plot_free = np.ones(z.shape[0], dtype=bool)
        for group in (tab.confirmed, ~tab.confirmed):
            rows = np.flatnonzero(group)
            cols = np.flatnonzero(plot_free)
            if rows.size == 0 or cols.size == 0:
                continue
            inno = innovation(tab.x[rows], tab.P[rows], pose, with_rr)
            plot_var = pose.range_sigma_m**2 + 2.0 * (inno.z_pred[:, 0] * pose.angle_sigma_rad) ** 2
            pairs = self.gater.gate(
                tab.x[rows, 0:3], tab.P[rows, 0:3, 0:3], inno, plot_pos[cols], plot_var, z[cols]
            )
            miss = self.gater.threshold(z.shape[1]) + inno.log_det_S
            got = self.associator.assign(rows.size, cols.size, pairs.track, pairs.plot,
                                         pairs.cost, miss)  # fmt: skip
            hit = got >= 0
            if np.any(hit):
                r_idx, p_idx = rows[hit], cols[got[hit]]
                sub = inno.take(hit)
                tab.x[r_idx], tab.P[r_idx], _ = ekf_update(
                    tab.x[r_idx], tab.P[r_idx], z[p_idx], sub, r_cov
                )
                lo, hi = self.settings.ln_beta_bounds
                tab.x[r_idx, LN_BETA] = np.clip(tab.x[r_idx, LN_BETA], lo, hi)
                assigned[r_idx] = p_idx
                plot_free[p_idx] = False
        self._bookkeep(t, pose, assigned >= 0)
        free_pos = plot_pos[plot_free]
        new = self.initiator.initiate(
            t, free_pos, plot_cov[plot_free], self.height_above_ground_m(free_pos)
        )
        tab.append(new.x, new.P, new.kind, new.first_t_unix_s, t)

    def _bookkeep(self, t: float, pose: RadarPose, hit: NDArray[np.bool_]) -> None:
        tab = self.tracks
        if tab.size == 0:
            return
        radius_m = EARTH_MEAN_RADIUS_M
        centre = np.array([0.0, 0.0, -(radius_m + self.origin_alt_m)])
        lower = COVERAGE_SIGMAS * np.sqrt(np.maximum(tab.P[:, 2, 2], 0.0))
        seen = in_coverage(tab.x[:, 0:3], pose, centre, radius_m + self.ground_alt_m, lower)
        opportunity = hit | seen
        tab.record(hit, opportunity, t)
        self._relabel()
        st = self.settings
        coasting = tab.speed_gain_m_s2 <= st.max_coast_speed_gain_m_s2
        speed = np.linalg.norm(tab.x[:, 3:6], axis=1)
        young_fast_air = (
            (tab.kind == KIND_DRONE)
            & (speed > st.initiator.drone_max_speed_m_s)
            & (t - tab.first_t < st.cruise_confirm_s)
        )
        newly = ~tab.confirmed & self.initiator.confirmed(tab.hist) & coasting & ~young_fast_air
        tab.confirmed_t[newly] = t
        tab.confirmed |= newly
        drop = self.deleter.to_delete(
            t, tab.confirmed, tab.misses, tab.last_update_t, tab.kind,
            self.height_above_ground_m(tab.x[:, 0:3]),
            np.trace(tab.P[:, 0:3, 0:3], axis1=1, axis2=2), self.best_plot_var_m2(tab.x[:, 0:3]),
        )  # fmt: skip
        recent = tab.confirmed_t >= t - DUPLICATE_WINDOW_S
        drop |= self.deleter.duplicates(tab.x, tab.P, tab.confirmed & ~drop, recent, tab.n_hits)
        tab.keep(~drop)

    def _relabel(self) -> None:
        """Re-model fast drone tracks that clearly do not fly level as ballistic."""
        tab, st = self.tracks, self.settings
        vel = tab.x[:, 3:6]
        speed = np.linalg.norm(vel, axis=1)
        up = tab.x[:, 0:3] + np.array([0.0, 0.0, EARTH_MEAN_RADIUS_M + self.origin_alt_m])
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        climb = np.abs(np.einsum("ij,ij->i", vel, up))
        along = vel / np.maximum(speed, 1e-9)[:, None]
        p_vv = tab.P[:, 3:6, 3:6]
        climb_sd = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", up, p_vv, up), 0.0))
        speed_sd = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", along, p_vv, along), 0.0))
        ini = st.initiator
        level = climb - KIND_SIGMAS * climb_sd <= np.sin(np.radians(ini.level_angle_deg)) * speed
        cruising = level & (speed - KIND_SIGMAS * speed_sd < ini.cruise_max_speed_m_s)
        relabel = (tab.kind == KIND_DRONE) & (speed > st.drone_to_ballistic_speed_m_s) & ~cruising
        if np.any(relabel):
            s = st.initiator
            tab.kind[relabel] = KIND_BALLISTIC
            tab.x[relabel, LN_BETA] = s.ln_beta_prior
            tab.P[relabel, LN_BETA, :] = 0.0
            tab.P[relabel, :, LN_BETA] = 0.0
            tab.P[relabel, LN_BETA, LN_BETA] = s.ln_beta_sigma**2

    def best_plot_var_m2(self, pos_enu_m: F64) -> F64:
        """Trace (N,) of the position covariance of one plot, from the radar giving the
        smallest, at positions (N, 3): range variance plus two cross-range variances."""
        best = np.full(pos_enu_m.shape[0], np.inf)
        for pose in self.poses.values():
            range_m = np.linalg.norm(pos_enu_m - pose.pos_enu_m, axis=1)
            var = pose.range_sigma_m**2 + 2.0 * (range_m * pose.angle_sigma_rad) ** 2
            best = np.minimum(best, var)
        return best

    def height_above_ground_m(self, pos_enu_m: F64) -> F64:
        """Height (N,) of common-frame positions (N, 3) above the flat terrain, spherical Earth."""
        drop = (pos_enu_m[:, 0] ** 2 + pos_enu_m[:, 1] ** 2) / (2.0 * EARTH_MEAN_RADIUS_M)
        return pos_enu_m[:, 2] + drop + self.origin_alt_m - self.ground_alt_m

    def snapshot(self) -> TrackSnapshot:
        """The confirmed tracks now (copies)."""
        tab = self.tracks
        c = tab.confirmed
        return TrackSnapshot(
            t_unix_s=self.t_unix_s,
            ids=np.array([f"T{i}" for i in tab.ids[c]], dtype=np.str_),
            x=tab.x[c].copy(),
            P=tab.P[c].copy(),
            kind=tab.kind[c].copy(),
            first_detection_t_unix_s=tab.first_t[c].copy(),
            confirmed_t_unix_s=tab.confirmed_t[c].copy(),
            last_update_t_unix_s=tab.last_update_t[c].copy(),
        )
