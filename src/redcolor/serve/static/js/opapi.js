// The operator REST API (/v1/auth/*, /v1/operator/*) as the console calls it: JSON in and out,
// the session cookie (same origin only) and, on every state-changing request, the CSRF token
// the server gave at login or in /v1/auth/me. The bearer token of the login answer is for
// scripts: the page never keeps it, so a script injected into it could not carry it off.

const ROLES = ["viewer", "operator", "supervisor", "admin"]; // rank in that order

/** Whether `role` ranks at least `needed` (an unknown role ranks nowhere). */
export function roleAtLeast(role, needed) {
  const have = ROLES.indexOf(role);
  return have >= 0 && have >= ROLES.indexOf(needed);
}

/** An error answer of the API: its HTTP status and the server's one-line `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export class OperatorApi {
  constructor() {
    this.csrf = null;
    this.onUnauthorized = () => {};
  }

  /** One request; resolves to the parsed JSON answer (null for 204), rejects with ApiError. */
  async call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE.has(method) && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, `the server cannot be reached (${err.message})`);
    }
    if (response.status === 204) return null;
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (!response.ok) {
      const detail = answer && typeof answer.detail === "string" ? answer.detail : `HTTP ${response.status}`;
      if (response.status === 401 && path !== "/v1/auth/login") this.onUnauthorized(detail);
      throw new ApiError(response.status, detail);
    }
    return answer;
  }

  async login(user, password, totp) {
    const body = { user, password };
    if (totp) body.totp = totp;
    const answer = await this.call("POST", "/v1/auth/login", body);
    this.csrf = answer.csrf;
    return answer;
  }

  async me() {
    const answer = await this.call("GET", "/v1/auth/me");
    this.csrf = answer.csrf;
    return answer;
  }

  async logout() {
    try {
      await this.call("POST", "/v1/auth/logout", {});
    } finally {
      this.csrf = null;
    }
  }

  state() {
    return this.call("GET", "/v1/operator/state");
  }

  templates() {
    return this.call("GET", "/v1/operator/templates");
  }

  /** Area ids for any of {area_ids, zones, polygon (GeoJSON Polygon), names}. */
  resolve(query) {
    return this.call("POST", "/v1/operator/areas/resolve", query);
  }

  preview(draft) {
    return this.call("POST", "/v1/operator/preview", draft);
  }

  propose(draft) {
    return this.call("POST", "/v1/operator/proposals", draft);
  }

  issueAlone(draft) {
    return this.call("POST", "/v1/operator/issue", draft);
  }

  approve(id) {
    return this.call("POST", `/v1/operator/proposals/${encodeURIComponent(id)}/approve`, {});
  }

  reject(id, reason) {
    return this.call("POST", `/v1/operator/proposals/${encodeURIComponent(id)}/reject`, { reason });
  }

  confirm(id) {
    return this.call("POST", `/v1/operator/proposals/${encodeURIComponent(id)}/confirm`, {});
  }

  setMode(mode) {
    return this.call("PUT", "/v1/operator/mode", { mode });
  }

  /** Audit records after `afterSeq`, oldest first. */
  audit(afterSeq = 0, limit = 500) {
    return this.call("GET", `/v1/operator/audit?format=json&after=${afterSeq}&limit=${limit}`);
  }
}
