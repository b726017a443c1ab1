// The callbacks tab: calls due now and upcoming ones, claim, and outcome buttons.
import { h, bdi, fmtRelative } from "./dom.js";
import { t, lang } from "./i18n.js";

const OUTCOMES = ["reached", "no_answer", "wrong_number", "reschedule"];

export class Callbacks {
  constructor(app) {
    this.app = app;
    this.due = h("ul", { id: "cb-due", class: "callback-list", "aria-live": "polite" });
    this.upcoming = h("ul", { id: "cb-upcoming", class: "callback-list" });
    this.error = h("p", { class: "error", role: "alert" });
    this.el = h("section", { class: "callbacks", hidden: true, "aria-labelledby": "cb-title" },
      h("h2", { id: "cb-title", text: t("tab.callbacks") }), this.error,
      h("h3", { text: t("callbacks.due") }), this.due,
      h("h3", { text: t("callbacks.upcoming") }), this.upcoming);
    setInterval(() => { if (!this.el.hidden) this.load(); }, 60000);
  }

  async load() {
    try {
      const page = await this.app.api("GET", "/api/callbacks?status=due,claimed,scheduled&limit=200");
      // Due now: what the scheduler marked due, plus anything whose window has opened; the rest is upcoming.
      const now = Date.now();
      const isDue = (c) => c.status === "due" || new Date(c.window_start).getTime() <= now;
      const due = page.items.filter(isDue), upcoming = page.items.filter((c) => !isDue(c));
      this.error.textContent = "";
      this.draw(this.due, due, true);
      this.draw(this.upcoming, upcoming, false);
      this.app.setCallbackBadge(due.filter((c) => c.assignee_id == null || c.assignee_id === this.app.me.id).length);
    } catch (err) {
      this.error.textContent = err.status === 404 ? t("callbacks.unavailable") : err.message;
      if (err.status === 404) this.app.tabCallbacks.hidden = true; // this hub runs without the callback channel
    }
  }

  onEvent() {
    this.load();
  }

  draw(list, items, due) {
    list.replaceChildren(...(items.length ? items.map((c) => this.item(c, due)) : [h("li", { class: "muted", text: t("callbacks.none") })]));
  }

  item(c, due) {
    const start = new Date(c.window_start), end = new Date(c.window_end);
    const local = new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" });
    const theirs = new Intl.DateTimeFormat(lang(), { timeStyle: "short", timeZone: safeZone(c.tz) });
    const note = h("input", { id: "cb-note-" + c.id, maxlength: 2000, dir: "auto", placeholder: t("callbacks.note") });
    const when = h("input", { id: "cb-when-" + c.id, type: "datetime-local", "aria-label": t("callbacks.newTime") });
    const error = h("span", { class: "error", role: "alert" });
    const outcome = (o) => h("button", { type: "button", class: o === "reached" ? "primary" : "secondary", "data-outcome": o, text: t("outcome." + o), onclick: async () => {
      const body = { outcome: o };
      if (note.value.trim()) body.note = note.value.trim();
      if (o === "reschedule") {
        if (!when.value) { error.textContent = t("callbacks.pickTime"); when.focus(); return; }
        const s = new Date(when.value);
        body.new_window = { window_start: s.toISOString(), window_end: new Date(s.getTime() + (end - start || 1800000)).toISOString() };
      }
      await this.post(`/api/callbacks/${c.id}/outcome`, body, error);
    } });
    return h("li", { class: "callback" + (due ? " due" : ""), "data-id": c.id },
      h("div", { class: "cb-main" },
        h("strong", {}, h("bdi", { dir: "ltr", class: "phone", text: c.phone })),
        h("span", { class: "chip", text: t("callbacks.status." + c.status, {}, c.status) }),
        c.assignee_id != null ? h("span", { class: "chip assignee" }, bdi(this.app.agentName(c.assignee_id))) : null,
        c.lang ? h("span", { class: "chip", text: c.lang }) : null),
      h("div", { class: "muted" },
        local.format(start), " – ", new Intl.DateTimeFormat(lang(), { timeStyle: "short" }).format(end),
        c.tz ? [" · ", t("callbacks.theirTime", { time: theirs.format(start), tz: c.tz })] : null,
        " · ", fmtRelative(start - Date.now(), lang()),
        c.attempts ? " · " + t("callbacks.attempts", { n: c.attempts }) : ""),
      c.note ? h("p", { class: "text note-text", dir: "auto", text: c.note }) : null,
      c.topic ? h("p", { class: "text", dir: "auto", text: c.topic }) : null,
      c.ticket_id ? h("a", { href: "#/ticket/" + c.ticket_id, text: t("callbacks.ticket", { id: c.ticket_id }) }) : null,
      h("div", { class: "actions" },
        c.assignee_id == null ? h("button", { type: "button", class: "secondary", "data-action": "claim", text: t("action.claim"), onclick: () => this.post(`/api/callbacks/${c.id}/claim`, undefined, error) }) : null,
        OUTCOMES.map(outcome), note, when, error));
  }

  async post(path, body, error) {
    error.textContent = "";
    try {
      await this.app.api("POST", path, body);
      await this.load();
    } catch (err) {
      error.textContent = err.message;
    }
  }
}

function safeZone(tz) {
  try { new Intl.DateTimeFormat("en", { timeZone: tz }); return tz; } catch { return "UTC"; }
}
