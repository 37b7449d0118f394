// An optional siren tone (WebAudio): a rising-and-falling wail, synthesised in the browser.
// Browsers only let audio start after a user gesture, so `arm()` is called from the click
// that turns the tone on; `sound(seconds)` then plays it when the visitor's area is alerted.
//
// The wail sweeps 440 -> 880 -> 440 Hz over 4 s (an assumption chosen to resemble a civil-defence
// rising-and-falling tone; it is not a published siren specification).

const LOW_HZ = 440;
const HIGH_HZ = 880;
const CYCLE_S = 4;

export class Siren {
  constructor() {
    this.ctx = null;
    this.nodes = null;
    this.stopTimer = null;
  }

  /** Create/resume the AudioContext; call from a user gesture. */
  async arm() {
    if (!this.ctx) this.ctx = new AudioContext();
    if (this.ctx.state === "suspended") await this.ctx.resume();
  }

  get playing() {
    return this.nodes !== null;
  }

  /** Sound the wail for `seconds` (at least one full cycle). */
  sound(seconds) {
    if (!this.ctx) return;
    this.stop();
    const ctx = this.ctx;
    const duration = Math.max(CYCLE_S, seconds);
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sawtooth";
    const t0 = ctx.currentTime;
    osc.frequency.setValueAtTime(LOW_HZ, t0);
    for (let t = 0; t < duration; t += CYCLE_S) {
      osc.frequency.linearRampToValueAtTime(HIGH_HZ, t0 + t + CYCLE_S / 2);
      osc.frequency.linearRampToValueAtTime(LOW_HZ, t0 + t + CYCLE_S);
    }
    gain.gain.setValueAtTime(0, t0);
    gain.gain.linearRampToValueAtTime(0.2, t0 + 0.2);
    gain.gain.setValueAtTime(0.2, t0 + duration - 0.3);
    gain.gain.linearRampToValueAtTime(0, t0 + duration);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + duration);
    this.nodes = { osc, gain };
    osc.onended = () => {
      if (this.nodes && this.nodes.osc === osc) this.nodes = null;
    };
  }

  stop() {
    if (!this.nodes) return;
    try {
      this.nodes.osc.stop();
    } catch {
      // already stopped
    }
    this.nodes = null;
  }
}
