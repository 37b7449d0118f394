"""A raster prefilter that answers most point-in-area lookups with one array index.

The bounding box of all areas is cut into square cells of ``cell_deg`` degrees. Each cell is
classified once, against slightly enlarged cell boxes so rounding at cell edges cannot matter:

* ``EMPTY`` (-1): the cell meets no polygon, so every point in it is outside every area;
* ``k >= 0``: the cell meets exactly one polygon, ``k``, and that polygon covers it;
* ``MIXED`` (-2): anything else. Points here are tested exactly, against only the cell's
  candidate polygons (a CSR list), with the vectorised ``shapely.intersects_xy``.

Polygons are identified by their position in the array the grid was built from; where several
polygons hold a point the lowest position wins (the caller orders polygons by priority).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

EMPTY = -1
MIXED = -2
_EDGE_DEG = 1e-9  # cell boxes are grown by this much when classified


class CellGrid:
    """Cell classification of a set of polygons (x = lon, y = lat, degrees).

    Parameters
    ----------
    geoms : ndarray of shapely geometries, shape (G,)
        Polygons in priority order (lowest index wins where they overlap); prepared in place.
    cell_deg : float
        Cell side, degrees.
    """

    def __init__(self, geoms: NDArray[np.object_], cell_deg: float = 0.01) -> None:
        self.geoms = geoms
        shapely.prepare(geoms)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        self.x0, self.y0, self.cell_deg = float(x0), float(y0), float(cell_deg)
        self.nx = int(np.ceil((x1 - x0) / cell_deg)) + 1
        self.ny = int(np.ceil((y1 - y0) / cell_deg)) + 1
        ix = np.repeat(np.arange(self.nx), self.ny)  # flat cell = ix * ny + iy
        iy = np.tile(np.arange(self.ny), self.nx)
        boxes = shapely.box(
            self.x0 + ix * cell_deg - _EDGE_DEG,
            self.y0 + iy * cell_deg - _EDGE_DEG,
            self.x0 + (ix + 1) * cell_deg + _EDGE_DEG,
            self.y0 + (iy + 1) * cell_deg + _EDGE_DEG,
        )
        tree = shapely.STRtree(geoms)
        cell_idx, geom_idx = tree.query(boxes, predicate="intersects")
        order = np.lexsort((geom_idx, cell_idx))
        cell_idx, geom_idx = cell_idx[order], geom_idx[order]
        n_cells = self.nx * self.ny
        count = np.bincount(cell_idx, minlength=n_cells)
        self.starts = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(count, out=self.starts[1:])
        self.candidates = geom_idx.astype(np.int64)
        state = np.full(n_cells, MIXED, dtype=np.int64)
        state[count == 0] = EMPTY
        single = np.flatnonzero(count == 1)
        only = self.candidates[self.starts[single]]
        full = shapely.covers(geoms[only], boxes[single])
        state[single[full]] = only[full]
        self.state = state

    def cell_of(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Flat cell index per point, -1 outside the grid. Shapes (N,) -> (N,)."""
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.x0) / self.cell_deg)
            fy = np.floor((y - self.y0) / self.cell_deg)
            inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        cell = np.full(x.shape, -1, dtype=np.int64)
        cell[inside] = fx[inside].astype(np.int64) * self.ny + fy[inside].astype(np.int64)
        return cell

    def lookup(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Position of the polygon holding each point (lowest wins), -1 where none.

        Parameters
        ----------
        x, y : ndarray of float64, shape (N,)
            Longitude and latitude, degrees. NaN gives -1.

        Returns
        -------
        ndarray of int64, shape (N,)
        """
        cell = self.cell_of(x, y)
        out = np.full(x.shape, EMPTY, dtype=np.int64)
        known = cell >= 0
        out[known] = self.state[cell[known]]
        mixed = np.flatnonzero(out == MIXED)
        out[mixed] = EMPTY
        if mixed.size == 0:
            return out
        c = cell[mixed]
        n_cand = self.starts[c + 1] - self.starts[c]
        point = np.repeat(mixed, n_cand)
        offset = np.arange(point.size) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand)
        cand = self.candidates[np.repeat(self.starts[c], n_cand) + offset]
        hit = shapely.intersects_xy(self.geoms[cand], x[point], y[point])
        point, cand = point[hit], cand[hit]
        # Points are grouped and candidates ascend within a group: the first of each group wins.
        first = np.ones(point.size, dtype=bool)
        first[1:] = point[1:] != point[:-1]
        out[point[first]] = cand[first]
        return out
