"""Impact-point prediction with uncertainty, for every confirmed track.

Ballistic tracks: the unscented transform. For a state ``x`` (7) with covariance ``P`` the
``2n + 1`` sigma points (n = 7, kappa = 0, so the centre point has weight 0)::

    X_0 = x,   X_{+-k} = x +- sqrt(n) L[:, k],   L L^T = P,   w_{+-k} = 1 / (2n)

are flown to the terrain through the simulator's own coast physics
(:func:`redcolor.physics.ballistics.propagate_to_ground`, with the *estimated* ballistic coefficient
of each sigma point, never the projectile's true one). The impact points are moved into the
local east/north plane at the mean impact; their weighted mean and covariance give the impact
point and its 2x2 covariance, and the impact times the mean time and its spread.

Unknown wind (ASSUMPTION, labelled): the tracker does not estimate wind. Its effect on the rest
of the flight is added to the covariance with the classical lag rule of exterior ballistics
(Didion; McCoy, *Modern Exterior Ballistics*, ch. 8): a steady wind ``w`` displaces the impact
by ``w (T - X / v_h)``, with ``T`` the remaining flight time, ``X`` the remaining ground range
and ``v_h`` the current horizontal speed. Wind of ``wind_sigma_m_s`` per horizontal axis adds
``(wind_sigma_m_s * lag)^2`` to each axis. A ``model_floor_m`` (also an assumption) covers the
sphere-versus-ellipsoid ground and the linear ground-crossing interpolation.

Drone tracks: nearly-constant-velocity extrapolation of the ground path over ``drone_horizon_s``
(the covariance grows with the drone model's manoeuvre noise); the "impact" is the path's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.stats import chi2

from redcolor.geo.frame import LocalFrame
from redcolor.physics.ballistics import EarthModel, FlatTerrain, propagate_to_ground
from redcolor.tracking.state import KIND_DRONE, KIND_NAMES, LN_BETA, STATE_DIM, TrackSnapshot

F64 = NDArray[np.float64]
_EMPTY = np.zeros(0)


@dataclass(frozen=True)
class ImpactPrediction:
    """Where and when one tracked object is predicted to come down.

    Attributes
    ----------
    track_id : str
    t_unix_s : float
        Time of the scan this prediction comes from.
    kind : str
        "ballistic" or "drone".
    first_detection_t_unix_s : float
        Time of the track's first plot.
    impact_t_unix_s, impact_t_sigma_s : float
        Mean predicted impact time and its standard deviation (drones: end of the path).
    impact_lat, impact_lon : float
        Mean predicted impact point, degrees WGS84.
    cov_en_m2 : (2, 2) float
        Impact-point covariance in local east/north metres at the mean point.
    speed_m_s : float
        Current estimated speed.
    path_lat, path_lon, path_t_unix_s : (K,) float
        Drones: the predicted ground path; ballistic: empty.
    """

    track_id: str
    t_unix_s: float
    kind: str
    first_detection_t_unix_s: float
    impact_t_unix_s: float
    impact_t_sigma_s: float
    impact_lat: float
    impact_lon: float
    cov_en_m2: F64
    speed_m_s: float
    path_lat: F64 = field(default_factory=lambda: _EMPTY)
    path_lon: F64 = field(default_factory=lambda: _EMPTY)
    path_t_unix_s: F64 = field(default_factory=lambda: _EMPTY)

    def region(self, confidence: float, n_vertices: int = 48) -> shapely.Polygon:
        """The impact region at ``confidence`` (0-1) as a WGS84 polygon (x = lon, y = lat).

        The ellipse ``d^T C^-1 d <= chi2.ppf(confidence, 2)`` around the mean point; for a
        drone, the convex hull of that ellipse along the predicted path.
        """
        frame = LocalFrame(self.impact_lat, self.impact_lon)
        ring = ellipse_points_m(self.cov_en_m2, confidence, n_vertices)
        if self.kind == "drone" and self.path_lat.size:
            px, py = frame.project(self.path_lat, self.path_lon)
            pts = (ring[None, :, :] + np.stack([px, py], 1)[:, None, :]).reshape(-1, 2)
            hull = shapely.convex_hull(shapely.multipoints(pts))
            return frame.to_wgs84(hull)
        lat, lon = frame.unproject(ring[:, 0], ring[:, 1])
        return shapely.Polygon(np.stack([lon, lat], axis=1))

    def mahalanobis2(self, lat: float, lon: float) -> float:
        """Squared Mahalanobis distance of a point from the mean impact (chi-square, 2 dof)."""
        x, y = LocalFrame(self.impact_lat, self.impact_lon).project(lat, lon)
        d = np.array([float(x), float(y)])
        return float(d @ np.linalg.solve(self.cov_en_m2, d))


def ellipse_points_m(cov_en_m2: F64, confidence: float, n_vertices: int) -> F64:
    """Vertices (n_vertices, 2) of the confidence ellipse of a 2x2 covariance, metres."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    k = np.sqrt(chi2.ppf(confidence, 2))
    vals, vecs = np.linalg.eigh(cov_en_m2)
    ang = np.linspace(0.0, 2.0 * np.pi, n_vertices, endpoint=False)
    unit = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    return k * (unit * np.sqrt(np.maximum(vals, 0.0))) @ vecs.T


@dataclass(frozen=True)
class PredictionSettings:
    """Impact-prediction settings.

    Attributes
    ----------
    dt_s : float
        RK4 step of the flight to the ground (the simulator integrates the same way).
    max_time_s : float
        Longest remaining flight considered.
    wind_sigma_m_s : float
        ASSUMPTION: unknown steady wind, standard deviation per horizontal axis.
    model_floor_m : float
        ASSUMPTION: standard deviation added per axis for modelling residuals.
    drone_horizon_s, drone_step_s : float
        Length and step of the predicted drone path.
    drone_q_m2_s3 : float
        Manoeuvre noise of the drone path (matches the tracker's drone model by default).
    ln_beta_bounds : (float, float)
        ASSUMPTION: sigma points' ln(beta) is held to this physical range (as in the tracker).
    """

    dt_s: float = 1.0
    max_time_s: float = 1500.0
    wind_sigma_m_s: float = 4.0
    model_floor_m: float = 10.0
    drone_horizon_s: float = 120.0
    drone_step_s: float = 5.0
    drone_q_m2_s3: float = 8.0
    ln_beta_bounds: tuple[float, float] = (float(np.log(1500.0)), float(np.log(2.0e5)))


@dataclass(frozen=True)
class ImpactPredictor:
    """Predicts impacts of the confirmed tracks of one tracker frame."""

    frame: LocalFrame
    earth: EarthModel
    ground_alt_m: float
    settings: PredictionSettings = field(default_factory=PredictionSettings)

    def predict(
        self, tracks: TrackSnapshot, rows: NDArray[np.int64] | None = None
    ) -> list[ImpactPrediction]:
        """Predictions for the given rows of ``tracks`` (default all), in row order."""
        idx = np.arange(len(tracks)) if rows is None else np.asarray(rows, dtype=np.int64)
        drone = tracks.kind[idx] == KIND_DRONE
        out: dict[int, ImpactPrediction] = {}
        out.update(self._ballistic(tracks, idx[~drone]))
        out.update(self._drone(tracks, idx[drone]))
        return [out[int(i)] for i in idx if int(i) in out]

    # ------------------------------------------------------------------ ballistic
    def _ballistic(
        self, tracks: TrackSnapshot, idx: NDArray[np.int64]
    ) -> dict[int, ImpactPrediction]:
        if idx.size == 0:
            return {}
        s = self.settings
        n = STATE_DIM
        x, p = tracks.x[idx], tracks.P[idx]
        chol = _safe_cholesky(p) * np.sqrt(n)
        offsets = np.concatenate([np.zeros((idx.size, 1, n)), np.transpose(chol, (0, 2, 1)),
                                  -np.transpose(chol, (0, 2, 1))], axis=1)  # fmt: skip
        sig = x[:, None, :] + offsets  # (M, 2n+1, 7)
        flat = sig.reshape(-1, n)
        ln_beta = np.clip(flat[:, LN_BETA], *s.ln_beta_bounds)
        with np.errstate(invalid="ignore", over="ignore"):
            imp = propagate_to_ground(
                flat[:, 0:3], flat[:, 3:6], np.exp(ln_beta), self.earth,
                FlatTerrain(self.ground_alt_m), dt_s=s.dt_s, max_time_s=s.max_time_s,
            )  # fmt: skip
        pos_flat, tof_flat = imp.pos_enu_m, imp.time_s
        pos = pos_flat.reshape(idx.size, 2 * n + 1, 3)
        tof = tof_flat.reshape(idx.size, 2 * n + 1)
        ok = np.all(np.isfinite(tof), axis=1) & np.all(np.isfinite(pos), axis=(1, 2))
        w = np.full(2 * n + 1, 1.0 / (2 * n))
        w[0] = 0.0
        mean_pos = np.einsum("k,mkj->mj", w, pos)
        east, north = _local_axes(mean_pos, self.earth)
        d = pos - mean_pos[:, None, :]
        en = np.stack([np.einsum("mkj,mj->mk", d, east), np.einsum("mkj,mj->mk", d, north)], -1)
        cov = np.einsum("k,mki,mkj->mij", w, en, en)
        t_mean = tof @ w
        t_sigma = np.sqrt(np.maximum(((tof - t_mean[:, None]) ** 2) @ w, 0.0))
        v_h = np.maximum(np.linalg.norm(x[:, 3:5], axis=1), 1.0)
        ground_range = np.linalg.norm(mean_pos[:, 0:2] - x[:, 0:2], axis=1)
        lag = np.maximum(t_mean - ground_range / v_h, 0.0)
        extra = (s.wind_sigma_m_s * lag) ** 2 + s.model_floor_m**2
        cov = cov + extra[:, None, None] * np.eye(2)
        lat, lon, _ = self.frame.geodetic_from_enu(mean_pos[:, 0], mean_pos[:, 1], mean_pos[:, 2])
        speed = np.linalg.norm(x[:, 3:6], axis=1)
        out = {}
        for k, i in enumerate(idx):
            if not ok[k]:
                continue
            out[int(i)] = ImpactPrediction(
                track_id=str(tracks.ids[i]),
                t_unix_s=tracks.t_unix_s,
                kind=KIND_NAMES[0],
                first_detection_t_unix_s=float(tracks.first_detection_t_unix_s[i]),
                impact_t_unix_s=tracks.t_unix_s + float(t_mean[k]),
                impact_t_sigma_s=float(t_sigma[k]),
                impact_lat=float(lat[k]),
                impact_lon=float(lon[k]),
                cov_en_m2=cov[k],
                speed_m_s=float(speed[k]),
            )
        return out

    # ------------------------------------------------------------------ drones
    def _drone(self, tracks: TrackSnapshot, idx: NDArray[np.int64]) -> dict[int, ImpactPrediction]:
        s = self.settings
        out = {}
        tau = np.arange(0.0, s.drone_horizon_s + 1e-9, s.drone_step_s)
        for i in idx:
            x, p = tracks.x[i], tracks.P[i]
            path = x[None, 0:3] + tau[:, None] * x[None, 3:6]
            lat, lon, _ = self.frame.geodetic_from_enu(path[:, 0], path[:, 1], path[:, 2])
            h = tau[-1]
            pp, pv, vv = p[0:2, 0:2], p[0:2, 3:5], p[3:5, 3:5]
            cov = pp + h * (pv + pv.T) + h**2 * vv + s.drone_q_m2_s3 * h**3 / 3.0 * np.eye(2)
            out[int(i)] = ImpactPrediction(
                track_id=str(tracks.ids[i]),
                t_unix_s=tracks.t_unix_s,
                kind=KIND_NAMES[1],
                first_detection_t_unix_s=float(tracks.first_detection_t_unix_s[i]),
                impact_t_unix_s=tracks.t_unix_s + float(h),
                impact_t_sigma_s=0.0,
                impact_lat=float(lat[-1]),
                impact_lon=float(lon[-1]),
                cov_en_m2=cov,
                speed_m_s=float(np.linalg.norm(x[3:6])),
                path_lat=lat,
                path_lon=lon,
                path_t_unix_s=tracks.t_unix_s + tau,
            )
        return out


def _local_axes(pos_enu_m: F64, earth: EarthModel) -> tuple[F64, F64]:
    """Unit local east and north (M, 3) at points of the frame (sphere, Earth's spin axis)."""
    up = earth.up_enu(pos_enu_m)
    lat0 = np.radians(earth.lat0_deg)
    axis = np.array([0.0, np.cos(lat0), np.sin(lat0)])
    east = np.cross(axis, up)
    east /= np.linalg.norm(east, axis=1, keepdims=True)
    return east, np.cross(up, east)


def _safe_cholesky(p: F64) -> F64:
    """Lower Cholesky factors (M, n, n); a symmetric eigen-square-root where P is not PD."""
    try:
        return np.asarray(np.linalg.cholesky(p), dtype=np.float64)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(0.5 * (p + np.transpose(p, (0, 2, 1))))
        return vecs * np.sqrt(np.maximum(vals, 0.0))[:, None, :]


def predict_impacts(tracks: TrackSnapshot, predictor: ImpactPredictor) -> list[ImpactPrediction]:
    """Predictions for every confirmed track in ``tracks`` (time ``tracks.t_unix_s``)."""
    return predictor.predict(tracks)
