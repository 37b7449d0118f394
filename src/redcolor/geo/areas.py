"""Alert areas and the spatial index over them.

Coordinates are WGS84 degrees; shapely geometries use x = lon, y = lat. Distances are metres on
the ground, measured in a :class:`~redcolor.geo.frame.LocalFrame` centred on the query point.

Some polygons overlap (an industrial zone inside a town, say). Where a point lies in several
areas, :meth:`AreaIndex.locate` and :meth:`AreaIndex.locate_many` give the one with the smallest
polygon (the most specific; ties by lower id); :meth:`AreaIndex.locate_all` gives all of them.
"""

from __future__ import annotations

import collections
import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import Point, mapping

from redcolor.errors import InputError, NotFoundError
from redcolor.geo.frame import LocalFrame
from redcolor.geo.grid import CellGrid

IntArray = NDArray[np.int64]
LANGS = ("he", "en", "ar", "ru")
# within_m brackets the geodesic circle between two regular polygons of this many vertices.
_RING_VERTICES = 64
_RING_SIN = np.sin(np.linspace(0.0, 2.0 * np.pi, _RING_VERTICES, endpoint=False))
_RING_COS = np.cos(np.linspace(0.0, 2.0 * np.pi, _RING_VERTICES, endpoint=False))


@dataclass(frozen=True, slots=True)
class Area:
    """One alert area.

    ``value`` is the exact Hebrew string alert feeds carry, spelled as the real feed spells it;
    ``aliases`` are other spellings of the same name found in the sources (e.g. ``כפר חב'ד`` for
    the feed's ``כפר חב''ד``), accepted by lookups but never served; ``shelter_s`` is the time
    allowed to reach shelter, seconds; ``lat``/``lon`` is the polygon's centroid, degrees;
    ``polygon`` is a shapely (Multi)Polygon in WGS84 (x = lon, y = lat); ``approximate`` marks
    polygons made up because no source had one (a Voronoi cell clipped to a 1.5 km disc).
    """

    id: int
    value: str
    name_he: str
    name_en: str
    name_ar: str
    name_ru: str
    zone_he: str
    zone_en: str
    zone_ar: str
    zone_ru: str
    shelter_s: int
    lat: float
    lon: float
    polygon: Any
    approximate: bool
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """The value, the names in every language and the aliases."""
        return (self.value, self.name_he, self.name_en, self.name_ar, self.name_ru, *self.aliases)

    def zones(self) -> tuple[str, ...]:
        """The zone name in every language."""
        return (self.zone_he, self.zone_en, self.zone_ar, self.zone_ru)


def _ids(values: IntArray) -> IntArray:
    return np.unique(values).astype(np.int64)


class AreaIndex:
    """The alert areas of one edition with an STRtree over their polygons.

    Parameters
    ----------
    edition : str
        Edition name, e.g. ``"current"``.
    areas : sequence of Area
        Areas with unique ids; kept sorted by id.
    """

    def __init__(self, edition: str, areas: Any) -> None:
        self.edition = edition
        self.areas: tuple[Area, ...] = tuple(sorted(areas, key=lambda a: a.id))
        self.ids: IntArray = np.array([a.id for a in self.areas], dtype=np.int64)
        if np.unique(self.ids).size != self.ids.size:
            raise ValueError(f"edition {edition}: area ids are not unique")
        self._pos = {a.id: i for i, a in enumerate(self.areas)}
        self._by_value = {a.value: a for a in self.areas}
        for a in self.areas:
            for alias in a.aliases:
                if self._by_value.setdefault(alias, a) is not a:
                    raise ValueError(f"edition {edition}: spelling {alias!r} names two areas")
        self._by_name: dict[str, list[Area]] = {}
        for a in self.areas:
            for name in dict.fromkeys(n.casefold() for n in a.names()):
                self._by_name.setdefault(name, []).append(a)
        geoms = np.array([a.polygon for a in self.areas], dtype=object)
        # Tree order = priority order: smallest polygon first, so the lowest tree index wins.
        self._order = np.lexsort((self.ids, shapely.area(geoms))).astype(np.int64)
        self._tree_ids: IntArray = self.ids[self._order]
        self._geoms = geoms[self._order]
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._grid: CellGrid | None = None

    def __len__(self) -> int:
        return len(self.areas)

    def __repr__(self) -> str:
        return f"<AreaIndex {self.edition}: {len(self)} areas>"

    # -- by id and name -----------------------------------------------------------------------
    def get(self, area_id: int) -> Area:
        """The area with this id; NotFoundError if there is none."""
        try:
            return self.areas[self._pos[int(area_id)]]
        except (KeyError, ValueError, TypeError):
            raise NotFoundError(
                f"no alert area with id {area_id!r} in edition {self.edition}"
            ) from None

    def find(self, name_or_id: str) -> Area:
        """The area with this id, Hebrew value or alias, or name in any language
        (case-insensitive).

        Raises NotFoundError (with close matches) when nothing matches, InputError when a name
        is shared by several areas.
        """
        query = " ".join(str(name_or_id).split())
        if query.isdigit():
            return self.get(int(query))
        exact = self._by_value.get(query)
        if exact is not None:
            return exact
        hits = self._by_name.get(query.casefold(), [])
        if len(hits) == 1:
            return hits[0]
        if hits:
            listed = "; ".join(f"id {a.id} ({a.value}, {a.zone_en})" for a in hits)
            raise InputError(f"{query!r} names {len(hits)} areas: {listed}; give the id")
        names = {n.casefold(): n for a in self.areas for n in a.names()}
        close = difflib.get_close_matches(query.casefold(), list(names), n=5, cutoff=0.6)
        hint = f"; close matches: {', '.join(names[k] for k in close)}" if close else ""
        raise NotFoundError(f"no alert area named {query!r} in edition {self.edition}{hint}")

    def zone_areas(self, zone_en: str) -> IntArray:
        """Ids of the areas in a zone, named in any language (case-insensitive), sorted."""
        key = " ".join(zone_en.split()).casefold()
        ids = [a.id for a in self.areas if key in {z.casefold() for z in a.zones()}]
        if not ids:
            zones = sorted({a.zone_en for a in self.areas})
            close = difflib.get_close_matches(zone_en, zones, n=3, cutoff=0.5)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise NotFoundError(f"no zone named {zone_en!r} in edition {self.edition}{hint}")
        return np.array(ids, dtype=np.int64)

    # -- points -------------------------------------------------------------------------------
    def locate(self, lat: float, lon: float) -> Area | None:
        """The area holding a point (the smallest where several do), or None."""
        hits = self._tree.query(Point(float(lon), float(lat)), predicate="intersects")
        return self.get(int(self._tree_ids[hits.min()])) if hits.size else None

    def locate_all(self, lat: float, lon: float) -> IntArray:
        """Ids of every area holding a point, sorted."""
        hits = self._tree.query(Point(float(lon), float(lat)), predicate="intersects")
        return _ids(self._tree_ids[hits])

    def locate_many(self, lat: ArrayLike, lon: ArrayLike) -> IntArray:
        """Area id per point (the smallest area where several hold it), -1 where none.

        Parameters
        ----------
        lat, lon : array_like of float, shape (N,) or any shape, the same for both
            Degrees; NaN gives -1.

        Returns
        -------
        ndarray of int64, the shape of ``lat``

        Examples
        --------
        >>> from redcolor.geo import load_areas
        >>> areas = load_areas()
        >>> ids = areas.locate_many([32.08, 31.525, 32.1], [34.78, 34.596, 34.6])
        >>> [areas.get(int(i)).name_en for i in ids[:2]], int(ids[2])
        (['Tel Aviv - City Center', 'Sderot, Ibim'], -1)
        """
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        if lat_a.shape != lon_a.shape:
            raise ValueError(f"lat and lon differ in shape: {lat_a.shape} vs {lon_a.shape}")
        if self._grid is None:
            self._grid = CellGrid(self._geoms)
        pos = self._grid.lookup(lon_a.ravel(), lat_a.ravel())
        out = np.where(pos >= 0, self._tree_ids[np.maximum(pos, 0)], -1)
        return out.reshape(lat_a.shape)

    def nearest(self, lat: float, lon: float) -> tuple[Area, float]:
        """The area nearest a point and its distance in metres (0 inside)."""
        inside = self.locate(lat, lon)
        if inside is not None:
            return inside, 0.0
        point = Point(float(lon), float(lat))
        # Nearest in degrees d bounds the nearest in metres; any closer-in-metres area lies
        # within d / cos(lat) degrees (with margin for the ellipsoid).
        first = self._tree.query_nearest(point, return_distance=True, all_matches=False)
        bound_deg = float(first[1][0]) / max(np.cos(np.radians(lat)), 1e-6) * 1.02
        cand = self._tree.query(point, predicate="dwithin", distance=bound_deg)
        ids = self._tree_ids[cand]
        dist_m = self.distances_m(lat, lon, ids)
        k = int(np.argmin(dist_m))
        return self.get(int(ids[k])), float(dist_m[k])

    def distances_m(self, lat: float, lon: float, ids: ArrayLike) -> NDArray[np.float64]:
        """Ground distance in metres from a point to each listed area's polygon (0 inside).

        Measured in the azimuthal equidistant frame centred on the point, where distances from
        the point are geodesic.
        """
        return self._distances_m(LocalFrame(lat, lon), np.asarray(ids, dtype=np.int64))

    def _distances_m(self, frame: LocalFrame, ids: IntArray) -> NDArray[np.float64]:
        if ids.size == 0:
            return np.zeros(0, dtype=np.float64)
        geoms = np.array([self.get(int(i)).polygon for i in ids], dtype=object)
        local = frame.to_local(geoms)
        return np.asarray(shapely.distance(local, Point(0.0, 0.0)), dtype=np.float64)

    def within_m(self, lat: float, lon: float, radius_m: float) -> IntArray:
        """Ids of the areas whose polygon comes within ``radius_m`` metres of a point, sorted.

        Two polygons bracket the geodesic circle of that radius: one inscribed (vertices on the
        circle) and one circumscribed (its edges outside the circle, with a 0.1 % margin for
        edges drawn straight in degrees, enough to 200 km at up to 80 degrees latitude). Areas
        meeting the inner one are in, areas missing the outer one are out, and only those
        between get an exact ground distance (:meth:`distances_m`).
        """
        if not (np.isfinite(radius_m) and radius_m >= 0):
            raise InputError(f"radius must be a finite number of metres >= 0, got {radius_m}")
        if radius_m == 0:
            return self.locate_all(lat, lon)
        frame = LocalFrame(lat, lon)
        inner = self._ring(frame, radius_m * (1.0 - 1e-6))
        outer = self._ring(frame, radius_m / np.cos(np.pi / _RING_VERTICES) * (1.0 + 1e-3))
        cand = self._tree.query(outer, predicate="intersects")
        shapely.prepare(inner)
        sure = shapely.intersects(inner, self._geoms[cand])
        maybe_ids = self._tree_ids[cand[~sure]]
        near = maybe_ids[self._distances_m(frame, maybe_ids) <= radius_m]
        return np.sort(np.concatenate([self._tree_ids[cand[sure]], near]))

    @staticmethod
    def _ring(frame: LocalFrame, radius_m: float) -> Any:
        """A regular polygon with vertices ``radius_m`` ground metres from the frame's origin."""
        lat, lon = frame.unproject(radius_m * _RING_SIN, radius_m * _RING_COS)
        return shapely.Polygon(np.column_stack([lon, lat]))

    # -- regions ------------------------------------------------------------------------------
    def meeting(self, geom_wgs84: Any) -> IntArray:
        """Ids of the areas whose polygon intersects a WGS84 geometry (x = lon), sorted."""
        # A single-geometry tree query yields each tree index at most once: sort, no unique.
        return np.sort(self._tree_ids[self._tree.query(geom_wgs84, predicate="intersects")])

    def meeting_many(self, geoms_wgs84: ArrayLike) -> list[IntArray]:
        """:meth:`meeting` for an array of geometries in one vectorised tree query.

        Returns a list, one sorted id array per input geometry.
        """
        geoms = np.asarray(geoms_wgs84, dtype=object).ravel()
        which, hit = self._tree.query(geoms, predicate="intersects")
        bounds = np.searchsorted(which, np.arange(geoms.size + 1))
        tree_ids = self._tree_ids[hit]
        return [np.sort(tree_ids[bounds[i] : bounds[i + 1]]) for i in range(geoms.size)]

    def meeting_local(self, geom_m: Any, frame: LocalFrame) -> IntArray:
        """Ids of the areas meeting a geometry given in ``frame``'s ground metres, sorted.

        Examples
        --------
        A 3 km disc around the summit of Mount Meron:

        >>> from shapely.geometry import Point
        >>> from redcolor.geo import LocalFrame, load_areas
        >>> areas = load_areas()
        >>> ids = areas.meeting_local(Point(0, 0).buffer(3000.0), LocalFrame(32.996, 35.414))
        >>> sorted(areas.get(int(i)).name_en for i in ids)[:3]
        ['Bar Yochai', 'Marom HaGalil Regional Center', 'Meron']
        """
        return self.meeting(frame.to_wgs84(geom_m))

    def stats(self) -> dict[str, Any]:
        """Counts: ``edition``, ``areas``, ``zones``, ``with_polygon`` (a polygon from a source),
        ``approximate``, ``by_shelter_s`` (shelter seconds as a string -> count, ascending)."""
        shelter = collections.Counter(a.shelter_s for a in self.areas)
        approximate = sum(a.approximate for a in self.areas)
        return {
            "edition": self.edition,
            "areas": len(self.areas),
            "zones": len({a.zone_he for a in self.areas}),
            "with_polygon": len(self.areas) - approximate,
            "approximate": approximate,
            "by_shelter_s": {str(k): shelter[k] for k in sorted(shelter)},
        }

    # -- export -------------------------------------------------------------------------------
    def to_geojson(self) -> dict[str, Any]:
        """The areas as a GeoJSON FeatureCollection (WGS84, [lon, lat])."""
        features = []
        for a in self.areas:
            props: dict[str, Any] = {"id": a.id, "value": a.value, "aliases": list(a.aliases)}
            for lang in LANGS:
                props[f"name_{lang}"] = getattr(a, f"name_{lang}")
            for lang in LANGS:
                props[f"zone_{lang}"] = getattr(a, f"zone_{lang}")
            props |= {"shelter_s": a.shelter_s, "approximate": a.approximate}
            features.append(
                {"type": "Feature", "id": a.id, "properties": props, "geometry": mapping(a.polygon)}
            )
        return {"type": "FeatureCollection", "features": features}
