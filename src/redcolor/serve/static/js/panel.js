// The text side of the page: the alert list, the "my location" card and the summary line.
// Everything is built with DOM calls and textContent (server strings are never parsed as HTML);
// `el` is that builder, shared with the operator console.

import { areaName, categoryName, clock, t } from "./i18n.js";

const LIST_LIMIT = 50; // alerts shown in the list (newest first)
const NAMES_SHOWN = 12; // area names listed per alert before "and N more"

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shelterText(lang, shelterS) {
  return shelterS === 0 ? t(lang, "immediately") : t(lang, "seconds", { s: shelterS });
}

// Categories whose alerts are about something that comes down (or reaches) at a time a
// prediction can give: for these the card says when that time is not known.
const IMPACT_CATEGORIES = new Set(["missiles", "hostile_aircraft"]);

function durationText(lang, s) {
  return s < 100 ? t(lang, "seconds", { s }) : t(lang, "minSec", { m: Math.floor(s / 60), s: s % 60 });
}

/**
 * The card's impact line for an area's view: a countdown to the earliest predicted impact, the
 * window while it is open, that it has passed, or that it is not known; "" when there is
 * nothing to say (no alert, or a category with no impact time).
 */
export function impactText(view, nowS, lang) {
  if (!view || view.stage === "ended") return "";
  if (view.impactEarliestS === null) return IMPACT_CATEGORIES.has(view.category) ? t(lang, "impactUnknown") : "";
  if (nowS < view.impactEarliestS) return t(lang, "impactIn", { t: durationText(lang, Math.ceil(view.impactEarliestS - nowS)) });
  if (nowS <= view.impactLatestS) return t(lang, "impactNow", { time: clock(lang, Math.ceil(view.impactLatestS)) });
  return t(lang, "impactPassed");
}

/** Rebuild the alert list from the state's most recent alerts; `onShow(alert)` is called by an
 * item's "Show on map" button. */
export function renderAlertList(list, state, index, lang, onShow) {
  const alerts = state.recentAlerts(LIST_LIMIT);
  const items = alerts.map((alert) => {
    const li = el("li", `alert-item stage-${alert.stage}`);
    const head = el("div", "alert-head");
    head.append(el("span", "badge", t(lang, `stage_${alert.stage}`)));
    if (alert.exercise) head.append(el("span", "badge badge-exercise", t(lang, "exerciseTag")));
    head.append(
      el("strong", "category", categoryName(lang, alert.category)),
      el("time", "when", clock(lang, alert.updatedS)),
    );
    head.querySelector("time").dateTime = new Date(alert.updatedS * 1000).toISOString();
    const ids = [...alert.areaIds];
    const names = ids.slice(0, NAMES_SHOWN).map((id) => areaName(index.byId.get(id)?.props, lang) || String(id));
    let text = names.join(t(lang, "listSeparator"));
    if (ids.length > NAMES_SHOWN) text += ` ${t(lang, "andMore", { n: ids.length - NAMES_SHOWN })}`;
    li.append(head, el("p", "areas", `${t(lang, "areas", { n: ids.length })}: ${text}`));
    const instruction = alert.instructions[lang] || alert.instructions.en;
    if (instruction) li.append(el("p", "instruction", instruction));
    const show = el("button", "link show", t(lang, "showOnMap"));
    show.type = "button";
    show.addEventListener("click", () => onShow(alert));
    li.append(show);
    return li;
  });
  if (!items.length) items.push(el("li", "alert-empty", t(lang, "noAlerts")));
  list.replaceChildren(...items);
}

/**
 * The banners over the map: EXERCISE while any exercise alert is active, and one "sent in
 * error" notice per alert cancelled within the notice time (newest first).
 */
export function renderBanners(exerciseEl, cancelEl, state, nowS, lang) {
  const exercise = state.exerciseActive();
  exerciseEl.hidden = !exercise;
  if (exercise) setText(exerciseEl, t(lang, "exerciseBanner"));
  const cancels = state.recentCancels(nowS);
  cancelEl.hidden = !cancels.length;
  const text = cancels
    .map((a) => t(lang, "sentInError", { category: categoryName(lang, a.category), time: clock(lang, a.cancelledS) }))
    .join(" ");
  setText(cancelEl, text);
}

/** The summary line: how many areas are alerted / pre-alerted now. */
export function summaryText(state, nowS, lang) {
  const c = state.counts(nowS);
  return t(lang, "summary", { alert: c.alert, pre: c.pre_alert });
}

/**
 * Fill the "my location" card. `me` is {areaId, lat, lon} or null; returns the area's shown
 * view (or null) so the caller can sound the siren on a change of stage.
 */
export function renderMyArea(card, me, state, index, nowS, lang) {
  const stateEl = card.querySelector("#me-state");
  const timerEl = card.querySelector("#me-timer");
  const nameEl = card.querySelector("#me-area");
  const shelterEl = card.querySelector("#me-shelter");
  const impactEl = card.querySelector("#me-impact");
  card.hidden = !me;
  if (!me) return null;
  const entry = me.areaId !== null ? index.byId.get(me.areaId) : null;
  if (!entry) {
    const near = index.nearest(me.lat, me.lon);
    const name = near.entry ? areaName(near.entry.props, lang) : "";
    setText(nameEl, t(lang, "notInArea", { name, km: (near.distanceM / 1000).toFixed(1) }));
    setText(shelterEl, "");
    setText(stateEl, "");
    setText(timerEl, "");
    setText(impactEl, "");
    card.dataset.stage = "none";
    return null;
  }
  const props = entry.props;
  const zone = props[`zone_${lang}`] || props.zone_en || "";
  setText(nameEl, zone ? `${areaName(props, lang)} · ${zone}` : areaName(props, lang));
  setText(shelterEl, `${t(lang, "shelterTime")}: ${shelterText(lang, props.shelter_s)}`);
  const view = state.view(entry.id, nowS);
  const stage = view ? view.stage : "none";
  card.dataset.stage = stage;
  setText(impactEl, impactText(view, nowS, lang));
  impactEl.dataset.known = String(Boolean(view && view.impactEarliestS !== null));
  if (!view) {
    setText(stateEl, t(lang, "stateNone"));
    setText(timerEl, "");
  } else if (view.stage === "alert") {
    setText(stateEl, `${t(lang, "stage_alert")}: ${categoryName(lang, view.category)} — ${t(lang, "takeShelter")}`);
    setText(timerEl, t(lang, "left", { s: Math.ceil(view.remainingS) }));
  } else {
    setText(stateEl, t(lang, `stage_${view.stage}`));
    setText(timerEl, "");
  }
  return view;
}

/** Set text only when it differs, so live regions announce changes and nothing else. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Countdown labels for the map: one per area at the alert stage (soonest deadline first), then
 * a dot-only label (text null) per pre-alerted area.
 */
export function countdownLabels(state, index, nowS) {
  const labels = [];
  const dots = [];
  for (const id of state.shownAreaIds()) {
    const view = state.view(id, nowS);
    const entry = index.byId.get(id);
    if (!view || !entry || !entry.label) continue;
    const [lat, lon] = entry.label;
    if (view.stage === "pre_alert") dots.push({ lat, lon, bbox: entry.bbox, text: null, urgent: false, stage: "pre_alert" });
    if (view.stage !== "alert") continue;
    const remaining = Math.max(0, Math.ceil(view.remainingS));
    labels.push({ lat, lon, bbox: entry.bbox, text: String(remaining), urgent: remaining === 0, stage: "alert", remaining });
  }
  labels.sort((a, b) => a.remaining - b.remaining);
  return labels.concat(dots);
}
