// The history panel's controls: load a period, scrub, step event by event, play at a speed,
// and go back to live. While replaying, the page shows the replay's state at `atS` instead of
// the live one (which keeps updating underneath).

import { ENDED_HOLD_S } from "./alertstate.js";
import { Replay, Timeline, fetchHistory } from "./history.js";
import { clock, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export class ReplayUI {
  /**
   * @param {object} opts
   * @param {() => string} opts.lang  the current language
   * @param {() => number} opts.nowS  the server's clock, Unix s
   * @param {(before: Set<number>) => void} opts.onEnter  replay mode began (areas shown before)
   * @param {(before: Set<number>) => void} opts.onLeave  back to live (areas the replay showed)
   * @param {(changed: Set<number>) => void} opts.onSeek  the replay moved; these areas changed
   */
  constructor({ lang, nowS, onEnter, onLeave, onSeek }) {
    this.lang = lang;
    this.nowS = nowS;
    this.onEnter = onEnter;
    this.onLeave = onLeave;
    this.onSeek = onSeek;
    this.timeline = new Timeline($("timeline"));
    this.replay = null;
    this.active = false;
    this.atS = 0;
    this.playing = false;
  }

  bind() {
    $("load-history").addEventListener("click", () => this.load());
    $("scrubber").addEventListener("input", (e) => {
      this.enter();
      this.seek(Number(e.target.value));
    });
    $("play").addEventListener("click", () => this.setPlaying(!this.playing));
    for (const [id, direction] of [["prev-event", -1], ["next-event", 1]]) {
      $(id).addEventListener("click", () => this.step(direction));
    }
    $("live").addEventListener("click", () => this.leave());
    this.relabel();
  }

  /** Fetch the chosen period from /v1/history and set the timeline and scrubber to it. */
  async load() {
    const lang = this.lang();
    const periodS = Number($("period").value);
    const untilS = this.nowS();
    $("history-status").textContent = t(lang, "loading");
    try {
      const events = await fetchHistory(untilS - periodS, untilS, (n) => {
        $("history-status").textContent = `${t(lang, "loading")} ${t(lang, "eventsLoaded", { n })}`;
      });
      this.replay = new Replay(events, ENDED_HOLD_S);
      const startS = Math.floor(this.replay.startS) - 5;
      const endS = Math.ceil(this.replay.endS) + 5;
      this.timeline.setEvents(events, startS, endS);
      Object.assign($("scrubber"), { min: startS, max: endS, value: startS, disabled: !events.length });
      for (const id of ["play", "prev-event", "next-event"]) $(id).disabled = !events.length;
      $("history-status").textContent = t(lang, "eventsLoaded", { n: events.length });
      this.atS = startS;
      this.timeline.draw(startS);
    } catch (err) {
      $("history-status").textContent = String(err.message || err);
    }
  }

  enter() {
    if (this.active) return;
    this.active = true;
    $("live").hidden = false;
    this.onEnter();
  }

  leave() {
    this.setPlaying(false);
    const before = this.replay ? this.replay.state.shownAreaIds() : new Set();
    this.active = false;
    $("live").hidden = true;
    this.onLeave(before);
  }

  seek(tS) {
    this.atS = tS;
    const changed = this.replay.seek(tS);
    $("scrubber").value = String(Math.floor(tS));
    $("scrubber").setAttribute("aria-valuetext", clock(this.lang(), tS));
    this.timeline.draw(tS);
    this.onSeek(changed);
  }

  /** Jump to just after the next (+1) or previous (-1) event, so it is on the map. */
  step(direction) {
    const tS = this.replay.neighbour(direction > 0 ? this.atS : this.atS - 0.5, direction);
    if (tS === null) return;
    this.setPlaying(false);
    this.enter();
    this.seek(tS + 0.001);
  }

  setPlaying(on) {
    this.playing = on;
    this.relabel();
    if (!on) return;
    this.enter();
    if (this.atS >= Number($("scrubber").max)) this.seek(Number($("scrubber").min));
    this._loop(performance.now());
  }

  /** Words that depend on the language and the play state. */
  relabel() {
    $("play").textContent = t(this.lang(), this.playing ? "pause" : "play");
    $("play").setAttribute("aria-pressed", String(this.playing));
  }

  _loop(lastMs) {
    requestAnimationFrame((ms) => {
      if (!this.playing) return;
      const next = this.atS + ((ms - lastMs) / 1000) * Number($("speed").value);
      const endS = Number($("scrubber").max);
      this.seek(Math.min(next, endS));
      if (next >= endS) this.setPlaying(false);
      else this._loop(ms);
    });
  }
}
