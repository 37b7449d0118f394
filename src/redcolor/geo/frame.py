"""Local metric frames around an origin: 3-D east-north-up and a 2-D ground projection.

Two frames share one origin ``(lat0_deg, lon0_deg, alt0_m)`` on the WGS84 ellipsoid:

* **ENU** (east, north, up; metres) is the true tangent-plane frame: geodetic -> ECEF (pyproj,
  EPSG:4979 -> EPSG:4978) and then the fixed rotation ``R`` whose rows are the unit east, north
  and up vectors at the origin::

      e = -sin(lon0) dx + cos(lon0) dy
      n = -sin(lat0) cos(lon0) dx - sin(lat0) sin(lon0) dy + cos(lat0) dz
      u =  cos(lat0) cos(lon0) dx + cos(lat0) sin(lon0) dy + sin(lat0) dz

  with ``(dx, dy, dz) = ecef(p) - ecef(origin)``. It is exact (up to floating point): the
  Euclidean norm of an ENU vector is the straight-line (chord) distance. The ground curves away
  below it (a point on the ellipsoid 100 km away sits about 785 m below ``u = 0``), which is what
  trajectories and radars need.

* **Ground metres** ``(x_m, y_m)`` are an azimuthal equidistant projection centred on the origin
  (PROJ ``aeqd``): distance and azimuth from the origin are the geodesic ones, so a disc of radius
  ``r`` around the origin is the set of points within geodesic distance ``r``. Use it for 2-D
  regions on the ground (impact ellipses, margins); ``to_local``/``to_wgs84`` move shapely
  geometries between it and WGS84 (x = lon, y = lat).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

FloatArray = NDArray[np.float64]

_GEODETIC_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


class LocalFrame:
    """East-north-up and ground-metre frames around one geodetic origin.

    Parameters
    ----------
    lat0_deg, lon0_deg : float
        Origin latitude and longitude, degrees (WGS84).
    alt0_m : float, optional
        Origin height above the ellipsoid, metres.

    Examples
    --------
    >>> frame = LocalFrame(32.0, 35.0)
    >>> e, n, u = frame.enu_from_geodetic(32.0, 35.0, 0.0)
    >>> round(float(e), 6), round(float(n), 6), round(float(u), 6)
    (0.0, 0.0, 0.0)
    """

    __slots__ = ("_ground", "_origin_ecef_m", "_rot", "alt0_m", "lat0_deg", "lon0_deg")

    def __init__(self, lat0_deg: float, lon0_deg: float, alt0_m: float = 0.0) -> None:
        lat0_deg, lon0_deg, alt0_m = float(lat0_deg), float(lon0_deg), float(alt0_m)
        if not (np.isfinite(lat0_deg) and -90.0 <= lat0_deg <= 90.0):
            raise ValueError(f"origin latitude {lat0_deg} is outside [-90, 90]")
        if not (np.isfinite(lon0_deg) and -180.0 <= lon0_deg <= 180.0):
            raise ValueError(f"origin longitude {lon0_deg} is outside [-180, 180]")
        self.lat0_deg, self.lon0_deg, self.alt0_m = lat0_deg, lon0_deg, alt0_m
        phi, lam = np.radians(lat0_deg), np.radians(lon0_deg)
        sp, cp, sl, cl = np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)
        self._rot: FloatArray = np.array(
            [[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]]
        )
        self._origin_ecef_m: FloatArray = np.array(
            _GEODETIC_TO_ECEF.transform(lon0_deg, lat0_deg, alt0_m), dtype=np.float64
        )
        # A bare PROJ pipeline (degrees in, metres out) builds in ~0.1 ms, where a CRS-to-CRS
        # transformer takes ~10 ms; the maths is the same aeqd on the WGS84 ellipsoid.
        self._ground = Transformer.from_pipeline(
            "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad"
            f" +step +proj=aeqd +lat_0={lat0_deg!r} +lon_0={lon0_deg!r} +ellps=WGS84"
        )

    def __repr__(self) -> str:
        return f"LocalFrame({self.lat0_deg!r}, {self.lon0_deg!r}, {self.alt0_m!r})"

    # -- 3-D east-north-up ------------------------------------------------------------------
    def enu_from_geodetic(
        self, lat_deg: ArrayLike, lon_deg: ArrayLike, alt_m: ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Geodetic points to east, north, up metres in this frame.

        Parameters
        ----------
        lat_deg, lon_deg, alt_m : array_like, broadcastable to shape (...)
            WGS84 latitude and longitude in degrees, height above the ellipsoid in metres.

        Returns
        -------
        e_m, n_m, u_m : ndarray of shape (...)
            Tangent-plane coordinates, metres.
        """
        lat, lon, alt = np.broadcast_arrays(
            np.asarray(lat_deg, np.float64),
            np.asarray(lon_deg, np.float64),
            np.asarray(alt_m, np.float64),
        )
        x, y, z = _GEODETIC_TO_ECEF.transform(lon, lat, alt)
        d = np.stack([np.asarray(x), np.asarray(y), np.asarray(z)], axis=-1) - self._origin_ecef_m
        enu = d @ self._rot.T
        return enu[..., 0], enu[..., 1], enu[..., 2]

    def geodetic_from_enu(
        self, e_m: ArrayLike, n_m: ArrayLike, u_m: ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """East, north, up metres in this frame to geodetic points (inverse of
        :meth:`enu_from_geodetic`).

        Parameters
        ----------
        e_m, n_m, u_m : array_like, broadcastable to shape (...)
            Tangent-plane coordinates, metres.

        Returns
        -------
        lat_deg, lon_deg, alt_m : ndarray of shape (...)
        """
        e, n, u = np.broadcast_arrays(
            np.asarray(e_m, np.float64), np.asarray(n_m, np.float64), np.asarray(u_m, np.float64)
        )
        ecef = np.stack([e, n, u], axis=-1) @ self._rot + self._origin_ecef_m
        lon, lat, alt = _GEODETIC_TO_ECEF.transform(
            ecef[..., 0], ecef[..., 1], ecef[..., 2], direction="INVERSE"
        )
        return np.asarray(lat, np.float64), np.asarray(lon, np.float64), np.asarray(alt, np.float64)

    # -- 2-D ground metres ------------------------------------------------------------------
    def project(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Geodetic points to ground metres (azimuthal equidistant at the origin).

        Parameters
        ----------
        lat_deg, lon_deg : array_like, shape (...)

        Returns
        -------
        x_m, y_m : ndarray of shape (...)
            East and north ground metres; ``hypot(x_m, y_m)`` is the geodesic distance from the
            origin.
        """
        x, y = self._ground.transform(
            np.asarray(lon_deg, np.float64), np.asarray(lat_deg, np.float64)
        )
        return np.asarray(x, np.float64), np.asarray(y, np.float64)

    def unproject(self, x_m: ArrayLike, y_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Ground metres back to geodetic ``(lat_deg, lon_deg)``, each of shape (...)."""
        lon, lat = self._ground.transform(
            np.asarray(x_m, np.float64), np.asarray(y_m, np.float64), direction="INVERSE"
        )
        return np.asarray(lat, np.float64), np.asarray(lon, np.float64)

    def to_local(self, geom_wgs84: Any) -> Any:
        """A shapely geometry in WGS84 (x = lon, y = lat) to ground metres (x = east, y = north)."""

        def _fwd(xy: FloatArray) -> FloatArray:
            x, y = self._ground.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geom_wgs84, _fwd)

    def to_wgs84(self, geom_m: Any) -> Any:
        """A shapely geometry in ground metres to WGS84 (x = lon, y = lat)."""

        def _inv(xy: FloatArray) -> FloatArray:
            lon, lat = self._ground.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
            return np.column_stack([lon, lat])

        return shapely.transform(geom_m, _inv)


def grow(geom_wgs84: Any, margin_m: float, quad_segs: int = 16) -> Any:
    """Grow a WGS84 geometry by ``margin_m`` metres on every side.

    The buffer is taken in the ground frame of a :class:`LocalFrame` at the geometry's centroid,
    so the margin is metres on the ground, not degrees.

    Parameters
    ----------
    geom_wgs84 : shapely geometry
        x = lon, y = lat, degrees.
    margin_m : float
        Margin in metres (>= 0; 0 returns the geometry unchanged).
    quad_segs : int, optional
        Segments per quarter circle of the rounded corners.

    Returns
    -------
    shapely geometry in WGS84.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> disc = grow(Point(35.0, 32.0), 1000.0)
    >>> frame = LocalFrame(32.0, 35.0)
    >>> round(frame.to_local(disc).area / 1e6, 2)  # km^2, about pi
    3.14
    """
    if margin_m < 0 or not np.isfinite(margin_m):
        raise ValueError(f"margin must be a finite number of metres >= 0, got {margin_m}")
    if margin_m == 0 or geom_wgs84.is_empty:
        return geom_wgs84
    c = geom_wgs84.centroid
    frame = LocalFrame(c.y, c.x)
    return frame.to_wgs84(frame.to_local(geom_wgs84).buffer(margin_m, quad_segs=quad_segs))
