// Client-side geometry over the area GeoJSON: which area holds a point, the nearest area, and
// a label point per area. Runs entirely in the browser: a visitor's location never leaves it.
// Coordinates are WGS84 degrees, GeoJSON order [lon, lat].

/** Polygon rings of a GeoJSON Polygon or MultiPolygon geometry, as [[rings...], ...]. */
function polygonsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

/** Even-odd ray casting of a point against one ring. */
function inRing(lon, lat, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Area-weighted centroid of the largest outer ring (planar, in degrees): a label point. */
function labelPoint(polygons) {
  let best = null;
  for (const rings of polygons) {
    const ring = rings[0];
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += cross;
      cx += (ring[j][0] + ring[i][0]) * cross;
      cy += (ring[j][1] + ring[i][1]) * cross;
    }
    if (!best || Math.abs(a) > best.a) {
      best = a ? { a: Math.abs(a), lon: cx / (3 * a), lat: cy / (3 * a) } : { a: 0, lon: ring[0][0], lat: ring[0][1] };
    }
  }
  return best ? [best.lat, best.lon] : null;
}

/** Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m). */
export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

export class AreaIndex {
  /** @param {object} collection the FeatureCollection of /v1/areas.geojson */
  constructor(collection) {
    this.byId = new Map();
    this.entries = [];
    for (const feature of collection.features) {
      const id = feature.id ?? feature.properties.id;
      const polygons = polygonsOf(feature.geometry);
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (const rings of polygons) {
        for (const [x, y] of rings[0]) {
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
          minY = Math.min(minY, y);
          maxY = Math.max(maxY, y);
        }
      }
      const entry = { id, props: feature.properties, polygons, bbox: [minX, minY, maxX, maxY], label: labelPoint(polygons) };
      this.entries.push(entry);
      this.byId.set(id, entry);
    }
  }

  get size() {
    return this.entries.length;
  }

  /** The area entry holding (lat, lon), or null. Bounding boxes are checked first. */
  locate(lat, lon) {
    for (const e of this.entries) {
      const [minX, minY, maxX, maxY] = e.bbox;
      if (lon < minX || lon > maxX || lat < minY || lat > maxY) continue;
      for (const rings of e.polygons) {
        if (inRing(lon, lat, rings[0]) && !rings.slice(1).some((hole) => inRing(lon, lat, hole))) return e;
      }
    }
    return null;
  }

  /** The area whose label point is nearest to (lat, lon), and that distance in metres. */
  nearest(lat, lon) {
    let best = null;
    let bestM = Infinity;
    for (const e of this.entries) {
      if (!e.label) continue;
      const d = distanceM(lat, lon, e.label[0], e.label[1]);
      if (d < bestM) {
        best = e;
        bestM = d;
      }
    }
    return { entry: best, distanceM: bestM };
  }

  /** Areas whose name in any language contains `text` (case-insensitive), at most `limit`. */
  search(text, limit = 20) {
    const q = text.trim().toLowerCase();
    if (!q) return [];
    const out = [];
    for (const e of this.entries) {
      const p = e.props;
      const names = [p.name_he, p.name_en, p.name_ar, p.name_ru, p.value];
      if (names.some((n) => n && n.toLowerCase().includes(q))) out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }
}
