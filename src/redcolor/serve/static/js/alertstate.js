// The page's alert state: a pure fold over AlertEvents (no clock, no DOM, no network).
//
// Each area holds the alerts currently covering it (alert id -> stage, since, shelter time and
// the predicted impact window the alert's last event naming the area gave, if any).
// An area's shown stage is the most urgent of them: a real alert outranks an exercise, then
// "alert" > "pre_alert"; with none left it shows "ended" for `endedHoldS` seconds after its last
// alert ended. A "cancelled" event (the alert was sent in error) releases its areas like an
// all-clear but leaves no "ended" mark: the false alert simply leaves the map, and the page
// shows a "sent in error" notice for `CANCEL_NOTICE_S`. Time is always passed in (`nowS`, Unix
// seconds) so the same code drives the live view and a replay at any speed.

export const SHOWN_STAGES = ["alert", "pre_alert", "ended"];
export const RELEASES = new Set(["ended", "cancelled"]);

/** Default time an area stays marked "ended" after its all-clear (an assumption of this page). */
export const ENDED_HOLD_S = 600;
/** How long the "an alert was sent in error" notice stays after a cancel (an assumption). */
export const CANCEL_NOTICE_S = 300;

/** Whether an event (or an /v1/alerts/active row) is an exercise: marked so, or a drill. */
export function isExercise(item) {
  return item.status === "exercise" || item.category === "drill";
}

export class AlertState {
  /**
   * @param {object} opts
   * @param {number} opts.endedHoldS  how long an area shows "ended" after its all-clear
   * @param {boolean} opts.timeOrdered  events come in issue-time order, not seq order (a
   *   replay): duplicates are then recognised by seq one by one instead of by a watermark
   */
  constructor({ endedHoldS = ENDED_HOLD_S, timeOrdered = false } = {}) {
    this.endedHoldS = endedHoldS;
    this.seen = timeOrdered ? new Set() : null;
    this.lastSeq = 0;
    this.alerts = new Map(); // alert id -> {id, category, stage, areaIds: Set, ...}
    this.covering = new Map(); // area id -> Map(alert id -> {stage, sinceS, shelterS, category})
    this.endedAtS = new Map(); // area id -> Unix s its last covering alert ended
  }

  /** Forget everything held (the server's log was reset: it belongs to another log). */
  clear() {
    this.lastSeq = 0;
    if (this.seen) this.seen.clear();
    this.alerts.clear();
    this.covering.clear();
    this.endedAtS.clear();
  }

  /**
   * Reconcile with the server's `/v1/alerts/active` snapshot (authoritative for what is active
   * at its `last_seq`): covers it lacks are ended, covers it has are added. Call it after
   * folding in the recent history up to that seq, so ended areas and the alert list (with
   * instructions) are filled too. Returns the changed area ids.
   */
  loadSnapshot(active) {
    const changed = new Set();
    const rows = active.areas || [];
    const live = new Set(rows.map((row) => `${row.area_id}|${row.alert_id}`));
    for (const [areaId, cover] of [...this.covering]) {
      for (const alertId of [...cover.keys()]) {
        if (live.has(`${areaId}|${alertId}`)) continue;
        const alert = this.alerts.get(alertId);
        this._uncover(areaId, alertId, alert.expiresS ?? alert.updatedS);
        if (!this._stillCovers(alert)) alert.stage = "ended";
        changed.add(areaId);
      }
    }
    for (const row of rows) {
      const stage = row.stage === "pre_alert" ? "pre_alert" : "alert";
      const alert = this._alert(row.alert_id, row.category, row.since_unix_s);
      alert.stage = stage === "alert" || alert.stage === "alert" ? "alert" : stage;
      alert.lastSeq = Math.max(alert.lastSeq, row.seq || 0);
      alert.exercise = isExercise(row);
      alert.areaIds.add(row.area_id);
      this._cover(row.area_id, row.alert_id, stage, row.since_unix_s, row.shelter_s, alert, row);
      changed.add(row.area_id);
    }
    this.lastSeq = Math.max(this.lastSeq, active.last_seq || 0);
    return changed;
  }

  /**
   * Fold one AlertEvent in. Events at or below `lastSeq` (or, time-ordered, any seq already
   * applied) were seen already and are ignored.
   * Returns the set of area ids whose state changed, or null for a duplicate.
   */
  apply(event) {
    if (this.seen ? this.seen.has(event.seq) : event.seq <= this.lastSeq) return null;
    if (this.seen) this.seen.add(event.seq);
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    const t = event.issued_at_unix_s;
    const alert = this._alert(event.id, event.category, t);
    alert.lastSeq = event.seq;
    alert.lastStage = event.stage;
    alert.updatedS = t;
    alert.expiresS = event.expires_at_unix_s ?? null;
    alert.instructions = event.instructions || alert.instructions;
    alert.exercise = isExercise(event);
    const changed = new Set();
    if (RELEASES.has(event.stage)) {
      const cancel = event.stage === "cancelled";
      const ids = event.areas.length ? event.areas.map((a) => a.id) : [...alert.areaIds];
      for (const areaId of ids) {
        this._uncover(areaId, event.id, t, !cancel);
        changed.add(areaId);
      }
      if (!this._stillCovers(alert)) alert.stage = cancel ? "cancelled" : "ended";
      if (cancel) alert.cancelledS = t;
      return changed;
    }
    // "update" adds areas to an alert at the stage the alert is already at.
    const stage = event.stage === "update" ? (alert.stage === "pre_alert" ? "pre_alert" : "alert") : event.stage;
    if (stage === "alert") alert.stage = "alert";
    else if (alert.stage !== "alert") alert.stage = "pre_alert";
    for (const area of event.areas) {
      alert.areaIds.add(area.id);
      this._cover(area.id, event.id, stage, t, area.shelter_s, alert, area);
      changed.add(area.id);
    }
    return changed;
  }

  /** End alerts whose expiry passed and forget "ended" marks older than the hold. */
  prune(nowS) {
    const changed = new Set();
    for (const alert of this.alerts.values()) {
      if (!RELEASES.has(alert.stage) && alert.expiresS !== null && alert.expiresS <= nowS) {
        for (const areaId of alert.areaIds) {
          this._uncover(areaId, alert.id, alert.expiresS);
          changed.add(areaId);
        }
        alert.stage = "ended";
      }
    }
    for (const [areaId, endedS] of this.endedAtS) {
      if (nowS - endedS >= this.endedHoldS) {
        this.endedAtS.delete(areaId);
        changed.add(areaId);
      }
    }
    return changed;
  }

  /**
   * What an area shows at `nowS`: null, or {stage, category, sinceS, shelterS, remainingS,
   * alertId, exercise, impactEarliestS, impactLatestS}. `remainingS` is the time left to reach
   * shelter: 0 once it has run out, at most `shelterS` (a clock slightly behind the issuer never
   * shows more than the full time). The impact window spans those of the area's covering alerts
   * of the shown kind (real or exercise) that give one; both null when none does.
   */
  view(areaId, nowS) {
    const cover = this.covering.get(areaId);
    if (cover && cover.size) {
      let best = null;
      for (const [alertId, c] of cover) {
        const rank = (c.exercise ? 0 : 10) + (c.stage === "alert" ? 2 : 1);
        const deadline = c.sinceS + c.shelterS;
        if (!best || rank > best.rank || (rank === best.rank && deadline < best.deadline)) {
          best = { rank, deadline, alertId, ...c };
        }
      }
      let impactEarliestS = null;
      let impactLatestS = null;
      for (const c of cover.values()) {
        if (c.exercise !== best.exercise || c.impactEarliestS === null) continue;
        impactEarliestS = impactEarliestS === null ? c.impactEarliestS : Math.min(impactEarliestS, c.impactEarliestS);
        impactLatestS = impactLatestS === null ? c.impactLatestS : Math.max(impactLatestS, c.impactLatestS);
      }
      return {
        stage: best.stage,
        category: best.category,
        sinceS: best.sinceS,
        shelterS: best.shelterS,
        remainingS: best.stage === "alert" ? Math.min(best.shelterS, Math.max(0, best.deadline - nowS)) : null,
        alertId: best.alertId,
        exercise: best.exercise,
        impactEarliestS,
        impactLatestS,
      };
    }
    const endedS = this.endedAtS.get(areaId);
    if (endedS !== undefined && nowS - endedS < this.endedHoldS) {
      return { stage: "ended", category: null, sinceS: endedS, shelterS: null, remainingS: null, alertId: null };
    }
    return null;
  }

  /** Every area id with something to show (covered, or ended within the hold). */
  shownAreaIds() {
    const ids = new Set(this.endedAtS.keys());
    for (const [areaId, cover] of this.covering) if (cover.size) ids.add(areaId);
    return ids;
  }

  /** Count areas by shown stage at `nowS`: {alert, pre_alert, ended}. */
  counts(nowS) {
    const out = { alert: 0, pre_alert: 0, ended: 0 };
    for (const areaId of this.shownAreaIds()) {
      const v = this.view(areaId, nowS);
      if (v) out[v.stage] += 1;
    }
    return out;
  }

  /** Whether any exercise alert still covers an area (the page then shows its banner). */
  exerciseActive() {
    for (const cover of this.covering.values()) {
      for (const c of cover.values()) if (c.exercise) return true;
    }
    return false;
  }

  /** Alerts cancelled as sent in error within CANCEL_NOTICE_S before `nowS`, newest first. */
  recentCancels(nowS) {
    return [...this.alerts.values()]
      .filter((a) => a.stage === "cancelled" && a.cancelledS <= nowS && nowS - a.cancelledS < CANCEL_NOTICE_S)
      .sort((a, b) => b.cancelledS - a.cancelledS);
  }

  /** Alerts newest first (by last event seq), at most `limit`. */
  recentAlerts(limit) {
    return [...this.alerts.values()].sort((a, b) => b.lastSeq - a.lastSeq).slice(0, limit);
  }

  _alert(id, category, t) {
    let alert = this.alerts.get(id);
    if (!alert) {
      alert = {
        id,
        category,
        stage: "pre_alert",
        lastStage: null,
        firstS: t,
        updatedS: t,
        expiresS: null,
        lastSeq: 0,
        areaIds: new Set(),
        instructions: {},
        exercise: false,
        cancelledS: null,
      };
      this.alerts.set(id, alert);
    }
    return alert;
  }

  /** `entry` is the event's area entry (or the snapshot's row): its impact window, if any. */
  _cover(areaId, alertId, stage, sinceS, shelterS, alert, entry) {
    let cover = this.covering.get(areaId);
    if (!cover) {
      cover = new Map();
      this.covering.set(areaId, cover);
    }
    const prev = cover.get(alertId);
    // The shelter countdown starts when the area first reaches the "alert" stage.
    const keepSince = prev && (prev.stage === stage || prev.stage === "alert");
    const early = entry.impact_earliest_unix_s;
    const late = entry.impact_latest_unix_s;
    const known = Number.isFinite(early) && Number.isFinite(late);
    cover.set(alertId, {
      stage: prev && prev.stage === "alert" ? "alert" : stage,
      sinceS: keepSince ? prev.sinceS : sinceS,
      shelterS,
      category: alert.category,
      exercise: alert.exercise,
      impactEarliestS: known ? early : null,
      impactLatestS: known ? late : null,
    });
    this.endedAtS.delete(areaId);
  }

  /** Drop one alert's cover of an area; with `mark` (an all-clear) an area left uncovered
   * shows "ended" for the hold, without it (a cancel) it shows nothing. */
  _uncover(areaId, alertId, t, mark = true) {
    const cover = this.covering.get(areaId);
    if (!cover || !cover.delete(alertId)) return;
    if (!cover.size) {
      this.covering.delete(areaId);
      if (mark) this.endedAtS.set(areaId, t);
    }
  }

  _stillCovers(alert) {
    for (const areaId of alert.areaIds) {
      const cover = this.covering.get(areaId);
      if (cover && cover.has(alert.id)) return true;
    }
    return false;
  }
}
