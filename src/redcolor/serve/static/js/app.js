// Wires the page: area data + outline -> map; /v1/alerts/active + WebSocket stream -> AlertState
// -> map, list and "my location" card (batched to one update per animation frame); history
// replay (replayui.js); language choice; siren. Everything is fetched from this page's origin.

import { AlertState } from "./alertstate.js";
import { HealthWatch, noticeKind } from "./health.js";
import { fetchHistory } from "./history.js";
import { applyLanguage, areaName, clock, initialLanguage, rememberLanguage, t } from "./i18n.js";
import { openAreaMap } from "./mapview.js";
import { countdownLabels, renderAlertList, renderBanners, renderMyArea, summaryText } from "./panel.js";
import { ReplayUI } from "./replayui.js";
import { Siren } from "./siren.js";
import { AlertStream } from "./stream.js";

const RECENT_S = 1800; // history folded in at start-up, so the list shows the last half hour
const ME_KEY = "redcolor.me"; // the visitor's chosen point/area: kept in this browser only
const $ = (id) => document.getElementById(id);

const live = new AlertState();
const siren = new Siren();
// Page health, read by the benchmark and handy in the console: events applied, time spent
// applying them and drawing them, each live event's age when drawn (issued -> drawn, s) and
// when it was drawn ([seq, Unix s]).
const METRICS_KEEP = 20000;
const metrics = { events: 0, duplicates: 0, malformed: 0, applyMs: 0, flushes: 0, flushMs: [], drawnAgeS: [], drawnAt: [] };
let undrawn = []; // [seq, issued_at_unix_s] of live events applied but not yet drawn
const LIST_EVERY_MS = 500;
const LABELS_EVERY_MS = 240;
let lastListMs = -Infinity;
let lastLabelsMs = -Infinity;
let lang = initialLanguage();
let index = null;
let mapView = null;
let me = loadMe();
let status = "connecting";
let myLastStage = null;
const dirty = new Set();
let flushPending = false;
let listDirty = true;
let listTimer = null; // a pending redraw of a list that was throttled

function loadMe() {
  try {
    const saved = JSON.parse(localStorage.getItem(ME_KEY));
    return saved && typeof saved.lat === "number" ? saved : null;
  } catch {
    return null;
  }
}

const replayUI = new ReplayUI({
  lang: () => lang,
  nowS: () => serverNowS(),
  onEnter: () => markDirty(live.shownAreaIds()),
  onLeave: (before) => {
    renderStatus();
    markDirty([...before, ...live.shownAreaIds()]);
  },
  onSeek: (changed) => {
    renderStatus();
    markDirty(changed);
  },
});
const shown = () => (replayUI.active ? replayUI.replay.state : live);
// Countdowns run on the server's clock: a device clock set minutes wrong would otherwise show
// a full or an expired countdown. The offset comes from the HTTP Date header (1 s resolution),
// so it is applied only when it exceeds SKEW_MIN_S.
const SKEW_MIN_S = 2;
let serverMinusLocalS = 0;
const serverNowS = () => Date.now() / 1000 + serverMinusLocalS;
const nowS = () => (replayUI.active ? replayUI.atS : serverNowS());

function styleKey(id) {
  const v = shown().view(id, nowS());
  return v ? v.stage : "none";
}

function markDirty(ids, { list = true } = {}) {
  for (const id of ids) dirty.add(id);
  if (list) listDirty = true;
  if (flushPending) return;
  flushPending = true;
  if (document.hidden) setTimeout(flush, 100);
  else requestAnimationFrame(flush);
}

/**
 * Apply what changed to the page. Area colours and the visitor's card are updated every frame;
 * the alert list and the countdown canvas at most every LIST_EVERY_MS / LABELS_EVERY_MS (their
 * text changes at most once a second), so a barrage of events cannot starve the frame rate.
 */
function flush() {
  flushPending = false;
  const started = performance.now();
  if (dirty.size) mapView.restyle(dirty, styleKey);
  dirty.clear();
  renderMe();
  renderBanners($("exercise-banner"), $("cancel-notice"), shown(), nowS(), lang);
  // A list holding keyboard focus is not rebuilt under the visitor (it would lose the focus);
  // it catches up when the focus leaves it.
  const focusInList = $("alert-list").contains(document.activeElement);
  if (listDirty && !focusInList && started - lastListMs >= LIST_EVERY_MS) {
    renderAlertList($("alert-list"), shown(), index, lang, showAlertOnMap);
    const summary = summaryText(shown(), nowS(), lang);
    if ($("summary").textContent !== summary) $("summary").textContent = summary;
    listDirty = false;
    lastListMs = started;
  }
  if (started - lastLabelsMs >= LABELS_EVERY_MS) {
    mapView.redrawCountdowns();
    lastLabelsMs = started;
  }
  if (listDirty && !focusInList && !listTimer) {
    listTimer = setTimeout(() => {
      listTimer = null;
      markDirty([], { list: false });
    }, LIST_EVERY_MS);
  }
  metrics.flushes += 1;
  keep(metrics.flushMs, performance.now() - started);
  const drawnS = serverNowS();
  for (const [seq, issuedS] of undrawn) {
    keep(metrics.drawnAgeS, drawnS - issuedS);
    keep(metrics.drawnAt, [seq, drawnS]);
  }
  undrawn = [];
}

function showAlertOnMap(alert) {
  const boxes = [...alert.areaIds].map((id) => index.byId.get(id)?.bbox).filter(Boolean);
  mapView.showAreas(boxes);
  mapView.map.getContainer().focus(); // there to pan/zoom by keyboard; the list updates again
}

function keep(list, value) {
  if (list.length < METRICS_KEEP) list.push(value);
}

function renderMe() {
  const view = renderMyArea($("me-card"), me, shown(), index, nowS(), lang);
  const stage = view ? view.stage : "none";
  if (!replayUI.active && stage === "alert" && myLastStage !== "alert" && $("siren").checked) {
    siren.sound(Math.max(view.shelterS, 10));
    $("stop-siren").hidden = false;
  }
  if (stage !== "alert" && siren.playing) siren.stop();
  if (!siren.playing) $("stop-siren").hidden = true;
  myLastStage = stage;
}

function onEvent(event) {
  const started = performance.now();
  const changed = live.apply(event);
  metrics.events += 1;
  metrics.applyMs += performance.now() - started;
  if (!changed) metrics.duplicates += 1;
  else if (!replayUI.active) {
    undrawn.push([event.seq, event.issued_at_unix_s]);
    markDirty(changed);
  }
}

let announced = "";
let health = null; // the last /health body that was not ok, null while the server is ok

/** The notice over the map while the server reports a background task or a radar down. */
function renderHealth() {
  const notice = $("health");
  notice.hidden = health === null;
  if (health === null) return;
  notice.dataset.status = health.status;
  const reason = Object.assign(document.createElement("span"), { className: "health-reason" });
  reason.textContent = String(health.reason ?? "");
  const kind = noticeKind(health);
  notice.dataset.kind = kind;
  const key = { down: "healthDown", sensors: "healthSensors", degraded: "healthDegraded" }[kind];
  notice.replaceChildren(t(lang, key), reason);
}

/** The header badge; screen readers hear only changes of state, not the replay clock. */
function renderStatus() {
  const badge = $("status");
  const state = replayUI.active ? "replay" : status;
  badge.dataset.state = state;
  const word = t(lang, status === "live" ? "liveBadge" : status === "connecting" ? "connecting" : "reconnecting");
  badge.textContent = replayUI.active ? t(lang, "replaying", { time: clock(lang, replayUI.atS) }) : word;
  const announcement = replayUI.active ? t(lang, "replaying", { time: "" }).trim() : word;
  if (announcement !== announced) {
    $("announce").textContent = announcement;
    announced = announcement;
  }
}

/** Once every 250 ms: expire old live states and tick the countdowns. */
function tick() {
  if (!replayUI.active) {
    const changed = live.prune(nowS());
    if (changed.size) markDirty(changed);
  }
  if (shown().covering.size) markDirty([], { list: false }); // countdowns tick
  else renderBanners($("exercise-banner"), $("cancel-notice"), shown(), nowS(), lang); // notices lapse
}

// ---- My location --------------------------------------------------------------------------

function setMe(lat, lon, areaId) {
  const entry = areaId ?? index.locate(lat, lon)?.id ?? null;
  me = { lat, lon, areaId: entry };
  localStorage.setItem(ME_KEY, JSON.stringify(me));
  mapView.setMyLocation(me.areaId, [lat, lon]);
  myLastStage = null;
  markDirty([], { list: false });
}

function useGeolocation() {
  const note = $("me-note");
  if (!navigator.geolocation) {
    note.textContent = t(lang, "geoDenied", { reason: "-" });
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      note.textContent = "";
      setMe(pos.coords.latitude, pos.coords.longitude);
      mapView.map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(mapView.map.getZoom(), 12));
    },
    (err) => {
      note.textContent = t(lang, "geoDenied", { reason: err.message });
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

function fillAreaNames() {
  const options = index.entries
    .map((e) => areaName(e.props, lang))
    .sort((a, b) => a.localeCompare(b, lang))
    .map((name) => Object.assign(document.createElement("option"), { value: name }));
  $("area-names").replaceChildren(...options);
}

/** The area named in the search box: an exact name in the page's language, else the only area
 * whose name in any language contains the text. */
function chooseAreaByName() {
  const text = $("area-search").value.trim();
  const matches = index.search(text, 2);
  const exact = index.entries.find((e) => areaName(e.props, lang) === text) || (matches.length === 1 ? matches[0] : null);
  if (!exact) return;
  setMe(exact.label[0], exact.label[1], exact.id);
  mapView.map.setView(exact.label, Math.max(mapView.map.getZoom(), 12));
}

// ---- Language and start-up ----------------------------------------------------------------

function setLanguage(next) {
  lang = next;
  rememberLanguage(lang);
  applyLanguage(lang);
  replayUI.relabel();
  renderLegend();
  renderStatus();
  renderHealth();
  if (index) fillAreaNames();
  markDirty([]);
}

function renderLegend() {
  const legend = $("legend");
  const items = [
    ["alert", "legendAlert"],
    ["pre_alert", "legendPre"],
    ["ended", "legendEnded"],
  ].map(([stage, key]) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch swatch-${stage}`;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, document.createTextNode(t(lang, key)));
    return li;
  });
  legend.replaceChildren(...items);
}

/** The server's log was reset (a new store, another server): what the page holds belongs to
 * another log. Forget it and load the state again, as at start. */
async function reloadState() {
  const before = live.shownAreaIds();
  live.clear();
  markDirty(before);
  await loadState();
}

/** The recent past (for ended areas and the list), then what is active now. */
async function loadState() {
  const active = await getJSON("/v1/alerts/active");
  const recent = await fetchHistory(serverNowS() - RECENT_S, serverNowS() + 60);
  for (const event of recent) if (event.seq <= active.last_seq) live.apply(event);
  markDirty([...live.shownAreaIds(), ...live.loadSnapshot(active)]);
}

async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const serverDateS = Date.parse(response.headers.get("date") || "") / 1000;
  if (Number.isFinite(serverDateS)) {
    // The Date header is truncated to the second: its middle is half a second later.
    const skewS = serverDateS + 0.5 - Date.now() / 1000;
    serverMinusLocalS = Math.abs(skewS) > SKEW_MIN_S ? skewS : 0;
  }
  return response.json();
}

function bindControls() {
  $("lang").value = lang;
  $("lang").addEventListener("change", (e) => setLanguage(e.target.value));
  $("geo").addEventListener("click", useGeolocation);
  $("pick").addEventListener("click", () => {
    const on = !mapView.picking;
    mapView.setPicking(on);
    $("pick").setAttribute("aria-pressed", String(on));
    $("me-note").textContent = on ? t(lang, "pickHint") : "";
  });
  $("area-search").addEventListener("change", chooseAreaByName);
  $("forget").addEventListener("click", () => {
    me = null;
    localStorage.removeItem(ME_KEY);
    mapView.setMyLocation(null, null);
    markDirty([], { list: false });
  });
  $("siren").addEventListener("change", async (e) => {
    if (e.target.checked) await siren.arm();
    else siren.stop();
  });
  $("stop-siren").addEventListener("click", () => {
    siren.stop();
    $("stop-siren").hidden = true;
  });
  replayUI.bind();
  $("alert-list").addEventListener("focusout", () => markDirty([], { list: false }));
}

async function main() {
  applyLanguage(lang);
  replayUI.relabel();
  renderLegend();
  renderStatus();
  ({ index, view: mapView } = await openAreaMap($("map"), {
    labels: () => (index ? countdownLabels(shown(), index, nowS()) : []), // index: set once drawn
    onPick: (latlng) => {
      $("pick").setAttribute("aria-pressed", "false");
      $("me-note").textContent = "";
      setMe(latlng.lat, latlng.lng);
    },
    onAreaClick: (entry, latlng) => {
      const v = shown().view(entry.id, nowS());
      const stage = v ? t(lang, `stage_${v.stage}`) : t(lang, "stateNone");
      const shelter = entry.props.shelter_s === 0 ? t(lang, "immediately") : t(lang, "seconds", { s: entry.props.shelter_s });
      mapView.showPopup(latlng, `${areaName(entry.props, lang)} — ${t(lang, "shelterTime")}: ${shelter} — ${stage}`);
    },
  }, getJSON));
  bindControls();
  fillAreaNames();
  if (me) setMe(me.lat, me.lon, me.areaId);
  // The state now, then the stream from its seq.
  await loadState();
  new AlertStream({
    since: () => live.lastSeq,
    onEvent,
    onStatus: (s) => {
      status = s;
      renderStatus();
    },
    onReset: reloadState,
    onMalformed: () => {
      metrics.malformed += 1;
    },
  }).start();
  new HealthWatch({
    onChange: (h) => {
      health = h;
      renderHealth();
    },
  }).start();
  setInterval(tick, 250);
  document.addEventListener("visibilitychange", () => markDirty([]));
  // A read-only handle for debugging and the browser tests.
  window.redcolor = { live, metrics, index, map: mapView.map, shown, nowS, serverNowS, ready: true };
}

main().catch((err) => {
  $("status").dataset.state = "error";
  $("status").textContent = String(err.message || err);
});
