// The operator console's words and lists: what a proposal or an alert is, in plain words, and
// the cards of the pending list, the open alerts, the "awaiting confirmation" list, the preview
// panel and the audit table. Built with DOM calls and textContent only: every string from the
// server (names, texts, CAP XML) is shown as text, never parsed as HTML.
//
// The words are English: the console is for trained operators; the texts the public gets are
// shown in all four languages in the preview.

import { areaName, categoryName } from "./i18n.js";
import { el } from "./panel.js";

const NAMES_SHOWN = 8; // area names listed on a card before "and N more"

/** The server's mode in words: the one phrasing of LIVE and EXERCISE on the whole page. */
export const MODE_WORDS = {
  live: "LIVE — real public alerts",
  exercise: "EXERCISE — not sent to the public",
};

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export const areasWord = (n) => plural(n, "area");

/** "Meron, Safed, … and 3 more" for a list of area ids. */
export function areaNames(ids, index) {
  const names = ids.slice(0, NAMES_SHOWN).map((id) => areaName(index.byId.get(id)?.props, "en") || `area ${id}`);
  return ids.length > NAMES_SHOWN ? `${names.join(", ")} and ${ids.length - NAMES_SHOWN} more` : names.join(", ");
}

const STAGE_WORDS = { pre_alert: "pre-alert", alert: "alert" };

/** What a draft will send, in words, e.g. "LIVE alert: Rocket and missile fire — 3 areas" or
 * "correction: this alert was sent in error — 3 areas". `targetAreas(alertId)` counts the open
 * areas of the alert an update/end/cancel is aimed at. */
export function draftWords(draft, mode, targetAreas) {
  const exercise = draft.exercise || mode === "exercise";
  switch (draft.kind) {
    case "issue":
      return `${exercise ? "EXERCISE" : "LIVE"} ${STAGE_WORDS[draft.stage] || "alert"}: ${categoryName("en", draft.category)} — ${areasWord((draft.area_ids || []).length)}`;
    case "cancel":
      return `correction: this alert was sent in error — ${areasWord(targetAreas(draft.alert_id))}`;
    case "end": {
      const n = draft.area_ids && draft.area_ids.length ? draft.area_ids.length : targetAreas(draft.alert_id);
      return `all-clear: this alert has ended — ${areasWord(n)}`;
    }
    case "update":
      return `update: add ${areasWord((draft.area_ids || []).length)}, remove ${areasWord((draft.remove_area_ids || []).length)}`;
    default:
      return String(draft.kind);
  }
}

/** The label of the button that sends a draft, capitalised: "Send correction: …". */
export function sendLabel(draft, mode, targetAreas) {
  return `Send ${draftWords(draft, mode, targetAreas)}`;
}

/** mm:ss until a Unix time (0:00 once passed). */
export function countdown(untilS, nowS) {
  const left = Math.max(0, Math.round(untilS - nowS));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

function clockText(unixS) {
  return new Date(unixS * 1000).toLocaleTimeString("en-GB", { hour12: false });
}

/** A button; `testid` names it for the browser tests. */
export function button(text, testid, onClick, className = "") {
  const b = el("button", className, text);
  b.type = "button";
  b.dataset.testid = testid;
  b.addEventListener("click", onClick);
  return b;
}

/**
 * One pending proposal. `ctx` = {me, mode, index, nowS, targetAreas, armed (key or null),
 * arm(key), disarm(), approve(p), reject(p, reason)}.
 */
export function proposalCard(p, ctx) {
  const li = el("li", `card kind-${p.draft.kind}`);
  li.dataset.testid = `proposal-${p.id}`;
  const exercise = p.draft.exercise || ctx.mode === "exercise";
  if (exercise) li.classList.add("exercise");
  const head = el("p", "card-head");
  head.append(el("span", `badge ${exercise ? "badge-exercise" : "badge-live"}`, exercise ? "EXERCISE" : "LIVE"));
  head.append(el("strong", "", capitalise(draftWords(p.draft, ctx.mode, ctx.targetAreas))));
  li.append(head);
  if (p.draft.kind === "issue" && p.draft.area_ids) {
    li.append(el("p", "areas", areaNames(p.draft.area_ids, ctx.index)));
  } else if (p.draft.alert_id) {
    li.append(el("p", "areas", `alert ${p.draft.alert_id}`));
  }
  const meta = el("p", "meta", `proposed by ${p.proposer} at ${clockText(p.created_unix_s)} — lapses in `);
  const lapse = el("span", "lapse", countdown(p.lapses_unix_s, ctx.nowS()));
  lapse.dataset.until = String(p.lapses_unix_s);
  meta.append(lapse);
  li.append(meta);
  const own = p.proposer === ctx.me.user;
  const actions = el("div", "card-actions");
  if (own) {
    const waiting = el("p", "waiting", "Waiting for another supervisor to approve");
    waiting.dataset.testid = `waiting-${p.id}`;
    actions.append(waiting);
  } else if (!ctx.canApprove) {
    actions.append(el("p", "waiting", "Waiting for a supervisor to approve"));
  } else if (ctx.armed === `approve:${p.id}`) {
    actions.append(
      button(`Approve and publish ${draftWords(p.draft, ctx.mode, ctx.targetAreas)}`, `approve-confirm-${p.id}`, () => ctx.approve(p), "big confirm"),
      button("Back", `approve-back-${p.id}`, ctx.disarm, "big"),
    );
  } else if (ctx.armed === `reject:${p.id}`) {
    const reason = el("input", "reason");
    reason.placeholder = "Why (for the proposer and the audit log)";
    reason.setAttribute("aria-label", "Reason for rejecting");
    reason.dataset.testid = `reject-reason-${p.id}`;
    actions.append(
      reason,
      button("Reject this proposal", `reject-confirm-${p.id}`, () => ctx.reject(p, reason.value.trim() || "rejected"), "big"),
      button("Back", `reject-back-${p.id}`, ctx.disarm, "big"),
    );
  } else {
    actions.append(
      button("Approve", `approve-${p.id}`, () => ctx.arm(`approve:${p.id}`), "big primary"),
      button("Reject", `reject-${p.id}`, () => ctx.arm(`reject:${p.id}`), "big"),
    );
  }
  li.append(actions);
  return li;
}

/** One proposal a supervisor issued alone, waiting for a second supervisor's confirmation. */
export function awaitingCard(p, ctx) {
  const li = el("li", "card awaiting-card");
  li.dataset.testid = `awaiting-${p.id}`;
  li.append(el("p", "card-head", `${capitalise(draftWords(p.draft, ctx.mode, ctx.targetAreas))} — issued alone by ${p.proposer} at ${clockText(p.decided_unix_s ?? p.created_unix_s)}`));
  if (ctx.canApprove && p.proposer !== ctx.me.user) {
    li.append(button("Confirm: I checked this alert", `second-confirm-${p.id}`, () => ctx.confirm(p), "big primary"));
  } else {
    li.append(el("p", "waiting", "A second supervisor must confirm it"));
  }
  return li;
}

/** The open areas of an alert (those not ended or cancelled). */
export function openAreaIds(alert) {
  return alert.areas.filter((a) => a.stage !== "ended" && a.stage !== "cancelled").map((a) => a.id);
}

/**
 * One open alert with Cancel (false alert) / End / Update. `ctx` as for proposalCard plus
 * {canPropose, send(draft), startUpdate(alert)}.
 */
export function openAlertCard(alert, ctx) {
  const li = el("li", "card open-card");
  const id = alert.alert_id;
  li.dataset.testid = `alert-${id}`;
  const exercise = alert.status === "exercise";
  if (exercise) li.classList.add("exercise");
  const ids = openAreaIds(alert);
  const head = el("p", "card-head");
  head.append(el("span", `badge ${exercise ? "badge-exercise" : "badge-live"}`, exercise ? "EXERCISE" : "LIVE"));
  head.append(el("strong", "", `${categoryName("en", alert.category)} — ${areasWord(ids.length)}`));
  head.append(el("span", "origin", alert.manual ? "issued by hand" : "automatic"));
  li.append(head);
  li.append(el("p", "areas", areaNames(ids, ctx.index)));
  const by = (alert.source || []).join(", ");
  const expiry = alert.expires_unix_s ? ` — expires ${clockText(alert.expires_unix_s)}` : "";
  li.append(el("p", "meta", `${id}${by ? ` — ${by}` : ""}${expiry}`));
  const actions = el("div", "card-actions");
  if (ctx.canPropose) {
    const cancel = { kind: "cancel", alert_id: id };
    const end = { kind: "end", alert_id: id };
    if (ctx.armed === `cancel:${id}`) {
      actions.append(
        button(sendLabel(cancel, ctx.mode, ctx.targetAreas), `cancel-confirm-${id}`, () => ctx.send(cancel), "big confirm"),
        button("Back", `cancel-back-${id}`, ctx.disarm, "big"),
      );
    } else if (ctx.armed === `end:${id}`) {
      actions.append(
        button(sendLabel(end, ctx.mode, ctx.targetAreas), `end-confirm-${id}`, () => ctx.send(end), "big confirm"),
        button("Back", `end-back-${id}`, ctx.disarm, "big"),
      );
    } else {
      actions.append(
        button("Cancel — it was a false alert", `cancel-${id}`, () => ctx.arm(`cancel:${id}`), "big danger"),
        button("End — all clear", `end-${id}`, () => ctx.arm(`end:${id}`), "big"),
        button("Update areas", `update-${id}`, () => ctx.startUpdate(alert), "big"),
      );
    }
  }
  li.append(actions);
  return li;
}

export function capitalise(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

// The preview answer: one section per channel. Known keys get a heading in words; any other
// key is shown under its own name, so nothing the server says it will send is hidden.
const PREVIEW_HEADINGS = {
  areas_count: "Number of areas",
  areas: "Number of areas",
  shelter_s: "People's time to shelter",
  shelter: "People's time to shelter",
  push: "Push notification text, per language",
  push_text: "Push notification text, per language",
  sirens: "Sirens that will sound (areas)",
  siren_area_ids: "Sirens that will sound (areas)",
  live_file: "Live file (alerts.json) as the public feed will show it",
  live: "Live file (alerts.json) as the public feed will show it",
  cap: "CAP message (XML)",
  cap_xml: "CAP message (XML)",
};
const LANG_NAMES = { he: "Hebrew", en: "English", ar: "Arabic", ru: "Russian" };

function isLanguageMap(value) {
  return value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0 && Object.keys(value).every((k) => k in LANG_NAMES);
}

function shelterText(value) {
  if (typeof value === "number") return value === 0 ? "immediately" : `${value} s`;
  if (value && typeof value === "object" && "min" in value) {
    const min = value.min ?? value.min_s;
    const max = value.max ?? value.max_s;
    let text = `from ${min} s to ${max} s`;
    const histogram = value.histogram;
    if (histogram && typeof histogram === "object") {
      const parts = Object.entries(histogram).map(([s, n]) => `${s === "0" ? "immediately" : `${s} s`}: ${areasWord(Number(n))}`);
      text += ` (${parts.join("; ")})`;
    }
    return text;
  }
  return JSON.stringify(value);
}

/** Fill `body` with the preview answer. */
export function renderPreview(body, preview, index) {
  const parts = [];
  for (const [key, value] of Object.entries(preview)) {
    const section = el("section", "pv");
    section.dataset.testid = `preview-${key}`;
    section.append(el("h3", "", PREVIEW_HEADINGS[key] || key.replaceAll("_", " ")));
    if (key.startsWith("shelter")) {
      section.append(el("p", "pv-value", shelterText(value)));
    } else if (typeof value === "number") {
      section.append(el("p", "pv-value", String(value)));
    } else if (typeof value === "string") {
      section.append(el("pre", "pv-code", value));
    } else if (isLanguageMap(value)) {
      const list = el("dl", "pv-langs");
      for (const [lang, text] of Object.entries(value)) {
        const dd = el("dd", "", typeof text === "string" ? text : JSON.stringify(text));
        dd.lang = lang;
        dd.dir = "auto";
        list.append(el("dt", "", LANG_NAMES[lang]), dd);
      }
      section.append(list);
    } else if (Array.isArray(value) && value.every(Number.isInteger)) {
      const text = value.length ? `${areasWord(value.length)}: ${areaNames(value, index)}` : "none";
      section.append(el("p", "pv-value", text));
    } else {
      section.append(el("pre", "pv-code", JSON.stringify(value, null, 2)));
    }
    parts.push(section);
  }
  body.replaceChildren(...parts);
}

function compact(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** One audit record as a table row. */
export function auditRow(record) {
  const tr = el("tr", `audit-${record.action}`);
  const what = [record.target, compact(record.before) && `before ${compact(record.before)}`, compact(record.after) && `after ${compact(record.after)}`]
    .filter(Boolean)
    .join(" — ");
  const when = new Date(record.at_unix_s * 1000);
  for (const text of [String(record.seq), `${when.toISOString().slice(0, 10)} ${clockText(record.at_unix_s)}`, record.actor, record.role, record.address, record.action, what]) {
    tr.append(el("td", "", text));
  }
  return tr;
}
