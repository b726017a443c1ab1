// The console's REST client and its live socket (`/ws/agent`) with reconnect and backoff.

export class ApiError extends Error {
  constructor(status, code, detail, field) {
    super(detail || code || String(status));
    Object.assign(this, { status, code, field });
  }
}

export function makeApi(getToken, onUnauthorized) {
  return async function api(method, path, body) {
    const headers = {};
    const token = getToken();
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, "network", "the server cannot be reached");
    }
    const data = (r.headers.get("Content-Type") || "").includes("json") ? await r.json().catch(() => null) : null;
    if (!r.ok) {
      const e = (data && data.error) || {};
      if (r.status === 401 && token) onUnauthorized();
      throw new ApiError(r.status, e.code || "http_" + r.status, e.detail || r.statusText, e.field);
    }
    return data;
  };
}

/** Live queue events. `onEvent(frame)` per frame, `onState("online"|"offline")` on changes, `onOpen()` after
 * every (re)connect so the caller can resynchronise what it missed. */
export class Live {
  constructor(token, { onEvent, onState, onOpen, onRejected }) {
    Object.assign(this, { token, onEvent, onState, onOpen, onRejected, ws: null, attempt: 0, timer: null, stopped: false });
  }
  start() {
    if (this.stopped) return;
    const url = location.origin.replace(/^http/, "ws") + "/ws/agent?token=" + encodeURIComponent(this.token);
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; this.attempt = 0; this.onState("online"); this.onOpen(); };
    ws.onmessage = (ev) => { try { const f = JSON.parse(ev.data); if (f && typeof f === "object") this.onEvent(f); } catch { /* ignore */ } };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState("offline");
      if (ev.code === 4401) { this.stopped = true; this.onRejected?.(); return; } // session ended: log in again
      if (!opened && this.attempt >= 2) this.onRejected?.(); // e.g. the token expired: let the page check
      const delay = Math.min(30000, 1000 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt = Math.min(this.attempt + 1, 6);
      if (!this.stopped) this.timer = setTimeout(() => this.start(), delay);
    };
  }
  send(frame) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
  }
}
