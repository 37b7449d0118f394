"""Radar measurement model: the polar frame of one radar seen from the common tracking frame.

Every track lives in one common east-north-up frame (metres, origin ``o``). A radar sits at
``p_r`` (common ENU) and measures in its own local ENU frame, whose axes are the columns of
``A`` (``rot_enu_from_radar``) expressed in the common frame. Away from the origin the two
frames differ by the Earth's curvature (about 0.5 degree per 50 km), which is far more than
the angle noise, so the rotation is kept.

For a state with position ``p`` and velocity ``v`` (common ENU):

.. math::

    d = A^T (p - p_r),\\quad \\rho = \\sqrt{d_e^2 + d_n^2},\\quad r = |d|

    h(x) = [\\,r,\\ \\operatorname{atan2}(d_e, d_n),\\ \\operatorname{atan2}(d_u, \\rho),
            \\ (d \\cdot A^T v) / r\\,]

(range m, azimuth rad clockwise from north, elevation rad, radial velocity m/s; the last only
for radars that measure it). Its Jacobian with respect to ``p`` is ``J_d A^T`` with

.. math::

    \\partial r/\\partial d = d^T / r,\\quad
    \\partial az/\\partial d = [d_n, -d_e, 0] / \\rho^2,\\quad
    \\partial el/\\partial d = [-d_e d_u, -d_n d_u, \\rho^2] / (r^2 \\rho)

and for the radial velocity ``\\partial \\dot r/\\partial d = (w - \\dot r\\, d / r)^T / r``,
``\\partial \\dot r/\\partial w = d^T / r`` with ``w = A^T v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from redcolor.physics.horizon import clears_horizon
from redcolor.tracking.state import STATE_DIM

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class RadarPose:
    """One radar as the tracker sees it: pose in the common frame, noise and coverage.

    Attributes
    ----------
    id : str
        Sensor id, as in its registration and scans.
    pos_enu_m : (3,) float
        Radar position in the common ENU frame, m.
    rot_enu_from_radar : (3, 3) float
        Columns are the radar's local east, north, up unit vectors in the common frame.
    range_sigma_m, angle_sigma_rad : float
        One-sigma measurement noise of range (m) and of azimuth and elevation (rad).
    range_rate_sigma_m_s : float or None
        One-sigma noise of the radial velocity (m/s) when the radar measures it.
    max_range_m, min_elevation_rad : float
        Coverage: a track beyond this range or below this elevation is not expected in a scan.
    """

    id: str
    pos_enu_m: F64
    rot_enu_from_radar: F64
    range_sigma_m: float
    angle_sigma_rad: float
    range_rate_sigma_m_s: float | None
    max_range_m: float
    min_elevation_rad: float

    def noise_cov(self, with_rr: bool) -> F64:
        """Measurement noise covariance, (3, 3) or (4, 4) with radial velocity."""
        sig = [self.range_sigma_m, self.angle_sigma_rad, self.angle_sigma_rad]
        if with_rr:
            sig.append(float(self.range_rate_sigma_m_s or 1.0))
        return np.diag(np.square(np.asarray(sig, dtype=np.float64)))


def radar_local(pos_enu_m: F64, pose: RadarPose) -> F64:
    """Positions (N, 3) common ENU -> offsets (N, 3) in the radar's local ENU frame, m."""
    return (np.asarray(pos_enu_m) - pose.pos_enu_m) @ pose.rot_enu_from_radar


def polar_from_enu(pos_enu_m: F64, vel_enu_m_s: F64 | None, pose: RadarPose) -> F64:
    """Predicted measurement ``h(x)``: (N, 3) [r, az, el] or (N, 4) with radial velocity.

    Azimuth is in [0, 2*pi). ``vel_enu_m_s`` (N, 3) is required only for the radial velocity.
    """
    d = radar_local(pos_enu_m, pose)
    r = np.linalg.norm(d, axis=1)
    az = np.mod(np.arctan2(d[:, 0], d[:, 1]), 2.0 * np.pi)
    el = np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))
    cols = [r, az, el]
    if vel_enu_m_s is not None:
        w = np.asarray(vel_enu_m_s) @ pose.rot_enu_from_radar
        cols.append(np.einsum("ij,ij->i", d, w) / r)
    return np.stack(cols, axis=1)


def measurement_jacobian(x: F64, pose: RadarPose, with_rr: bool) -> F64:
    """Jacobian ``H = dh/dx`` of the polar measurement, (N, m, 7) with m = 3 or 4.

    Parameters
    ----------
    x : (N, 7) float
        States [e, n, u, ve, vn, vu, ln_beta] in the common ENU frame.
    """
    a = pose.rot_enu_from_radar
    d = radar_local(x[:, :3], pose)
    de, dn, du = d[:, 0], d[:, 1], d[:, 2]
    rho2 = de**2 + dn**2
    rho = np.sqrt(rho2)
    r2 = rho2 + du**2
    r = np.sqrt(r2)
    n = x.shape[0]
    m = 4 if with_rr else 3
    jd = np.zeros((n, m, 3))
    jd[:, 0, :] = d / r[:, None]
    jd[:, 1, 0] = dn / rho2
    jd[:, 1, 1] = -de / rho2
    jd[:, 2, 0] = -de * du / (r2 * rho)
    jd[:, 2, 1] = -dn * du / (r2 * rho)
    jd[:, 2, 2] = rho / r2
    h = np.zeros((n, m, STATE_DIM))
    if with_rr:
        w = x[:, 3:6] @ a
        rr = np.einsum("ij,ij->i", d, w) / r
        jd[:, 3, :] = (w - rr[:, None] * d / r[:, None]) / r[:, None]
        h[:, 3, 3:6] = (d / r[:, None]) @ a.T
    h[:, :, 0:3] = jd @ a.T
    return h


def enu_from_polar(z: F64, pose: RadarPose) -> tuple[F64, F64]:
    """Plots (M, >=3) [r, az, el, ...] -> positions (M, 3) and their covariances (M, 3, 3).

    The covariance is the measurement noise pushed through the polar-to-Cartesian Jacobian
    (first order), in the common ENU frame.
    """
    r, az, el = z[:, 0], z[:, 1], z[:, 2]
    ce, se = np.cos(el), np.sin(el)
    sa, ca = np.sin(az), np.cos(az)
    local = np.stack([r * ce * sa, r * ce * ca, r * se], axis=1)
    pos = local @ pose.rot_enu_from_radar.T + pose.pos_enu_m
    j = np.zeros((z.shape[0], 3, 3))
    j[:, :, 0] = np.stack([ce * sa, ce * ca, se], axis=1)
    j[:, :, 1] = np.stack([r * ce * ca, -r * ce * sa, np.zeros_like(r)], axis=1)
    j[:, :, 2] = np.stack([-r * se * sa, -r * se * ca, r * ce], axis=1)
    jg = pose.rot_enu_from_radar @ j
    sig2 = np.array([pose.range_sigma_m, pose.angle_sigma_rad, pose.angle_sigma_rad]) ** 2
    cov = (jg * sig2) @ np.transpose(jg, (0, 2, 1))
    return pos, cov


def in_coverage(
    pos_enu_m: F64,
    pose: RadarPose,
    earth_centre_enu_m: F64,
    ground_radius_m: float,
    lower_by_m: F64 | float = 0.0,
) -> NDArray[np.bool_]:
    """Whether the radar should see each position (N, 3): within range, above its minimum
    elevation, and with a line of sight clearing the ground sphere (radius ``ground_radius_m``
    about ``earth_centre_enu_m``; standard 4/3-Earth refraction, flat terrain:
    :func:`redcolor.physics.horizon.clears_horizon`).

    ``lower_by_m`` (scalar or (N,)) moves each position down first, so an uncertain track near
    the edge of coverage counts as seen only if it would be seen even somewhat lower.
    """
    pos_enu_m = np.array(pos_enu_m, dtype=np.float64, copy=True)
    pos_enu_m[:, 2] -= lower_by_m
    d = radar_local(pos_enu_m, pose)
    r = np.linalg.norm(d, axis=1)
    el = np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1]))
    clear = clears_horizon(
        pose.pos_enu_m - earth_centre_enu_m, pos_enu_m - earth_centre_enu_m, ground_radius_m
    )
    return (r <= pose.max_range_m) & (el >= pose.min_elevation_rad) & clear
