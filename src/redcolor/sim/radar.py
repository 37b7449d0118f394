"""Radar model: what one radar reports of the objects in the air at one scan.

Geometry
--------
The radar sits at its registered (lat, lon, alt_m); its polar frame is its own WGS84
tangent-plane ENU (:class:`redcolor.geo.frame.LocalFrame` at the radar), so a tracker that
converts plots with the registration recovers the simulator's positions exactly. For a target
at ``d = R (p - p_radar)`` (``R`` rotates scenario-ENU axes into radar-ENU axes)::

    r = |d|,   az = atan2(d_e, d_n) mod 2 pi,   el = asin(d_u / r),   rr = d . v / r

Visibility (assumptions: standard refraction, flat terrain, no terrain masking beyond the
sphere): ``r <= max_range``, ``el >= min_elevation`` and the line of sight, refracted as a
straight ray over a 4/3 effective Earth (:mod:`redcolor.physics.horizon`), clears the ground
sphere of radius ``R_earth + ground_alt_m``. A target 100 m up is below the horizon of a radar
500 m up beyond ~133 km.

Measurement (labelled assumptions, since no public figures exist; REFERENCE.md "Radars"):
each visible object is detected independently with probability ``Pd``; range, azimuth and
elevation get independent Gaussian noise (``range_sigma_m``, ``angle_sigma_mrad``), radial
velocity too when ``range_rate_sigma_m_s`` is set. False alarms: Poisson with mean
``false_alarms_per_scan``, uniform over the covered volume (range ``max_range * U^(1/3)``,
azimuth uniform, sine of elevation uniform above the minimum elevation), with radial velocities
uniform in +-600 m/s. All plots of a scan carry the scan time (electronic scanning) and are
shuffled so their order tells nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from redcolor.geo.frame import LocalFrame
from redcolor.model import Plot, Scan, SensorRegistration
from redcolor.physics.ballistics import BoolArray, EarthModel, FloatArray
from redcolor.physics.horizon import clears_horizon

CLUTTER_MAX_RANGE_RATE_M_S = 600.0
"""False alarms carry radial velocities uniform in +- this (assumption)."""


@dataclass(frozen=True)
class RadarModel:
    """One radar placed in a scenario's ENU frame.

    Attributes
    ----------
    registration : SensorRegistration
    pos_enu_m : ndarray (3,)
        Radar position in the scenario frame.
    axes : ndarray (3, 3)
        Rows are the radar's east, north and up unit vectors in the scenario frame.
    earth : EarthModel
    ground_alt_m : float
    """

    registration: SensorRegistration
    pos_enu_m: FloatArray
    axes: FloatArray
    earth: EarthModel
    ground_alt_m: float

    @classmethod
    def place(
        cls, reg: SensorRegistration, frame: LocalFrame, earth: EarthModel, ground_alt_m: float
    ) -> RadarModel:
        """Position and orient a registered radar in ``frame``."""
        pos = np.array(frame.enu_from_geodetic(reg.lat, reg.lon, reg.alt_m), dtype=np.float64)
        own = LocalFrame(reg.lat, reg.lon, reg.alt_m)
        probe = 1_000.0 * np.eye(3)
        lat, lon, alt = own.geodetic_from_enu(probe[:, 0], probe[:, 1], probe[:, 2])
        ends = np.column_stack(frame.enu_from_geodetic(lat, lon, alt))
        axes = (ends - pos) / 1_000.0
        u, _, vt = np.linalg.svd(axes)  # re-orthonormalise (rounding only)
        return cls(reg, pos, u @ vt, earth, ground_alt_m)

    def polar(self, pos_enu_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Range (m), azimuth (rad, [0, 2 pi)) and elevation (rad) of positions (M, 3)."""
        d = (pos_enu_m - self.pos_enu_m) @ self.axes.T
        r = np.linalg.norm(d, axis=1)
        az = np.mod(np.arctan2(d[:, 0], d[:, 1]), 2.0 * np.pi)
        el = np.arcsin(np.clip(d[:, 2] / np.maximum(r, 1e-9), -1.0, 1.0))
        return r, az, el

    def range_rate_m_s(self, pos_enu_m: FloatArray, vel_enu_m_s: FloatArray) -> FloatArray:
        """Radial velocity, positive receding, (M,)."""
        d = pos_enu_m - self.pos_enu_m
        r = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        return np.einsum("ij,ij->i", d, vel_enu_m_s) / r

    @cached_property
    def _sight_origin(self) -> FloatArray:
        """Where lines of sight start, relative to Earth's centre: the radar, raised to 0.5 m
        above the ground sphere if the WGS84-to-sphere difference (metres, growing with the
        distance from the origin) puts it lower."""
        p0 = self.pos_enu_m - self.earth.centre_enu_m
        floor_m = self.earth.radius_m + self.ground_alt_m + 0.5
        norm = float(np.linalg.norm(p0))
        return p0 if norm >= floor_m else p0 * (floor_m / norm)

    def line_of_sight(self, pos_enu_m: FloatArray) -> BoolArray:
        """True where the refracted line of sight from the radar clears the ground sphere."""
        ground_r = self.earth.radius_m + self.ground_alt_m
        return clears_horizon(self._sight_origin, pos_enu_m - self.earth.centre_enu_m, ground_r)

    def visible(self, pos_enu_m: FloatArray) -> BoolArray:
        """Within range, above the minimum elevation and above the horizon, (M,)."""
        reg = self.registration
        r, _, el = self.polar(pos_enu_m)
        return (
            (r <= reg.max_range_km * 1_000.0)
            & (el >= np.radians(reg.min_elevation_deg))
            & self.line_of_sight(pos_enu_m)
        )

    def scan(
        self,
        t_unix_s: float,
        pos_enu_m: FloatArray,
        vel_enu_m_s: FloatArray,
        rng: np.random.Generator,
    ) -> Scan:
        """One scan of the objects at ``pos_enu_m``/``vel_enu_m_s`` (M, 3) at ``t_unix_s``.

        Draws, in this order: M uniforms (detection), (M, 4) standard normals (noise), the
        false-alarm count and its (K, 4) uniforms, then the shuffle; the same generator state
        and inputs give the same scan.
        """
        reg = self.registration
        m = pos_enu_m.shape[0]
        detect_u = rng.random(m)
        noise = rng.standard_normal((m, 4))
        seen = self.visible(pos_enu_m) & (detect_u < reg.detection_probability)
        r, az, el = self.polar(pos_enu_m[seen])
        sig_a = reg.angle_sigma_mrad * 1e-3
        nz = noise[seen]
        r = r + reg.range_sigma_m * nz[:, 0]
        az = np.mod(az + sig_a * nz[:, 1], 2.0 * np.pi)
        el = el + sig_a * nz[:, 2]
        rr = None
        if reg.range_rate_sigma_m_s is not None:
            rr = self.range_rate_m_s(pos_enu_m[seen], vel_enu_m_s[seen])
            rr = rr + reg.range_rate_sigma_m_s * nz[:, 3]
        k = int(rng.poisson(reg.false_alarms_per_scan))
        cu = rng.random((k, 4))
        sin_lo = np.sin(np.radians(reg.min_elevation_deg))
        fr = reg.max_range_km * 1_000.0 * np.cbrt(cu[:, 0])
        faz = 2.0 * np.pi * cu[:, 1]
        fel = np.arcsin(sin_lo + (1.0 - sin_lo) * cu[:, 2])
        frr = CLUTTER_MAX_RANGE_RATE_M_S * (2.0 * cu[:, 3] - 1.0)
        all_r = np.concatenate([r, fr])
        all_az = np.concatenate([az, faz])
        all_el = np.concatenate([el, fel])
        all_rr = None if rr is None else np.concatenate([rr, frr])
        order = rng.permutation(all_r.size)
        keep = order[all_r[order] > 0.0]
        rs = np.round(all_r[keep], 2).tolist()
        azs = np.round(all_az[keep], 7).tolist()
        els = np.round(all_el[keep], 7).tolist()
        if all_rr is None:
            plots = [Plot(r=a, az=b, el=c) for a, b, c in zip(rs, azs, els, strict=True)]
        else:
            rrs = np.round(all_rr[keep], 2).tolist()
            plots = [
                Plot(r=a, az=b, el=c, rr=d) for a, b, c, d in zip(rs, azs, els, rrs, strict=True)
            ]
        return Scan(sensor=reg.id, t=round(t_unix_s, 6), plots=plots)
