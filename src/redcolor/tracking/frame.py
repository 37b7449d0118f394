"""The common tracking frame: radar poses from registrations, and the coast physics in it.

All tracks live in one east-north-up frame (:class:`redcolor.geo.frame.LocalFrame`), by default
centred at the mean radar position. A radar's own ENU frame is an exact affine image of the
common one (both are rigid transforms of ECEF), so its origin and axes are found by mapping
four points through geodetic coordinates: the radar, and one kilometre along each local axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.errors import InputError
from redcolor.geo.frame import LocalFrame
from redcolor.model import SensorRegistration
from redcolor.physics.ballistics import EarthModel, coast_accel
from redcolor.tracking.measurement import RadarPose
from redcolor.tracking.tracker import Tracker, TrackerSettings

F64 = NDArray[np.float64]
_AXIS_M = 1000.0


def common_frame(
    registrations: Sequence[SensorRegistration], origin: tuple[float, float, float] | None = None
) -> LocalFrame:
    """The tracking frame: ``origin`` (lat, lon, alt_m) or the mean radar position."""
    if origin is not None:
        return LocalFrame(*origin)
    if not registrations:
        raise InputError("no sensor registrations: the tracker needs at least one radar")
    lat = float(np.mean([r.lat for r in registrations]))
    lon = float(np.mean([r.lon for r in registrations]))
    alt = float(np.mean([r.alt_m for r in registrations]))
    return LocalFrame(lat, lon, alt)


def radar_pose(reg: SensorRegistration, frame: LocalFrame) -> RadarPose:
    """One registration as a :class:`RadarPose` in the common frame."""
    local = LocalFrame(reg.lat, reg.lon, reg.alt_m)
    pts = np.array([[0, 0, 0], [_AXIS_M, 0, 0], [0, _AXIS_M, 0], [0, 0, _AXIS_M]], dtype=float)
    lat, lon, alt = local.geodetic_from_enu(pts[:, 0], pts[:, 1], pts[:, 2])
    e, n, u = frame.enu_from_geodetic(lat, lon, alt)
    common = np.stack([e, n, u], axis=1)
    rot = ((common[1:] - common[0]) / _AXIS_M).T
    u_, _, vt = np.linalg.svd(rot)  # re-orthonormalise away float noise
    return RadarPose(
        id=reg.id,
        pos_enu_m=common[0],
        rot_enu_from_radar=u_ @ vt,
        range_sigma_m=reg.range_sigma_m,
        angle_sigma_rad=reg.angle_sigma_mrad * 1e-3,
        range_rate_sigma_m_s=reg.range_rate_sigma_m_s,
        max_range_m=reg.max_range_km * 1000.0,
        min_elevation_rad=float(np.radians(reg.min_elevation_deg)),
    )


@dataclass(frozen=True)
class CoastPhysics:
    """The simulator's coast physics (gravity, drag by Mach, Earth rotation), no wind: wind
    is unknown to the tracker and is left to process noise."""

    earth: EarthModel

    def __call__(self, pos_enu_m: F64, vel_enu_m_s: F64, beta_kg_m2: F64) -> F64:
        return coast_accel(pos_enu_m, vel_enu_m_s, beta_kg_m2, self.earth)


@dataclass(frozen=True)
class TrackingSetup:
    """A tracker wired to its frame: ``frame`` (geo), ``earth`` (physics) and the tracker."""

    frame: LocalFrame
    earth: EarthModel
    tracker: Tracker


def build_tracker(
    registrations: Sequence[SensorRegistration],
    *,
    ground_alt_m: float = 0.0,
    origin: tuple[float, float, float] | None = None,
    settings: TrackerSettings | None = None,
) -> TrackingSetup:
    """A tracker for these radars in their common frame, over flat terrain at ``ground_alt_m``."""
    frame = common_frame(registrations, origin)
    earth = EarthModel(frame.lat0_deg, frame.lon0_deg, frame.alt0_m)
    poses = {r.id: radar_pose(r, frame) for r in registrations}
    tracker = Tracker(
        poses,
        CoastPhysics(earth),
        origin_alt_m=frame.alt0_m,
        ground_alt_m=ground_alt_m,
        settings=settings,
    )
    return TrackingSetup(frame, earth, tracker)
