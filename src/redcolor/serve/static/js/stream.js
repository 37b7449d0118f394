// The live alert stream: WebSocket /v1/stream with resume from the last seq seen.
//
// Every alert event frame carries a "seq"; control frames carry a "type" ("heartbeat" or
// "dropped"). On any close the client reconnects with `since=<last seq seen>` after a backoff
// (0.5 s doubling to 10 s, with jitter), so nothing is missed and nothing is applied twice.

const SILENCE_LIMIT_MS = 45000; // no frame (not even a heartbeat) for this long: reconnect
const STAGES = new Set(["pre_alert", "alert", "update", "ended", "cancelled"]);

/** Whether a parsed frame has the shape of an AlertEvent this page can fold in. */
export function isAlertEvent(frame) {
  return (
    frame !== null &&
    typeof frame === "object" &&
    !("type" in frame) &&
    Number.isInteger(frame.seq) &&
    frame.seq > 0 &&
    typeof frame.id === "string" &&
    STAGES.has(frame.stage) &&
    Number.isFinite(frame.issued_at_unix_s) &&
    Array.isArray(frame.areas) &&
    frame.areas.every((a) => a && Number.isInteger(a.id) && Number.isFinite(a.shelter_s))
  );
}

export class AlertStream {
  /**
   * @param {object} opts
   * @param {() => number} opts.since  the last seq the page holds (read at each (re)connect)
   * @param {(event: object) => void} opts.onEvent  one AlertEvent
   * @param {(status: string) => void} opts.onStatus  "connecting" | "live" | "reconnecting"
   * @param {() => void} opts.onRefused  a connection closed before it opened (the server may
   *   have refused the resume point, e.g. after it was restarted on a new, shorter log)
   * @param {(text: string) => void} opts.onMalformed  a frame that is neither an AlertEvent
   *   nor a control frame (counted and skipped; the stream goes on)
   */
  constructor({ since, onEvent, onStatus, onRefused, onMalformed }) {
    this.since = since;
    this.onMalformed = onMalformed;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onRefused = onRefused;
    this.backoffMs = 500;
    this.ws = null;
    this.timer = null;
    this.watchdog = null;
    this.stopped = false;
    this.connects = 0;
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    if (this.ws) this.ws.close();
  }

  _url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/v1/stream?since=${this.since()}`;
  }

  _connect() {
    this.onStatus(this.connects ? "reconnecting" : "connecting");
    this.connects += 1;
    const ws = new WebSocket(this._url());
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.backoffMs = 500;
      this.onStatus("live");
      this._feedWatchdog();
    };
    ws.onmessage = (msg) => {
      this._feedWatchdog();
      let frame = null;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        // not JSON: reported below
      }
      if (isAlertEvent(frame)) this.onEvent(frame);
      else if (frame && frame.type === "dropped") ws.close();
      else if (!(frame && frame.type === "heartbeat")) this.onMalformed(String(msg.data).slice(0, 200));
    };
    ws.onclose = () => {
      clearTimeout(this.watchdog);
      if (this.ws !== ws || this.stopped) return;
      if (!opened) this.onRefused();
      this.onStatus("reconnecting");
      const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
      this.backoffMs = Math.min(this.backoffMs * 2, 10000);
      this.timer = setTimeout(() => this._connect(), delay);
    };
    ws.onerror = () => {}; // onclose follows and schedules the retry
  }

  _feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws && this.ws.close(), SILENCE_LIMIT_MS);
  }
}
