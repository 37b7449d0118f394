// The server's own health: /health polled every POLL_MS while the page is visible. While its
// status is not "ok" (a background task is down: an alert channel, the pipeline, the store
// follower; or a radar of the live core is degraded: silent, its clock stopped, never heard)
// the page shows a notice, with the server's reason, that alerts may be late or missing. On an
// edge that includes "leader gone" and "lagging" (its leader_watch task), shown within 2 s.

const POLL_MS = 1000;

export class HealthWatch {
  /**
   * @param {object} opts
   * @param {(health: object | null) => void} opts.onChange  the /health body while it is not
   *   ok ({status: "degraded" | "down", reason, tasks}), null once it is ok again
   */
  constructor({ onChange }) {
    this.onChange = onChange;
    this.last = "ok";
  }

  start() {
    this.poll();
    setInterval(() => {
      if (!document.hidden) this.poll();
    }, POLL_MS);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.poll();
    });
  }

  async poll() {
    let health;
    try {
      const response = await fetch("/health", { cache: "no-store" });
      health = await response.json(); // a 503 (the pipeline is down) carries the same body
    } catch {
      return; // the server is unreachable: the stream badge already says so
    }
    const status = typeof health.status === "string" ? health.status : "down";
    const key = `${status}\n${health.reason}`;
    if (key === this.last) return;
    this.last = key;
    this.onChange(status === "ok" ? null : health);
  }
}

/**
 * Which notice a /health body that is not ok calls for: "down" (the service cannot alert),
 * "sensors" (a radar is degraded: part of the sky is unwatched, which must not read as quiet),
 * else "degraded" (a channel or other background task is down).
 * @param {object} health
 * @returns {"down" | "sensors" | "degraded"}
 */
export function noticeKind(health) {
  if (health.status === "down") return "down";
  const sensors = Array.isArray(health.sensors) ? health.sensors : [];
  return sensors.some((s) => s && s.state !== "ok") ? "sensors" : "degraded";
}
