// The map: Leaflet (vendored, BSD-2) with no tile layer. A bundled Natural Earth outline gives
// coastline and borders; the 1,450 alert-area polygons are drawn on one canvas; a second canvas
// on top carries the shelter countdowns. Leaflet is a global (`L`) loaded by the page (the live
// map, index.html, and the operator console, console.html).

import { AreaIndex } from "./geometry.js";

export const COLORS = {
  alert: { fillColor: "#e3121b", color: "#7d0a0e", fillOpacity: 0.72, weight: 1 },
  pre_alert: { fillColor: "#f6a21e", color: "#8a5300", fillOpacity: 0.6, weight: 1 },
  ended: { fillColor: "#2f9e55", color: "#1d6135", fillOpacity: 0.45, weight: 0.8 },
  none: { fillColor: "#ffffff", color: "#7b8794", fillOpacity: 0.12, weight: 0.5 },
  // The operator console's own choice of areas for an alert it is composing.
  selected: { fillColor: "#0b4fd1", color: "#041f57", fillOpacity: 0.6, weight: 2 },
};
const MY_AREA_OUTLINE = { color: "#0b4fd1", weight: 3 };

/**
 * A canvas over the map: one countdown label per alerted area where it fits without overlap
 * (most urgent first), and a dot in the stage colour under every alerted or pre-alerted area
 * too small on screen to show its own colour (so a country-wide view still shows them all).
 */
const CountdownLayer = L.Layer.extend({
  initialize(labels) {
    this._labels = labels; // () => [{lat, lon, bbox, text (null: dot only), urgent, stage}]
  },
  onAdd(map) {
    this._canvas = L.DomUtil.create("canvas", "rc-countdowns");
    this._canvas.setAttribute("aria-hidden", "true");
    map.getContainer().appendChild(this._canvas);
    map.on("move zoomend resize viewreset", this.redraw, this);
    map.on("zoomstart", this._hide, this);
    this.redraw();
  },
  onRemove(map) {
    map.off("move zoomend resize viewreset", this.redraw, this);
    map.off("zoomstart", this._hide, this);
    this._canvas.remove();
  },
  _hide() {
    this._canvas.classList.add("rc-hidden");
  },
  redraw() {
    const map = this._map;
    if (!map) return;
    const canvas = this._canvas;
    canvas.classList.remove("rc-hidden");
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== size.x * ratio || canvas.height !== size.y * ratio) {
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      canvas.style.width = `${size.x}px`;
      canvas.style.height = `${size.y}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size.x, size.y);
    ctx.font = "bold 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const taken = new Set(); // 8 px grid cells already under a label
    const dots = []; // [point, stage]: areas too small on screen to see their colour
    const placed = []; // [point, width, label]
    for (const label of this._labels()) {
      const at = map.latLngToContainerPoint([label.lat, label.lon]);
      if (at.x < 0 || at.y < 0 || at.x > size.x || at.y > size.y) continue;
      const [west, south, east, north] = label.bbox;
      const sw = map.latLngToContainerPoint([south, west]);
      const ne = map.latLngToContainerPoint([north, east]);
      const small = ne.x - sw.x < 8 && sw.y - ne.y < 8;
      if (small) dots.push([at, label.stage]);
      if (label.text === null) continue;
      const w = ctx.measureText(label.text).width + 8;
      // An area smaller on screen than its label gets the label just above it, so the label
      // does not hide the area's colour.
      const p = L.point(at.x, at.y);
      if (ne.x - sw.x < w + 6 || sw.y - ne.y < 26) p.y = Math.max(9, ne.y - 10);
      const cells = [];
      for (let cx = Math.floor((p.x - w / 2) / 8); cx <= Math.floor((p.x + w / 2) / 8); cx++) {
        for (let cy = Math.floor((p.y - 8) / 8); cy <= Math.floor((p.y + 8) / 8); cy++) cells.push(cx * 65536 + cy);
      }
      if (cells.some((c) => taken.has(c))) continue; // a more urgent label holds the spot
      for (const c of cells) taken.add(c);
      placed.push([p, w, label]);
    }
    for (const [p, stage] of dots) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = COLORS[stage].fillColor;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = COLORS[stage].color;
      ctx.stroke();
    }
    for (const [p, w, label] of placed) {
      ctx.fillStyle = label.urgent ? "#3a0003" : "rgba(255,255,255,0.92)";
      ctx.fillRect(p.x - w / 2, p.y - 8, w, 16);
      ctx.fillStyle = label.urgent ? "#ffffff" : "#3a0003";
      ctx.fillText(label.text, p.x, p.y + 0.5);
    }
  },
});

/**
 * Load the area GeoJSON and the outline from this page's server and draw them: the one loading
 * path of every page with the area map. `getJSON(url)` is the page's fetcher (the live map's
 * also reads the server's clock from it). Returns {index: AreaIndex, view: MapView}.
 */
export async function openAreaMap(element, opts, getJSON) {
  const [areas, outline] = await Promise.all([getJSON("/v1/areas.geojson"), getJSON("outline.geojson")]);
  const index = new AreaIndex(areas);
  const view = new MapView(element, opts);
  view.setOutline(outline);
  view.setAreas(areas, index);
  return { index, view };
}

export class MapView {
  /**
   * @param {HTMLElement} element  the map container
   * @param {object} opts  {onAreaClick(entry, latlng), onPick(latlng), labels()}
   */
  constructor(element, { onAreaClick, onPick, labels }) {
    this.map = L.map(element, {
      zoomSnap: 0.25,
      preferCanvas: true,
      keyboard: true,
      attributionControl: true,
      worldCopyJump: false,
    });
    this.map.attributionControl.setPrefix("Leaflet");
    this.map.createPane("outline").style.zIndex = 350;
    this.layers = new Map(); // area id -> Leaflet polygon
    this.styles = new Map(); // area id -> current style key
    this.myAreaId = null;
    this.picking = false;
    this.onPick = onPick;
    this.onAreaClick = onAreaClick;
    this.countdowns = new CountdownLayer(labels);
    this.marker = null;
    this.markerRenderer = L.svg(); // one SVG layer for the location marker, above the canvas
    this.map.on("click", (e) => {
      if (this.picking) this._picked(e.latlng);
    });
  }

  /** Draw the coastline/borders outline (a GeoJSON FeatureCollection). */
  setOutline(collection) {
    L.geoJSON(collection, {
      pane: "outline",
      renderer: L.canvas({ pane: "outline" }),
      interactive: false,
      style: { color: "#5b6b7a", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1 },
    }).addTo(this.map);
    this.map.attributionControl.addAttribution("Outline: Natural Earth");
  }

  /** Draw every area polygon; `index` is the AreaIndex built from the same collection. */
  setAreas(collection, index) {
    const renderer = L.canvas({ tolerance: 0 });
    const group = L.geoJSON(collection, {
      renderer,
      style: () => ({ ...COLORS.none }),
      onEachFeature: (feature, layer) => {
        const id = feature.id ?? feature.properties.id;
        this.layers.set(id, layer);
        this.styles.set(id, "none");
        layer.on("click", (e) => {
          if (this.picking) {
            L.DomEvent.stopPropagation(e);
            this._picked(e.latlng);
          } else {
            this.onAreaClick(index.byId.get(id), e.latlng);
          }
        });
      },
    }).addTo(this.map);
    this.map.fitBounds(group.getBounds(), { padding: [8, 8] });
    this.map.setMaxBounds(group.getBounds().pad(0.6));
    this.countdowns.addTo(this.map);
  }

  /** Restyle the given areas; `styleOf(id)` returns a key of COLORS. */
  restyle(areaIds, styleOf) {
    for (const id of areaIds) {
      const layer = this.layers.get(id);
      if (!layer) continue;
      const key = styleOf(id);
      if (this.styles.get(id) === key && id !== this.myAreaId) continue;
      this.styles.set(id, key);
      layer.setStyle(this._style(id, key));
    }
  }

  /** Fit the view to the bounding boxes ([west, south, east, north]) of some areas. */
  showAreas(bboxes) {
    if (!bboxes.length) return;
    const bounds = L.latLngBounds(bboxes.flatMap(([w, s, e, n]) => [[s, w], [n, e]]));
    this.map.fitBounds(bounds, { padding: [24, 24], maxZoom: 13 });
  }

  redrawCountdowns() {
    this.countdowns.redraw();
  }

  /** Outline the visitor's area (or none) and move the location marker. */
  setMyLocation(areaId, latlng) {
    const previous = this.myAreaId;
    this.myAreaId = areaId;
    for (const id of [previous, areaId]) {
      if (id !== null && this.layers.has(id)) this.layers.get(id).setStyle(this._style(id, this.styles.get(id)));
    }
    if (areaId !== null && this.layers.has(areaId)) this.layers.get(areaId).bringToFront();
    if (this.marker) this.marker.remove();
    this.marker = null;
    if (latlng) {
      this.marker = L.circleMarker(latlng, {
        renderer: this.markerRenderer,
        radius: 7,
        color: "#ffffff",
        weight: 2,
        fillColor: "#0b4fd1",
        fillOpacity: 1,
        interactive: false,
      }).addTo(this.map);
    }
  }

  setPicking(on) {
    this.picking = on;
    this.map.getContainer().classList.toggle("rc-picking", on);
  }

  showPopup(latlng, text) {
    const body = document.createElement("p");
    body.textContent = text; // area names are data: never parsed as HTML
    L.popup({ autoPan: true }).setLatLng(latlng).setContent(body).openOn(this.map);
  }

  _picked(latlng) {
    this.setPicking(false);
    this.onPick(latlng);
  }

  _style(id, key) {
    const base = COLORS[key] || COLORS.none;
    return id === this.myAreaId ? { ...base, ...MY_AREA_OUTLINE } : { ...base };
  }
}
