// The operator console (/console): sign in; compose an alert on the map (areas clicked, by zone,
// by name, by a drawn polygon), see exactly what every channel will carry, propose it; approve
// or reject others' proposals; cancel, end or update any open alert in two clicks; switch the
// server between LIVE and EXERCISE; read the audit log. The server decides everything (roles,
// the two-person rule, the mode): this page only asks and shows the answers.
//
// The page polls /v1/operator/state once a second: the pending list, the open alerts and the
// mode are never more than a second old.

import { areaName, categoryName } from "./i18n.js";
import { openAreaMap } from "./mapview.js";
import { ApiError, OperatorApi, roleAtLeast } from "./opapi.js";
import {
  MODE_WORDS,
  areasWord,
  auditRow,
  awaitingCard,
  button,
  capitalise,
  countdown,
  draftWords,
  openAlertCard,
  openAreaIds,
  proposalCard,
  renderPreview,
  sendLabel,
} from "./deskview.js";
import { el } from "./panel.js";

const POLL_MS = 1000;
const AUDIT_EVERY_MS = 5000;
const ARMED_FOR_MS = 20000; // a confirm button not pressed by then goes back to the first step
const PREVIEW_DELAY_MS = 250;
const AUDIT_KEEP = 500;
const $ = (id) => document.getElementById(id);

const api = new OperatorApi();
const page = {
  me: null, // {user, role}
  mode: null,
  serverMinusLocalS: 0,
  pending: [],
  awaiting: [],
  openAlerts: [],
  soloCategories: [], // categories a supervisor may issue alone (the server's policy)
  templates: null,
  index: null,
  mapView: null,
  exerciseChosen: false, // the operator's own tick of "this is an exercise" (in LIVE mode)
  selection: new Set(), // area ids of the alert being composed (or the update being made)
  updating: null, // {alert, original: Set} while an open alert's areas are being changed
  armed: null, // the key of the one confirm button showing, e.g. "cancel:<alert id>"
  armedTimer: null,
  draw: { on: false, points: [], layer: null },
  mapStage: new Map(), // area id -> "alert" | "pre_alert": areas of open alerts, for context
  signatures: new Map(), // list element id -> what it was last drawn from
  audit: new Map(), // seq -> record
  previewSeq: 0,
  previewTimer: null,
  pollTimer: null,
  auditTimer: null,
};
const nowS = () => Date.now() / 1000 + page.serverMinusLocalS;
const canPropose = () => page.me && roleAtLeast(page.me.role, "operator");
const canApprove = () => page.me && roleAtLeast(page.me.role, "supervisor");
const targetAreas = (alertId) => {
  const alert = page.openAlerts.find((a) => a.alert_id === alertId);
  return alert ? openAreaIds(alert).length : 0;
};

// ---- messages -----------------------------------------------------------------------------

function notice(text) {
  $("notice").textContent = text;
  $("notice").hidden = !text;
}

function result(text, { error = false } = {}) {
  $("compose-result").textContent = text;
  $("compose-result").classList.toggle("error", error);
}

function errorText(err) {
  if (err instanceof ApiError) return err.status ? `Refused (${err.status}): ${err.message}` : err.message;
  return String(err.message || err);
}

// ---- arming: every consequential action takes a second click on a button naming it --------

function arm(key) {
  page.armed = key;
  clearTimeout(page.armedTimer);
  page.armedTimer = setTimeout(disarm, ARMED_FOR_MS);
  render();
  schedulePreview();
}

function disarm() {
  const previewed = armedDraft();
  page.armed = null;
  clearTimeout(page.armedTimer);
  render();
  if (previewed) schedulePreview();
}

// ---- sign in ------------------------------------------------------------------------------

function showLogin(message = "") {
  stopPolling();
  page.me = null;
  // Nothing of the last person's work carries over to whoever signs in next.
  clearTimeout(page.armedTimer);
  page.armed = null;
  page.updating = null;
  page.audit.clear();
  page.signatures.clear();
  $("audit-rows").replaceChildren();
  $("compose-result").textContent = "";
  notice("");
  if (page.mapView) setSelection([]);
  $("desk").hidden = true;
  $("awaiting").hidden = true;
  $("logout").hidden = true;
  $("mode-switch-box").hidden = true;
  $("who").textContent = "";
  setMode(null, "Sign in to see whether the server is LIVE or in EXERCISE");
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("login-user").focus();
}

async function submitLogin(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  $("login-submit").disabled = true;
  try {
    const answer = await api.login($("login-user").value.trim(), $("login-password").value, $("login-totp").value.trim());
    $("login-password").value = "";
    $("login-totp").value = "";
    await enterDesk({ user: answer.user, role: answer.role, mode: answer.mode });
  } catch (err) {
    $("login-error").textContent = err instanceof ApiError && err.status === 401 ? "Wrong user name, password or code." : errorText(err);
  } finally {
    $("login-submit").disabled = false;
  }
}

async function logout() {
  try {
    await api.logout();
  } catch {
    // the session is gone either way: the page forgets it
  }
  showLogin("Signed out.");
}

async function enterDesk(me) {
  page.me = { user: me.user, role: me.role };
  $("login").hidden = true;
  $("desk").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${me.user} (${me.role})`;
  if (me.mode) setMode(me.mode);
  $("compose").hidden = !canPropose();
  $("audit").hidden = !canApprove();
  $("issue-alone").hidden = !canApprove();
  if (!page.templates) fillTemplates(await api.templates());
  if (!page.mapView) await openMap();
  startPolling();
}

// ---- the map ------------------------------------------------------------------------------

function styleOf(id) {
  if (page.selection.has(id)) return "selected";
  return page.mapStage.get(id) || "none";
}

async function openMap() {
  const getJSON = async (url) => {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  };
  const { index, view } = await openAreaMap(
    $("map"),
    {
      labels: () => [],
      onAreaClick: (entry) => toggleArea(entry.id),
      onPick: (latlng) => addPolygonPoint(latlng),
    },
    getJSON,
  );
  page.index = index;
  page.mapView = view;
  fillZones();
  window.redcolorConsole = { map: view.map, index, selection: page.selection, ready: true };
}

function toggleArea(id) {
  if (page.selection.has(id)) page.selection.delete(id);
  else page.selection.add(id);
  page.mapView.restyle([id], styleOf);
  selectionChanged();
}

function addAreas(ids) {
  const added = ids.filter((id) => !page.selection.has(id));
  for (const id of added) page.selection.add(id);
  page.mapView.restyle(added, styleOf);
  selectionChanged();
  return added.length;
}

function setSelection(ids) {
  const changed = new Set([...page.selection, ...ids]);
  page.selection.clear();
  for (const id of ids) page.selection.add(id);
  page.mapView.restyle(changed, styleOf);
  selectionChanged();
}

function selectionChanged() {
  renderSelection();
  renderSearch();
  render();
  schedulePreview();
}

/** Polygon drawing: each click on the map adds a corner (MapView's pick mode, re-armed). */
function startDrawing() {
  const draw = page.draw;
  draw.on = !draw.on;
  $("draw-start").setAttribute("aria-pressed", String(draw.on));
  $("draw-hint").hidden = !draw.on;
  page.mapView.setPicking(draw.on);
}

function addPolygonPoint(latlng) {
  const draw = page.draw;
  if (!draw.on) return;
  draw.points.push(latlng);
  if (!draw.layer) {
    draw.layer = L.polygon(draw.points, { renderer: L.svg(), interactive: false, color: "#041f57", weight: 3, dashArray: "6 4", fillOpacity: 0.08 }).addTo(page.mapView.map);
  } else {
    draw.layer.setLatLngs(draw.points);
  }
  page.mapView.setPicking(true);
  $("draw-finish").disabled = draw.points.length < 3;
  $("draw-clear").disabled = false;
}

function clearPolygon() {
  const draw = page.draw;
  if (draw.layer) draw.layer.remove();
  draw.layer = null;
  draw.points = [];
  draw.on = false;
  page.mapView.setPicking(false);
  $("draw-start").setAttribute("aria-pressed", "false");
  $("draw-hint").hidden = true;
  $("draw-finish").disabled = true;
  $("draw-clear").disabled = true;
}

async function finishPolygon() {
  const ring = page.draw.points.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  try {
    const answer = await api.resolve({ polygon: { type: "Polygon", coordinates: [ring] } });
    const n = addAreas(answer.area_ids);
    result(`The polygon added ${areasWord(n)}.`);
    clearPolygon();
  } catch (err) {
    result(errorText(err), { error: true });
  }
}

// ---- zones, names, templates --------------------------------------------------------------

/** Zones as the server lists them (GET /v1/operator/templates), else from the area data. */
function fillZones() {
  const given = page.templates && Array.isArray(page.templates.zones) ? page.templates.zones : null;
  const zones = given && given.every((z) => typeof z === "string")
    ? given
    : [...new Set(page.index.entries.map((e) => e.props.zone_en).filter(Boolean))];
  const options = [...zones].sort((a, b) => a.localeCompare(b)).map((z) => Object.assign(el("option", "", z), { value: z }));
  $("zone").replaceChildren(...options);
}

async function addZone() {
  const zone = $("zone").value;
  if (!zone) return;
  try {
    const answer = await api.resolve({ zones: [zone] });
    result(`Zone ${zone}: added ${areasWord(addAreas(answer.area_ids))}.`);
  } catch (err) {
    result(errorText(err), { error: true });
  }
}

function renderSearch() {
  const text = $("area-search").value;
  const hits = page.index ? page.index.search(text, 20) : [];
  const items = hits.map((entry) => {
    const chosen = page.selection.has(entry.id);
    const name = areaName(entry.props, "en");
    const other = entry.props.name_he && entry.props.name_he !== name ? ` / ${entry.props.name_he}` : "";
    const label = `${chosen ? "Remove" : "Add"} ${name}${other} — ${entry.props.zone_en || ""} (${entry.props.shelter_s} s)`;
    const li = el("li");
    li.append(button(label, `search-add-${entry.id}`, () => toggleArea(entry.id), chosen ? "chosen" : ""));
    return li;
  });
  $("search-results").replaceChildren(...items);
}

function fillTemplates(templates) {
  page.templates = templates;
  const categories = (templates.categories || []).map((c) => Object.assign(el("option", "", categoryName("en", c)), { value: c }));
  $("category").replaceChildren(...categories);
  fillTemplateChoices();
}

function fillTemplateChoices() {
  const category = $("category").value;
  const all = (page.templates && page.templates.templates) || {};
  const options = [Object.assign(el("option", "", "Standard instructions for this category"), { value: "" })];
  for (const [key, tpl] of Object.entries(all)) {
    if (tpl.category !== category) continue;
    const label = `${tpl.text && tpl.text.en ? tpl.text.en : key}${tpl.stage ? ` (${tpl.stage.replace("_", "-")})` : ""}`;
    options.push(Object.assign(el("option", "", label), { value: key }));
  }
  $("template").replaceChildren(...options);
  showTemplateText();
}

/** The chosen template's text in every language (the standard one of the category and stage
 * when none is chosen); choosing a template of the other stage sets the stage. */
function showTemplateText() {
  const all = page.templates?.templates || {};
  const chosen = all[$("template").value];
  if (chosen && chosen.stage && chosen.stage !== $("stage").value) $("stage").value = chosen.stage;
  const tpl = chosen || all[`${$("category").value}.${$("stage").value}`];
  const box = $("template-text");
  if (!tpl) {
    box.replaceChildren(el("p", "hint", "The standard instructions of the category and stage; the preview shows them in every language."));
    return;
  }
  box.replaceChildren(
    ...Object.entries(tpl.text || {}).map(([lang, text]) => {
      const p = el("p", "", text);
      p.lang = lang;
      p.dir = "auto";
      return p;
    }),
  );
}

// ---- the draft ----------------------------------------------------------------------------

function isExercise() {
  return page.mode === "exercise" || $("category").value === "drill" || page.exerciseChosen;
}

function currentDraft() {
  if (page.updating) {
    const { alert, original } = page.updating;
    return {
      kind: "update",
      alert_id: alert.alert_id,
      area_ids: [...page.selection].filter((id) => !original.has(id)),
      remove_area_ids: [...original].filter((id) => !page.selection.has(id)),
    };
  }
  const expiry = $("expiry").value;
  return {
    kind: "issue",
    category: $("category").value,
    stage: $("stage").value,
    area_ids: [...page.selection],
    template: $("template").value || null,
    expires_in_s: expiry ? Number(expiry) : null,
    exercise: isExercise(),
  };
}

function draftReady(draft) {
  if (draft.kind === "cancel" || draft.kind === "end") return Boolean(draft.alert_id);
  if (draft.kind === "update") return draft.area_ids.length + draft.remove_area_ids.length > 0;
  return draft.area_ids.length > 0 && Boolean(draft.category);
}

function schedulePreview() {
  clearTimeout(page.previewTimer);
  page.previewTimer = setTimeout(runPreview, PREVIEW_DELAY_MS);
}

/** The draft a confirm button is armed for (a cancel or an end of an open alert), if any: the
 * preview then shows what that correction will carry before the second click. */
function armedDraft() {
  const [kind, ...rest] = (page.armed || "").split(":");
  return kind === "cancel" || kind === "end" ? { kind, alert_id: rest.join(":") } : null;
}

async function runPreview() {
  const draft = armedDraft() || currentDraft();
  const seq = ++page.previewSeq;
  if (!canPropose() || !draftReady(draft)) {
    $("preview-status").textContent = "Choose areas to see the preview.";
    $("preview-body").replaceChildren();
    $("preview").dataset.state = "empty";
    return;
  }
  $("preview").dataset.state = "loading";
  try {
    const preview = await api.preview(draft);
    if (seq !== page.previewSeq) return; // a newer draft is being previewed
    $("preview-status").textContent = `What will be sent for: ${draftWords(draft, page.mode, targetAreas)}`;
    renderPreview($("preview-body"), preview, page.index);
    $("preview").dataset.state = "ready";
  } catch (err) {
    if (seq !== page.previewSeq) return;
    $("preview-status").textContent = `No preview: ${errorText(err)}`;
    $("preview-body").replaceChildren();
    $("preview").dataset.state = "error";
  }
}

async function propose() {
  const draft = currentDraft();
  await sendDraft(draft, () => api.propose(draft));
}

async function issueAlone() {
  const draft = currentDraft();
  await sendDraft(draft, () => api.issueAlone(draft));
}

/** Send a draft; on success the composer is cleared so the same alert cannot go twice. */
async function sendDraft(draft, call) {
  const words = draftWords(draft, page.mode, targetAreas);
  disarm();
  try {
    const proposal = await call();
    result(outcome(proposal, words));
    if (draft.kind === "issue" || draft.kind === "update") {
      page.updating = null;
      $("area-search").value = "";
      setSelection([]);
    }
    await refresh();
  } catch (err) {
    result(errorText(err), { error: true });
    notice(`Not sent — ${capitalise(words)}: ${errorText(err)}`);
  }
}

function outcome(proposal, words) {
  switch (proposal.state) {
    case "pending":
      return `Proposed: ${words}. It is published when a supervisor other than you approves it.`;
    case "published":
    case "confirmed":
      return `Published: ${words}.`;
    case "awaiting_confirmation":
      return `Published alone: ${words}. A second supervisor must confirm it.`;
    default:
      return `${capitalise(words)}: ${proposal.state}.`;
  }
}

// ---- actions on proposals and alerts -------------------------------------------------------

async function act(what, call) {
  disarm();
  try {
    await call();
    notice("");
  } catch (err) {
    notice(`${what}: ${errorText(err)}`);
  }
  await refresh();
}

const cardContext = () => ({
  me: page.me,
  mode: page.mode,
  index: page.index,
  nowS,
  targetAreas,
  armed: page.armed,
  canApprove: canApprove(),
  canPropose: canPropose(),
  arm,
  disarm,
  approve: (p) => act("Approve", () => api.approve(p.id)),
  reject: (p, reason) => act("Reject", () => api.reject(p.id, reason)),
  confirm: (p) => act("Confirm", () => api.confirm(p.id)),
  send: (draft) => act(capitalise(draftWords(draft, page.mode, targetAreas)), async () => {
    const proposal = await api.propose(draft);
    result(outcome(proposal, draftWords(draft, page.mode, targetAreas)));
  }),
  startUpdate,
});

function startUpdate(alert) {
  page.updating = { alert, original: new Set(openAreaIds(alert)) };
  setSelection(openAreaIds(alert));
  result(`Updating ${alert.alert_id}: click areas on the map to add or remove them.`);
  $("compose").scrollIntoView({ block: "start" });
}

function stopUpdate() {
  page.updating = null;
  setSelection([]);
  result("");
}

async function switchMode() {
  const next = page.mode === "live" ? "exercise" : "live";
  await act("Switch mode", async () => setMode((await api.setMode(next)).mode));
}

// ---- rendering ----------------------------------------------------------------------------

/** The mode bar: "live" or "exercise" in MODE_WORDS' words; null (not known: signed out, or
 * the server not answering) in grey with `why`. */
function setMode(mode, why = "") {
  page.mode = mode;
  const key = mode || "unknown";
  document.body.dataset.mode = key;
  $("mode-bar").dataset.mode = key;
  $("mode-words").textContent = mode ? MODE_WORDS[mode] || `Mode ${mode}` : why;
}

/** Redraw a list only when what it shows changed (a redraw would drop a half-typed reason). */
function drawList(list, items, signature, make) {
  if (page.signatures.get(list.id) === signature) return;
  page.signatures.set(list.id, signature);
  list.replaceChildren(...(items.length ? items.map(make) : [el("li", "empty", "None.")]));
}

function render() {
  if (!page.me || !page.index) return;
  const ctx = cardContext();
  const key = JSON.stringify([page.me, page.mode, page.armed]);
  drawList($("pending-list"), page.pending, key + JSON.stringify(page.pending), (p) => proposalCard(p, ctx));
  drawList($("open-list"), page.openAlerts, key + JSON.stringify(page.openAlerts), (a) => openAlertCard(a, ctx));
  drawList($("awaiting-list"), page.awaiting, key + JSON.stringify(page.awaiting), (p) => awaitingCard(p, ctx));
  $("awaiting").hidden = page.awaiting.length === 0;
  for (const span of document.querySelectorAll(".lapse")) span.textContent = countdown(Number(span.dataset.until), nowS());
  renderModeSwitch();
  renderBanner();
  renderComposer();
}

function renderModeSwitch() {
  $("mode-switch-box").hidden = !canApprove() || !page.mode; // never "switch" from an unknown mode
  const armed = page.armed === "mode";
  const next = page.mode === "live" ? "exercise" : "live";
  $("mode-switch").textContent = next === "exercise" ? "Switch to EXERCISE mode" : "Switch to LIVE mode";
  $("mode-switch").hidden = armed;
  $("mode-confirm").hidden = !armed;
  $("mode-back").hidden = !armed;
  $("mode-confirm").textContent =
    next === "exercise"
      ? "Confirm: switch the server to EXERCISE — alerts will not reach the public"
      : "Confirm: switch the server to LIVE — alerts will reach the real public";
}

function renderBanner() {
  const lines = [];
  if (page.mode === "exercise") lines.push("EXERCISE MODE: every alert made now is an exercise and is not sent to the public.");
  const drills = page.openAlerts.filter((a) => a.status === "exercise");
  for (const a of drills) lines.push(`EXERCISE alert open: ${categoryName("en", a.category)} — ${areasWord(openAreaIds(a).length)}. This is not a real alert.`);
  $("exercise-banner").textContent = lines.join(" ");
  $("exercise-banner").hidden = lines.length === 0;
}

function renderComposer() {
  const draft = currentDraft();
  const ready = draftReady(draft);
  const updating = page.updating !== null;
  $("compose-h").textContent = updating ? `Update of alert ${page.updating.alert.alert_id}` : "New alert";
  $("draft-fields").hidden = updating;
  $("update-banner").hidden = !updating;
  if (updating) $("update-banner").textContent = "Click areas on the map to add or remove them, then send the update.";
  const exercise = isExercise();
  $("exercise").checked = exercise;
  $("exercise").disabled = page.mode === "exercise" || $("category").value === "drill";
  $("propose").hidden = updating;
  $("propose").disabled = !ready;
  $("propose").textContent = ready ? `Propose ${draftWords(draft, page.mode, targetAreas)}` : "Propose (choose areas first)";
  $("propose").classList.toggle("exercise", exercise);
  const alone = page.armed === "issue";
  const solo = page.soloCategories.includes($("category").value);
  $("issue-alone").hidden = updating || !canApprove() || !solo || alone;
  $("issue-alone").disabled = !ready;
  $("issue-confirm").hidden = !alone;
  $("compose-back").hidden = !alone;
  if (alone) $("issue-confirm").textContent = `Send now, alone: ${draftWords(draft, page.mode, targetAreas)} — a second supervisor must confirm`;
  $("update-confirm").hidden = !updating;
  $("update-abort").hidden = !updating;
  $("update-confirm").disabled = !ready;
  if (updating) $("update-confirm").textContent = sendLabel(draft, page.mode, targetAreas);
}

function renderSelection() {
  const ids = [...page.selection];
  $("selection-count").textContent = `${areasWord(ids.length)} selected`;
  const items = ids.map((id) => {
    const props = page.index.byId.get(id)?.props;
    const li = el("li", "chip");
    li.append(el("span", "", `${areaName(props, "en")} (${props?.shelter_s ?? "?"} s)`));
    li.append(button("Remove", `remove-${id}`, () => toggleArea(id), "small"));
    return li;
  });
  $("selection").replaceChildren(...items);
}

function applyState(state) {
  if (Number.isFinite(state.server_time_unix_s)) page.serverMinusLocalS = state.server_time_unix_s - Date.now() / 1000;
  const modeChanged = state.mode !== page.mode;
  setMode(state.mode);
  page.pending = state.pending || [];
  page.awaiting = state.awaiting_confirmation || [];
  page.openAlerts = state.open_alerts || [];
  page.soloCategories = state.solo_categories || [];
  if (page.updating && !page.openAlerts.some((a) => a.alert_id === page.updating.alert.alert_id)) {
    page.updating = null;
    setSelection([]);
    result("The alert being updated is no longer open.");
  }
  const stages = new Map();
  for (const alert of page.openAlerts) {
    for (const a of alert.areas) {
      if (a.stage === "alert" || a.stage === "update") stages.set(a.id, "alert");
      else if (a.stage === "pre_alert" && !stages.has(a.id)) stages.set(a.id, "pre_alert");
    }
  }
  const changed = new Set([...page.mapStage.keys(), ...stages.keys()]);
  page.mapStage = stages;
  page.mapView.restyle(changed, styleOf);
  render();
  if (modeChanged) schedulePreview();
}

// ---- polling ------------------------------------------------------------------------------

let refreshing = null;
let failedPolls = 0;
const LOST_AFTER_POLLS = 2; // polls failed in a row before the page says it lost the server
const LOST_WORDS = "NO CONNECTION — mode unknown; what this page shows may be out of date";

/** One poll of /v1/operator/state (a poll already on its way is shared, not doubled). After
 * LOST_AFTER_POLLS failures the mode bar says the page lost the server, until a poll answers. */
function refresh() {
  if (!refreshing) {
    refreshing = api
      .state()
      .then((state) => {
        if (failedPolls >= LOST_AFTER_POLLS) notice("");
        failedPolls = 0;
        applyState(state);
      })
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) return;
        failedPolls += 1;
        if (failedPolls < LOST_AFTER_POLLS) return;
        setMode(null, LOST_WORDS);
        render();
        notice(`The console cannot reach the server: ${errorText(err)}`);
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

async function refreshAudit() {
  if (!canApprove()) return;
  const last = Math.max(0, ...page.audit.keys());
  try {
    const answer = await api.audit(last);
    const records = Array.isArray(answer) ? answer : answer.records || [];
    for (const r of records) page.audit.set(r.seq, r);
    const newest = [...page.audit.values()].sort((a, b) => b.seq - a.seq).slice(0, AUDIT_KEEP);
    page.audit = new Map(newest.map((r) => [r.seq, r]));
    if (records.length) $("audit-rows").replaceChildren(...newest.map(auditRow));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) notice(`Audit log: ${errorText(err)}`);
  }
}

function startPolling() {
  stopPolling();
  refresh();
  page.pollTimer = setInterval(refresh, POLL_MS);
  if (canApprove()) {
    refreshAudit();
    page.auditTimer = setInterval(refreshAudit, AUDIT_EVERY_MS);
  }
}

function stopPolling() {
  clearInterval(page.pollTimer);
  clearInterval(page.auditTimer);
  page.pollTimer = null;
  page.auditTimer = null;
}

// ---- start --------------------------------------------------------------------------------

function bind() {
  $("login-form").addEventListener("submit", submitLogin);
  $("logout").addEventListener("click", logout);
  $("mode-switch").addEventListener("click", () => arm("mode"));
  $("mode-back").addEventListener("click", disarm);
  $("mode-confirm").addEventListener("click", switchMode);
  $("category").addEventListener("change", () => {
    fillTemplateChoices();
    render();
    schedulePreview();
  });
  $("stage").addEventListener("change", () => {
    $("template").value = ""; // a template belongs to one stage: back to the standard text
    showTemplateText();
  });
  $("exercise").addEventListener("change", (e) => {
    page.exerciseChosen = e.target.checked;
  });
  for (const id of ["stage", "expiry", "exercise"]) {
    $(id).addEventListener("change", () => {
      render();
      schedulePreview();
    });
  }
  $("template").addEventListener("change", () => {
    showTemplateText();
    render();
    schedulePreview();
  });
  $("zone-add").addEventListener("click", addZone);
  $("area-search").addEventListener("input", renderSearch);
  $("draw-start").addEventListener("click", startDrawing);
  $("draw-finish").addEventListener("click", finishPolygon);
  $("draw-clear").addEventListener("click", clearPolygon);
  $("clear-selection").addEventListener("click", () => setSelection([]));
  $("propose").addEventListener("click", propose);
  $("issue-alone").addEventListener("click", () => arm("issue"));
  $("issue-confirm").addEventListener("click", issueAlone);
  $("compose-back").addEventListener("click", disarm);
  $("update-confirm").addEventListener("click", () => {
    const draft = currentDraft();
    sendDraft(draft, () => api.propose(draft));
  });
  $("update-abort").addEventListener("click", stopUpdate);
  $("audit-refresh").addEventListener("click", refreshAudit);
  api.onUnauthorized = (detail) => {
    if (page.me) showLogin(`Signed out by the server: ${detail}`);
  };
}

async function main() {
  bind();
  let me = null;
  try {
    me = await api.me();
  } catch {
    me = null;
  }
  if (me) await enterDesk(me);
  else showLogin();
}

main().catch((err) => notice(`The console failed to start: ${errorText(err)}`));
