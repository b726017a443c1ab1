// The live queue: filters, the ticket list with SLA countdowns (breached ones highlighted), live upserts.
import { h, bdi, icon, fmtRelative, slaDue } from "./dom.js";
import { t, lang } from "./i18n.js";
import { KINDS, departmentLabel, departmentNames, kindLabel, languageLabel, num, statusLabel } from "./labels.js";

const FILTERS = "hubconsole.filters";
const OPEN = ["bot", "queued", "assigned", "pending"];
const STATUSES = ["bot", "queued", "assigned", "pending", "resolved", "closed"];
const CHANNELS = ["webchat", "telegram", "email", "callback"];
const PRIORITIES = ["low", "normal", "high", "urgent"];

export class Queue {
  constructor(app, { open }) {
    this.app = app;
    this.openTicket = open;
    this.tickets = new Map();
    this.selected = null;
    this.loaded = false;
    this.filters = { status: "open", department: "", channel: "", kind: "", priority: "", assignee: "", q: "" };
    try { Object.assign(this.filters, JSON.parse(localStorage.getItem(FILTERS) || "{}")); } catch { /* stale */ }
    this.list = h("ul", { class: "ticket-list", "aria-live": "polite", "aria-relevant": "additions" });
    this.empty = h("p", { class: "muted", text: t("queue.empty"), hidden: true });
    this.error = h("p", { class: "error", role: "alert" });
    this.el = h("section", { class: "queue", "aria-labelledby": "queue-title" },
      h("h2", { id: "queue-title", text: t("queue.title") }), this.filterForm(), this.error, this.empty, this.list);
    setInterval(() => this.tick(), 1000);
  }

  filterForm() {
    const f = this.filters;
    const field = (name, control) => h("div", { class: "filter" }, h("label", { for: "f-" + name, text: t("filter." + name) }), control);
    const select = (name, options) => {
      const s = h("select", { id: "f-" + name, name }, options.map(([v, label]) => h("option", { value: v, text: label })));
      s.value = f[name] ?? "";
      if (s.value !== (f[name] ?? "")) { f[name] = ""; s.value = ""; } // a saved value no longer offered (free text of old)
      return s;
    };
    const any = ["", t("filter.any")];
    const form = h("form", { class: "filters", role: "search", onchange: () => this.apply(form), onsubmit: (e) => { e.preventDefault(); this.apply(form); } },
      field("status", select("status", [["open", t("filter.open")], ...STATUSES.map((s) => [s, t("status." + s)]), ["", t("filter.all")]])),
      field("assignee", select("assignee", [any, ["me", t("filter.me")], ["none", t("filter.unassigned")]])),
      field("channel", select("channel", [any, ...CHANNELS.map((c) => [c, t("channel." + c)])])),
      field("priority", select("priority", [any, ...PRIORITIES.map((p) => [p, t("priority." + p)])])),
      field("department", select("department", [any, ...this.departments().map((d) => [d, departmentLabel(d)])])),
      field("kind", select("kind", [any, ...KINDS.map((k) => [k, kindLabel(k)])])),
      field("q", h("input", { id: "f-q", name: "q", type: "search", value: f.q, dir: "auto" })));
    return form;
  }

  /** The configured departments, plus any a ticket still carries from an older configuration. */
  departments() {
    const names = departmentNames();
    return [...names, ...[...this.app.departments].filter((d) => !names.includes(d)).sort()];
  }

  /** J/K: the next (+1) or previous (-1) ticket in the list, opened. */
  step(delta) {
    const ids = [...this.list.children].map((li) => Number(li.dataset.id));
    if (!ids.length) return;
    const at = ids.indexOf(this.selected);
    const next = ids[at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.min(Math.max(at + delta, 0), ids.length - 1)];
    this.openTicket(next);
    this.list.querySelector(`li[data-id="${next}"]`)?.scrollIntoView({ block: "nearest" });
  }

  apply(form) {
    for (const k of Object.keys(this.filters)) if (form.elements[k]) this.filters[k] = form.elements[k].value.trim();
    localStorage.setItem(FILTERS, JSON.stringify(this.filters));
    this.load();
  }

  query() {
    const p = new URLSearchParams({ limit: "200" });
    for (const [k, v] of Object.entries(this.filters)) {
      if (!v) continue;
      p.set(k, k === "status" && v === "open" ? OPEN.join(",") : v);
    }
    return "/api/tickets?" + p;
  }

  async load() {
    try {
      const page = await this.app.api("GET", this.query());
      this.tickets = new Map(page.items.map((tk) => [tk.id, tk]));
      for (const tk of page.items) { this.app.assignee.set(tk.id, tk.assignee_id); this.app.remember(tk); }
      this.error.textContent = "";
      this.loaded = true;
    } catch (err) {
      this.error.textContent = err.message;
    }
    this.draw();
  }

  /** Whether a ticket from a live event belongs in the list under the current filters. */
  matches(tk) {
    const f = this.filters, me = this.app.me?.id;
    const statuses = f.status === "open" ? OPEN : f.status ? [f.status] : null;
    if (statuses && !statuses.includes(tk.status)) return false;
    for (const k of ["department", "channel", "kind", "priority"]) if (f[k] && f[k].split(",").indexOf(tk[k]) < 0) return false;
    if (f.assignee === "me" && tk.assignee_id !== me) return false;
    if (f.assignee === "none" && tk.assignee_id != null) return false;
    if (f.q && !String(tk.subject || "").toLowerCase().includes(f.q.toLowerCase()) && !this.tickets.has(tk.id)) return false;
    return true;
  }

  upsert(tk) {
    if (!tk) return;
    if (this.matches(tk)) this.tickets.set(tk.id, { ...this.tickets.get(tk.id), ...tk });
    else this.tickets.delete(tk.id);
    this.draw();
  }

  select(id) {
    this.selected = id;
    for (const li of this.list.children) li.querySelector("a")?.setAttribute("aria-current", String(Number(li.dataset.id) === id));
  }

  sorted() {
    // Most urgent first: the nearest (or longest breached) SLA deadline, then the newest.
    return [...this.tickets.values()].sort((a, b) => {
      const da = slaDue(a)?.getTime() ?? Infinity, db = slaDue(b)?.getTime() ?? Infinity;
      return da - db || b.id - a.id;
    });
  }

  draw() {
    const rows = this.sorted().map((tk) => this.row(tk));
    this.list.replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
    this.tick();
  }

  row(tk) {
    const sla = h("span", { class: "sla" });
    const unseen = this.app.unseen.has(tk.id);
    const chips = [
      h("span", { class: "chip status-" + tk.status, text: statusLabel(tk.status) }),
      tk.priority && h("span", { class: "chip priority-" + tk.priority, text: t("priority." + tk.priority) }),
      tk.department && h("span", { class: "chip dept" }, bdi(departmentLabel(tk.department))),
      tk.kind && h("span", { class: "chip kind kind-" + tk.kind, text: kindLabel(tk.kind) }),
      tk.language && h("span", { class: "chip lang", title: tk.language, text: languageLabel(tk.language) }),
      tk.assignee_id != null && h("span", { class: "chip assignee" }, bdi(this.app.agentName(tk.assignee_id))),
    ];
    const a = h("a", { href: "#/ticket/" + tk.id, class: "ticket-row", "aria-current": String(this.selected === tk.id) },
      h("span", { class: "row-top" }, icon(tk.channel, t("channel." + tk.channel)), h("span", { class: "tid", text: "#" + num(tk.id) }),
        bdi(tk.subject || t("ticket.noSubject"), "subject"), unseen ? h("span", { class: "new", text: t("queue.new") }) : null),
      h("span", { class: "row-bottom" }, chips, sla));
    const li = h("li", { "data-id": tk.id, class: unseen ? "unseen" : "" }, a);
    li.sla = sla;
    li.ticket = tk;
    return li;
  }

  tick() {
    const now = Date.now();
    for (const li of this.list.children) {
      const due = slaDue(li.ticket);
      const breached = !!due && due.getTime() <= now;
      li.classList.toggle("breached", breached);
      li.sla.textContent = due ? (breached ? t("sla.breached", { ago: fmtRelative(due - now, lang()) }) : t("sla.due", { in: fmtRelative(due - now, lang()) })) : "";
    }
  }
}
