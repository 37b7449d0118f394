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

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export const areasWord = (n) => plural(n, "area");

/** "Meron, Safed, … and 3 more" for a list of area ids. */
function areaNames(ids, index) {
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

const LANG_NAMES = { he: "Hebrew", en: "English", ar: "Arabic", ru: "Russian" };
const STAGE_EVENT_WORDS = { pre_alert: "pre-alert", alert: "alert", update: "areas added", ended: "ended", cancelled: "cancelled: sent in error" };

function section(testid, heading, ...content) {
  const node = el("section", "pv");
  node.dataset.testid = testid;
  node.append(el("h3", "", heading), ...content);
  return node;
}

function shelterWords(shelter) {
  if (shelter.min === null || shelter.min === undefined) return "no areas";
  const s = (n) => (Number(n) === 0 ? "immediately" : `${n} s`);
  const parts = Object.entries(shelter.histogram || {}).map(([k, n]) => `${areasWord(n)} ${s(k)}`);
  return `${shelter.min === shelter.max ? s(shelter.min) : `from ${s(shelter.min)} to ${s(shelter.max)}`}${parts.length > 1 ? ` (${parts.join(", ")})` : ""}`;
}

function sentWords(sent) {
  return sent ? "sent to the public" : "NOT sent: exercise";
}

/** Fill `body` with the answer of POST /v1/operator/preview: each channel's content as it will
 * go out (the live file, every CAP document, the push text per language, the sirens), the
 * number of areas and the people's times to shelter. */
export function renderPreview(body, preview, index) {
  const parts = [];
  const exercise = el("p", `pv-mode ${preview.exercise ? "exercise" : "live"}`, MODE_WORDS[preview.exercise ? "exercise" : "live"]);
  parts.push(exercise);
  parts.push(section("preview-areas", "Areas and people's time to shelter", el("p", "pv-value", `${areasWord(preview.areas_count)} — time to shelter ${shelterWords(preview.shelter_s || {})}`)));
  const events = (preview.events || []).map((e) => `${STAGE_EVENT_WORDS[e.stage] || e.stage}: ${areasWord(e.area_ids.length)}`);
  parts.push(section("preview-events", "Messages", el("p", "pv-value", events.join("; ") || "none")));
  const live = preview.live_file ? el("pre", "pv-code", JSON.stringify(preview.live_file, null, 2)) : el("p", "pv-value", "Empty: no area under alert in the live file.");
  parts.push(section("preview-live", "Live file (Alerts.json), as the public feed will show it", live));
  const push = preview.push || { text: {} };
  const langs = el("dl", "pv-langs");
  for (const [lang, text] of Object.entries(push.text || {})) {
    const dd = el("dd", "", text);
    dd.lang = lang;
    dd.dir = "auto";
    langs.append(el("dt", "", LANG_NAMES[lang] || lang), dd);
  }
  parts.push(section("preview-push", `Push notification text (${sentWords(push.sent)})`, langs));
  const sirens = preview.sirens || { activate: [], stop: [] };
  const sound = sirens.activate.length ? `sound in ${areasWord(sirens.activate.length)}: ${areaNames(sirens.activate, index)}` : "none sound";
  const stop = sirens.stop.length ? `; stop in ${areasWord(sirens.stop.length)}: ${areaNames(sirens.stop, index)}` : "";
  parts.push(section("preview-sirens", `Sirens (${sentWords(sirens.sent)})`, el("p", "pv-value", sound + stop)));
  const caps = (preview.cap || []).map((xml) => el("pre", "pv-code", xml));
  parts.push(section("preview-cap", `CAP ${caps.length === 1 ? "message" : `messages (${caps.length})`} (XML)`, ...caps));
  body.replaceChildren(...parts);
}

function compact(value, max = 160) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What an audited action changed: for two objects, each top-level field that differs
 * ("state: pending → published"); else the values themselves, shortened. */
function auditChange(before, after) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    const changed = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return changed.map((k) => `${k}: ${compact(before[k], 40) || "—"} → ${compact(after[k], 40) || "—"}`).join("; ");
  }
  return [compact(before) && `before ${compact(before)}`, compact(after) && `after ${compact(after)}`].filter(Boolean).join(" — ");
}

/** One audit record as a table row. */
export function auditRow(record) {
  const tr = el("tr", `audit-${record.action}`);
  const what = [record.target, auditChange(record.before, record.after)].filter(Boolean).join(" — ");
  const when = new Date(record.at_unix_s * 1000);
  for (const text of [String(record.seq), `${when.toISOString().slice(0, 10)} ${clockText(record.at_unix_s)}`, record.actor, record.role, record.address, record.action, what]) {
    tr.append(el("td", "", text));
  }
  return tr;
}
