// The live alert stream: WebSocket /v1/stream with resume from the last seq seen.
//
// Every frame names its log ("log_id"); alert event frames carry a "seq", control frames a
// "type" ("heartbeat", "dropped" or "reset"). On any close the client reconnects with
// `log=<log id>&since=<last seq seen>` after a backoff (0.5 s doubling to 10 s, with jitter), so
// nothing is missed and nothing is applied twice. A "reset" frame says the server's log is not
// the one the page's seq came from (a new store, another server): the page drops what it holds
// and loads the state again (onReset), then the stream resumes on the new log.

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
   * @param {(logId: string) => Promise<void>} opts.onReset  the server's log was reset: forget
   *   what is held and load the current state; the stream reconnects when it settles
   * @param {(text: string) => void} opts.onMalformed  a frame that is neither an AlertEvent
   *   nor a control frame (counted and skipped; the stream goes on)
   */
  constructor({ since, onEvent, onStatus, onReset, onMalformed }) {
    this.since = since;
    this.onReset = onReset;
    this.logId = null; // the log the page's seq belongs to, once a frame has named it
    this.onMalformed = onMalformed;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
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
    const log = this.logId ? `log=${encodeURIComponent(this.logId)}&` : "";
    return `${proto}//${location.host}/v1/stream?${log}since=${this.since()}`;
  }

  _connect() {
    this.onStatus(this.connects ? "reconnecting" : "connecting");
    this.connects += 1;
    const ws = new WebSocket(this._url());
    this.ws = ws;
    ws.onopen = () => {
      this.backoffMs = 500;
      this.onStatus("live");
      this._feedWatchdog();
    };
    ws.onmessage = (msg) => {
      if (this.ws !== ws) return; // a socket left after a reset
      this._feedWatchdog();
      let frame = null;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        // not JSON: reported below
      }
      if (frame && frame.type === "reset" && typeof frame.log_id === "string") {
        this._reset(ws, frame.log_id);
        return;
      }
      if (frame && typeof frame.log_id === "string") this.logId = frame.log_id;
      if (isAlertEvent(frame)) this.onEvent(frame);
      else if (frame && frame.type === "dropped") ws.close();
      else if (!(frame && frame.type === "heartbeat")) this.onMalformed(String(msg.data).slice(0, 200));
    };
    ws.onclose = () => {
      clearTimeout(this.watchdog);
      if (this.ws !== ws || this.stopped) return;
      this.onStatus("reconnecting");
      const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
      this.backoffMs = Math.min(this.backoffMs * 2, 10000);
      this.timer = setTimeout(() => this._connect(), delay);
    };
    ws.onerror = () => {}; // onclose follows and schedules the retry
  }

  /** Leave the old log: close this socket, let the page reload its state, then reconnect on
   * the new log from the seq the page then holds. */
  _reset(ws, logId) {
    this.ws = null; // its close is not a drop to retry
    clearTimeout(this.watchdog);
    ws.close();
    this.logId = logId;
    this.onStatus("reconnecting");
    Promise.resolve()
      .then(() => this.onReset(logId))
      .catch(() => {}) // state not loaded: the stream replays the new log from 0 instead
      .finally(() => {
        if (!this.stopped) this._connect();
      });
  }

  _feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws && this.ws.close(), SILENCE_LIMIT_MS);
  }
}
