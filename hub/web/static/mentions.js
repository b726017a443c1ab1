// @mentions of this agent in colleagues' notes: a counter in the top bar and a list of them, kept on the server
// (GET /api/mentions), so one made while the agent was away is waiting at the next login. Opening the ticket
// marks its mentions seen.
import { h, bdi, fmtTime } from "./dom.js";
import { t, lang } from "./i18n.js";
import { num } from "./labels.js";

export class Mentions {
  constructor(app) {
    this.app = app;
    this.items = [];
    this.unseen = 0;
    this.badge = h("span", { class: "badge", hidden: true });
    this.button = h("button", { type: "button", class: "secondary mentions-toggle", "aria-expanded": "false", "aria-controls": "mentions-panel",
      onclick: () => this.toggle() }, "@ ", t("mentions.title"), " ", this.badge);
    this.list = h("ul", { class: "mention-list" });
    this.panel = h("section", { id: "mentions-panel", class: "mentions-panel", hidden: true, "aria-label": t("mentions.title") },
      h("h2", { text: t("mentions.title") }), this.list);
    this.el = h("div", { class: "mentions" }, this.button, this.panel);
    document.addEventListener("click", (e) => { if (!this.el.contains(e.target)) this.toggle(false); });
  }

  async load() {
    try {
      const page = await this.app.api("GET", "/api/mentions");
      this.items = page.items;
      this.unseen = page.unseen;
    } catch { /* shown again at the next load */ }
    this.el.dataset.loaded = "1";
    this.draw();
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  /** A live `mention` event: returns true when it is for this agent. */
  onEvent(m) {
    if (!m || m.agent_id !== this.app.me?.id || this.items.some((x) => x.id === m.id)) return false;
    this.items.unshift(m);
    if (this.app.ticket.id === m.ticket_id && document.visibilityState === "visible") this.seenTicket(m.ticket_id);
    else this.unseen += 1;
    this.draw();
    return true;
  }

  async seenTicket(ticketId) {
    if (!this.items.some((m) => m.ticket_id === ticketId && !m.seen_at)) return;
    for (const m of this.items) if (m.ticket_id === ticketId) m.seen_at ||= new Date().toISOString();
    try {
      this.unseen = (await this.app.api("POST", "/api/mentions/seen", { ticket_id: ticketId })).unseen;
    } catch { /* stays unseen on the server: shown again at the next load */ }
    this.draw();
  }

  draw() {
    this.badge.hidden = !this.unseen;
    this.badge.textContent = num(this.unseen);
    this.badge.setAttribute("aria-label", t("mentions.count", { n: this.unseen }));
    this.list.replaceChildren(...(this.items.length ? this.items.slice(0, 30).map((m) => h("li", { class: m.seen_at ? "" : "unseen", "data-mention": m.id },
      h("a", { href: "#/ticket/" + m.ticket_id, onclick: () => this.toggle(false) },
        h("span", { class: "meta" }, h("bdi", { text: this.app.agentName(m.author_id) }), " · #" + num(m.ticket_id) + " · ",
          h("time", { datetime: m.created_at, text: fmtTime(m.created_at, lang()) }), m.seen_at ? null : [" · ", h("strong", { text: t("mentions.unread") })]),
        bdi(m.subject || t("ticket.noSubject"), "subject"),
        h("span", { class: "text", dir: "auto", text: m.text.length > 140 ? m.text.slice(0, 140) + "…" : m.text }))))
      : [h("li", { class: "muted", text: t("mentions.none") })]));
  }
}
