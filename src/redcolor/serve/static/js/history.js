// History: fetch stored events from /v1/history (cursor paging), draw them on a timeline, and
// replay them client-side through the same AlertState the live view uses, at a chosen speed.

import { AlertState } from "./alertstate.js";
import { COLORS } from "./mapview.js";

const PAGE_LIMIT = 1000;
const MAX_EVENTS = 200000; // bounds the page's memory on a very long period

/** All events issued in [sinceS, untilS], oldest first. */
export async function fetchHistory(sinceS, untilS, onProgress = () => {}) {
  const events = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({
      since_unix_s: String(Math.floor(sinceS)),
      until_unix_s: String(Math.ceil(untilS)),
      limit: String(PAGE_LIMIT),
    });
    if (cursor) params.set("cursor", cursor);
    const response = await fetch(`/v1/history?${params}`);
    if (!response.ok) throw new Error(`history: HTTP ${response.status}`);
    const body = await response.json();
    events.push(...body.events);
    cursor = body.next_cursor;
    onProgress(events.length);
  } while (cursor && events.length < MAX_EVENTS);
  events.sort((a, b) => a.seq - b.seq);
  return events;
}

/** A replay of a list of events: the AlertState at any time, moved forward or rebuilt. */
export class Replay {
  constructor(events, endedHoldS) {
    // A replay runs in issue-time order (a run may be stored after later ones: seq order
    // need not be time order).
    this.events = [...events].sort((a, b) => a.issued_at_unix_s - b.issued_at_unix_s || a.seq - b.seq);
    this.endedHoldS = endedHoldS;
    this.startS = this.events.length ? this.events[0].issued_at_unix_s : 0;
    this.endS = this.events.length ? this.events[this.events.length - 1].issued_at_unix_s : 0;
    this._reset();
  }

  _reset() {
    this.state = new AlertState({ endedHoldS: this.endedHoldS, timeOrdered: true });
    this.next = 0; // index of the first event not yet applied
    this.atS = -Infinity;
  }

  /** Issue time of the first event after `tS` (direction +1) or the last before it (-1). */
  neighbour(tS, direction) {
    const times = this.events.map((e) => e.issued_at_unix_s);
    if (direction > 0) return times.find((x) => x > tS) ?? null;
    return times.filter((x) => x < tS).pop() ?? null;
  }

  /** Move the replay to `tS`; returns the set of area ids whose state may have changed. */
  seek(tS) {
    let changed = new Set();
    if (tS < this.atS) {
      changed = this.state.shownAreaIds();
      this._reset();
    }
    while (this.next < this.events.length && this.events[this.next].issued_at_unix_s <= tS) {
      const got = this.state.apply(this.events[this.next]);
      if (got) for (const id of got) changed.add(id);
      this.next += 1;
    }
    for (const id of this.state.prune(tS)) changed.add(id);
    this.atS = tS;
    return changed;
  }
}

/** The history timeline: stacked counts of areas per stage per time bin, and a cursor line. */
export class Timeline {
  constructor(canvas) {
    this.canvas = canvas;
    this.bins = [];
    this.startS = 0;
    this.endS = 1;
  }

  setEvents(events, startS, endS) {
    this.startS = startS;
    this.endS = Math.max(endS, startS + 1);
    const n = 120;
    this.bins = Array.from({ length: n }, () => ({ alert: 0, pre_alert: 0, ended: 0 }));
    for (const e of events) {
      const i = Math.min(n - 1, Math.floor(((e.issued_at_unix_s - startS) / (this.endS - startS)) * n));
      if (i < 0) continue;
      const key = e.stage === "update" ? "alert" : e.stage;
      if (key in this.bins[i]) this.bins[i][key] += Math.max(1, e.areas.length);
    }
  }

  draw(currentS) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (!w || !h) return;
    canvas.width = w * ratio;
    canvas.height = h * ratio;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const peak = Math.max(1, ...this.bins.map((b) => b.alert + b.pre_alert + b.ended));
    const bw = w / Math.max(1, this.bins.length);
    this.bins.forEach((bin, i) => {
      let y = h;
      for (const key of ["alert", "pre_alert", "ended"]) {
        const bh = (bin[key] / peak) * (h - 4);
        ctx.fillStyle = COLORS[key].fillColor;
        ctx.fillRect(i * bw, y - bh, Math.max(1, bw - 1), bh);
        y -= bh;
      }
    });
    const x = ((currentS - this.startS) / (this.endS - this.startS)) * w;
    ctx.fillStyle = "#0b4fd1";
    ctx.fillRect(Math.round(x) - 1, 0, 2, h);
  }
}
