// One ticket: header and actions, the conversation (messages across channels, bot part, handoff reason,
// internal notes), the customer panel, and the reply box with canned replies and delivery state.
import { h, bdi, icon, fmtTime, fmtRelative, slaDue } from "./dom.js";
import { t, lang } from "./i18n.js";
import { CannedPicker } from "./canned.js";
import { Suggest } from "./suggest.js";
import { customerPrivacy } from "./privacy_view.js";
import { TicketFeedback, customerSurveys } from "./feedback_view.js";
import { departmentLabel, kindLabel, languageLabel, num, statusLabel } from "./labels.js";

const MOD = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent) ? "⌘" : "Ctrl";

export class TicketView {
  constructor(app) {
    this.app = app;
    this.id = null;
    this.t = null;
    this.customer = null;
    this.head = h("div", { class: "ticket-head" });
    this.timeline = h("ol", { class: "timeline", role: "log", "aria-live": "polite", "aria-label": t("ticket.conversation") });
    this.typing = h("p", { class: "typing", hidden: true, text: t("ticket.customerTyping") });
    this.side = h("aside", { class: "customer", "aria-label": t("customer.title") });
    this.feedback = new TicketFeedback(app, () => this.open(this.id, true));
    this.status = h("p", { class: "error", role: "alert" });
    this.canned = new CannedPicker(app, (text) => this.insert(text));
    this.compose = this.composeBox();
    this.placeholder = h("p", { class: "muted placeholder", text: t("ticket.pick") });
    this.body = h("div", { class: "ticket-body", hidden: true },
      h("div", { class: "conversation" }, this.head, this.status, this.timeline, this.typing, this.compose), this.side);
    this.el = h("section", { class: "ticket", "aria-label": t("ticket.title") }, this.placeholder, this.body);
  }

  composeBox() {
    this.input = h("textarea", { id: "reply-text", rows: 4, dir: "auto", maxlength: 10000, oninput: () => this.typed() });
    const send = h("button", { type: "submit", class: "primary send-reply", text: t("reply.send") });
    const note = h("button", { type: "button", class: "secondary note-btn", text: t("reply.note"), onclick: () => this.submit("note") });
    this.unreachable = h("p", { class: "warning", hidden: true });
    this.suggest = new Suggest(this.input, { "/": (q, fold) => this.cannedMatches(q, fold), "@": (q, fold) => this.agentMatches(q, fold) });
    this.input.addEventListener("keydown", (e) => {
      // Ctrl+Enter (Cmd+Enter on a Mac) sends; a plain Enter stays a new line, as agents write several.
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); this.submit("reply"); }
    });
    return h("form", { class: "compose", onsubmit: (e) => { e.preventDefault(); this.submit("reply"); } },
      h("label", { for: "reply-text", text: t("reply.label") }), this.unreachable,
      h("div", { class: "compose-input" }, this.input, this.suggest.el),
      h("p", { class: "hint muted", id: "reply-hint", text: t("reply.hint", { mod: MOD }) }),
      h("div", { class: "compose-row" }, this.canned.el, h("span", { class: "spacer" }), note, send));
  }

  /** "/" suggestions: canned replies whose title or text has the query, the ticket's language first. */
  cannedMatches(q, fold) {
    const language = this.t?.language;
    return this.canned.items
      .filter((c) => !q || fold(c.title).includes(q) || fold(c.text).includes(q))
      .sort((a, b) => (b.language === language) - (a.language === language) || a.title.localeCompare(b.title))
      .map((c) => ({ id: c.id, label: c.title, detail: c.text.slice(0, 80), lang: c.language, value: c.text }));
  }

  /** "@" suggestions: active colleagues whose name or email starts a word with the query. */
  agentMatches(q, fold) {
    const me = this.app.me?.id;
    return [...this.app.agents.values()]
      .filter((a) => a.id !== me && a.active !== false)
      .filter((a) => !q || fold(a.name).split(/\s+/).some((w) => w.startsWith(q)) || fold(a.name).startsWith(q) || fold(a.email).startsWith(q))
      .map((a) => ({ id: a.id, label: a.name, detail: a.email, value: "@" + a.name + " " }));
  }

  /** "/" from anywhere in the console: the reply box, searching canned replies. */
  searchCanned() {
    if (!this.t || this.body.hidden) return false;
    this.suggest.startCanned();
    return true;
  }

  close() {
    this.id = null;
    this.t = null;
    this.body.hidden = true;
    this.placeholder.hidden = false;
  }

  async open(id, quiet = false) {
    const changed = id !== this.id;
    this.id = id;
    if (changed) { this.customer = null; this.input.value = ""; this.status.textContent = ""; }
    try {
      const tk = await this.app.api("GET", "/api/tickets/" + id);
      if (this.id !== id) return;
      this.t = tk;
      this.app.remember(tk);
      this.placeholder.hidden = true;
      this.body.hidden = false;
      this.draw();
      this.canned.setLanguage(tk.language);
      this.feedback.load(tk);
      if (changed || quiet) this.loadCustomer();
    } catch (err) {
      if (!quiet) { this.body.hidden = true; this.placeholder.hidden = false; this.placeholder.textContent = err.message; }
    }
  }

  async loadCustomer() {
    if (!this.t?.customer_id) return;
    try {
      this.customer = await this.app.api("GET", "/api/customers/" + this.t.customer_id);
    } catch (err) {
      this.customer = { error: err.message };
    }
    this.drawCustomer();
  }

  // ---- live updates ----
  onTicket(tk) {
    if (!this.t || tk.id !== this.id) return;
    Object.assign(this.t, tk);
    this.drawHead();
  }
  onMessage(m) {
    if (!this.t || !m || m.ticket_id !== this.id) return;
    const list = this.t.messages;
    const i = list.findIndex((x) => x.id === m.id);
    if (i >= 0) {
      // The reply's own response can arrive after the outbox already reported the send: never go back to pending.
      const keep = m.delivery === "pending" && ["sent", "failed"].includes(list[i].delivery);
      list[i] = { ...list[i], ...m, ...(keep ? { delivery: list[i].delivery, delivery_error: list[i].delivery_error } : {}) };
    } else list.push(m);
    if (m.direction === "in") this.typing.hidden = true;
    this.drawTimeline();
  }
  onNote(n) {
    if (!this.t || !n || n.ticket_id !== this.id || this.t.notes.some((x) => x.id === n.id)) return;
    this.t.notes.push(n);
    this.drawTimeline();
  }
  onTyping(f) {
    if (f.ticket_id !== this.id) return;
    this.typing.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => { this.typing.hidden = true; }, 6000);
  }

  // ---- drawing ----
  draw() {
    this.drawHead();
    this.drawTimeline();
    this.drawCustomer();
  }

  drawHead() {
    const tk = this.t, me = this.app.me;
    const due = slaDue(tk);
    const breached = due && due <= new Date();
    const act = (label, path, body, cls = "secondary") => h("button", { type: "button", class: cls, "data-action": path, text: label, onclick: () => this.action(path, body) });
    const actions = [];
    if (["bot", "queued", "assigned", "pending"].includes(tk.status) && tk.assignee_id !== me.id) actions.push(act(t("action.claim"), "claim", undefined, "primary"));
    if (["bot", "queued", "assigned", "pending"].includes(tk.status)) {
      actions.push(act(t("action.pending"), "pending"), act(t("action.resolve"), "resolve"));
    } else {
      actions.push(act(t("action.reopen"), "reopen"));
    }
    const target = h("select", { id: "transfer-to", "aria-label": t("action.transferTo") },
      h("option", { value: "", text: t("action.transferTo") }),
      h("optgroup", { label: t("filter.department") }, this.app.queue.departments().map((d) => h("option", { value: "d:" + d, text: departmentLabel(d) }))),
      h("optgroup", { label: t("ticket.agents") }, [...this.app.agents.values()].filter((a) => a.id !== me.id)
        .map((a) => h("option", { value: "a:" + a.id, text: a.name + (a.presence ? " (" + t("presence." + a.presence) + ")" : "") }))));
    const transfer = h("button", { type: "button", class: "secondary", "data-action": "transfer", text: t("action.transfer"), onclick: () => {
      const v = target.value;
      if (!v) return target.focus();
      this.action("transfer", v.startsWith("d:") ? { department: v.slice(2) } : { agent_id: Number(v.slice(2)) });
    } });
    const handoff = [...(tk.trace || [])].reverse().find((x) => x.what === "handoff");
    const trace = h("details", { class: "trace" }, h("summary", { text: t("ticket.trace", { n: num((tk.trace || []).length) }) }),
      h("ol", {}, (tk.trace || []).map((x) => h("li", {}, h("time", { datetime: x.at, text: fmtTime(x.at, lang()) }), " ", h("strong", { text: x.what }), " ", bdi(x.why)))));
    this.head.replaceChildren(
      h("a", { href: "#/", class: "back", text: t("ticket.back") }),
      h("h2", { id: "ticket-title" }, icon(tk.channel, t("channel." + tk.channel)), " #" + num(tk.id) + " ", bdi(tk.subject || t("ticket.noSubject"))),
      h("p", { class: "chips" },
        h("span", { class: "chip status-" + tk.status, text: statusLabel(tk.status) }),
        h("span", { class: "chip priority-" + tk.priority, text: t("priority." + tk.priority) }),
        tk.department && h("span", { class: "chip dept" }, bdi(departmentLabel(tk.department))),
        tk.kind && h("span", { class: "chip kind kind-" + tk.kind, text: kindLabel(tk.kind) }),
        tk.language && h("span", { class: "chip lang", title: tk.language, text: languageLabel(tk.language) }),
        h("span", { class: "chip assignee" }, tk.assignee_id == null ? t("ticket.unassigned") : bdi(this.app.agentName(tk.assignee_id))),
        due && h("span", { class: "chip sla" + (breached ? " breached" : "") },
          breached ? t("sla.breached", { ago: fmtRelative(due - Date.now(), lang()) }) : t("sla.due", { in: fmtRelative(due - Date.now(), lang()) }))),
      ...(handoff ? [h("p", { class: "handoff" }, h("strong", { text: t("ticket.handoff") + " " }), bdi(handoff.why))] : []),
      h("div", { class: "actions" }, actions, target, transfer),
      trace);
    const un = tk.recipient_unreachable;
    const off = tk.channel_enabled === false; // said before anyone writes: a reply here cannot be sent yet
    this.unreachable.hidden = !un && !off;
    this.unreachable.textContent = off ? t("reply.channelOff", { channel: t("channel." + tk.channel) })
      : un ? t("reply.unreachable", { why: typeof un === "string" ? un : "" }) : "";
  }

  drawTimeline() {
    const tk = this.t;
    const items = [
      ...tk.messages.map((m) => ({ at: m.created_at, m })),
      ...tk.notes.map((n) => ({ at: n.created_at, n })),
    ].sort((a, b) => new Date(a.at) - new Date(b.at) || (a.m ? a.m.id : 0) - (b.m ? b.m.id : 0));
    const stick = this.timeline.scrollHeight - this.timeline.scrollTop - this.timeline.clientHeight < 40;
    this.timeline.replaceChildren(...items.map((x) => (x.m ? this.message(x.m) : this.note(x.n))));
    if (stick) this.timeline.scrollTop = this.timeline.scrollHeight;
  }

  async resend(m, button) {
    button.disabled = true;
    try {
      await this.app.api("POST", `/api/tickets/${this.id}/messages/${m.id}/resend`);
    } catch (err) {
      button.disabled = false;
      this.unreachable.hidden = false;
      this.unreachable.textContent = String(err.message || err);
    }
  }

  message(m) {
    const who = m.author === "customer" ? (this.customer?.name || t("author.customer"))
      : m.author === "agent" ? this.app.agentName(m.agent_id) || t("author.agent") : t("author." + m.author);
    const delivery = m.direction === "out" && m.delivery
      ? h("span", { class: "delivery " + m.delivery, text: t("delivery." + m.delivery) + (m.delivery === "failed" && m.delivery_error ? ": " + m.delivery_error : "") })
      : null;
    // A failed reply can be sent again once its channel works (e.g. switched on after the customer wrote).
    const resend = m.delivery === "failed" && this.t.channel_enabled !== false
      ? h("button", { type: "button", class: "link resend", text: t("delivery.resend"), onclick: (e) => this.resend(m, e.target) }) : null;
    return h("li", { class: "msg dir-" + m.direction + " from-" + m.author, "data-id": m.id },
      h("div", { class: "meta" }, icon(m.channel, t("channel." + m.channel)), " ", h("bdi", { class: "who", text: who }), " · ",
        h("time", { datetime: m.created_at, text: fmtTime(m.created_at, lang()) }), delivery ? [" · ", delivery] : null, resend ? [" ", resend] : null),
      h("p", { class: "text", dir: "auto", text: m.text ?? "" }),
      (m.attachments || []).length ? h("ul", { class: "attachments" }, m.attachments.map((a, i) => h("li", {},
        h("a", { href: "#", onclick: (e) => { e.preventDefault(); this.download(m, i, a); }, text: a.name || t("ticket.attachment") })))) : null);
  }

  note(n) {
    const forMe = (n.mentions || []).includes(this.app.me?.id);
    return h("li", { class: "note" + (forMe ? " mentions-me" : ""), "data-note": n.id },
      h("div", { class: "meta" }, icon("note", t("ticket.note")), " ", h("strong", { text: t("ticket.note") }), " · ",
        h("bdi", { text: this.app.agentName(n.agent_id) }), " · ", h("time", { datetime: n.created_at, text: fmtTime(n.created_at, lang()) })),
      h("p", { class: "text", dir: "auto", text: n.text }));
  }

  drawCustomer() {
    const c = this.customer;
    if (!c) { this.side.replaceChildren(h("h3", { text: t("customer.title") }), h("p", { class: "muted", text: "…" })); return; }
    if (c.error) { this.side.replaceChildren(h("h3", { text: t("customer.title") }), h("p", { class: "error", text: c.error })); return; }
    const row = (label, value) => value ? [h("dt", { text: label }), h("dd", {}, value)] : null;
    const surveys = h("div", { class: "customer-surveys-box" });
    this.side.replaceChildren(
      h("h3", { text: t("customer.title") }),
      h("dl", {},
        row(t("customer.name"), bdi(c.name || "—")),
        row(t("customer.language"), c.language && languageLabel(c.language)),
        row(t("customer.tier"), c.tier && bdi(c.tier)),
        row(t("customer.manager"), c.account_manager_id != null && bdi(this.app.agentName(c.account_manager_id)))),
      h("h4", { text: t("customer.identities") }),
      h("ul", { class: "identities" }, (c.identities || []).map((i) => h("li", { class: i.unreachable ? "unreachable" : "" },
        icon(i.channel, t("channel." + i.channel)), " ", bdi(i.display || i.external_id), i.unreachable ? " — " + t("customer.unreachable") : ""))),
      // Addresses the customer only typed: shown so agents can use them, marked so nobody takes them as proven.
      (c.unverified || []).length ? h("h4", { text: t("customer.unverified") }) : null,
      (c.unverified || []).length ? h("ul", { class: "identities unverified" }, c.unverified.map((i) => h("li", {},
        icon(i.channel, t("channel." + i.channel)), " ", bdi(i.display || i.external_id),
        i.owner_id != null ? h("span", { class: "muted", text: " (#" + i.owner_id + ")" }) : null))) : null,
      h("h4", { text: t("customer.tickets") }),
      h("ul", { class: "history" }, (c.tickets || []).map((x) => h("li", {},
        h("a", { href: "#/ticket/" + x.id, "aria-current": String(x.id === this.id) }, icon(x.channel, t("channel." + x.channel)), " #" + x.id + " ",
          bdi(x.subject || t("ticket.noSubject")), " ", h("span", { class: "chip status-" + x.status, text: statusLabel(x.status) }))))),
      customerPrivacy(this.app, c, () => this.open(this.id, true)),
      this.feedback.el, surveys);
    customerSurveys(this.app, c.id).then((el) => surveys.replaceChildren(el));
  }

  // ---- actions ----
  async action(path, body) {
    this.status.textContent = "";
    if (path === "claim") this.app.selfClaims.add(this.id);
    try {
      const tk = await this.app.api("POST", `/api/tickets/${this.id}/${path}`, body);
      this.app.assignee.set(tk.id, tk.assignee_id);
      this.app.queue.upsert(tk);
      await this.open(this.id, true);
    } catch (err) {
      this.status.textContent = err.status === 409 ? t("error.conflict", { detail: err.message }) : err.message;
    }
  }

  async submit(kind) {
    const text = this.input.value;
    if (!text.trim() || !this.id) return this.input.focus();
    this.status.textContent = "";
    try {
      const r = await this.app.api("POST", `/api/tickets/${this.id}/${kind === "note" ? "notes" : "reply"}`, { text });
      if (kind === "note") this.onNote({ ticket_id: this.id, ...r });
      else this.onMessage(r);
      this.input.value = "";
      this.lastTyping = 0;
    } catch (err) {
      this.status.textContent = err.message;
    }
    this.input.focus();
  }

  insert(text) {
    const el = this.input;
    const at = el.selectionStart ?? el.value.length;
    el.value = el.value.slice(0, at) + text + el.value.slice(el.selectionEnd ?? at);
    el.focus();
  }

  typed() {
    const now = Date.now();
    if (this.id && now - (this.lastTyping || 0) > 3000) {
      this.lastTyping = now;
      this.app.live?.send({ type: "typing", ticket_id: this.id });
    }
  }

  async download(m, i, a) {
    const r = await fetch(`/api/tickets/${this.id}/messages/${m.id}/attachments/${i}`, { headers: { Authorization: "Bearer " + this.app.token } });
    if (!r.ok) { this.status.textContent = t("ticket.attachmentFailed"); return; }
    const url = URL.createObjectURL(await r.blob());
    const link = h("a", { href: url, download: a.name || "attachment" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}
