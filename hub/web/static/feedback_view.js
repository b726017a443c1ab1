// Satisfaction and follow-ups in the console: a ticket's surveys and follow-ups (with a form to schedule one, and
// "resolve with a fix" for complaints), a customer's survey history, and the supervisors' win-back list.
import { h, bdi, fmtTime } from "./dom.js";
import { t, lang } from "./i18n.js";

// Its strings are in the catalogs (hub/locale/LANG/web.json).

const num = (v) => new Intl.NumberFormat(lang()).format(v);
const when = (iso) => (iso ? fmtTime(iso, lang()) : "");

function surveyItem(s) {
  const bits = [h("span", { class: "chip survey-" + s.state, text: t("fb.state." + s.state, { at: when(s.due_at) }) })];
  if (s.score != null) bits.push(" ", h("strong", { class: "survey-score" + (s.score <= 2 ? " low" : ""), text: t("fb.score", { score: num(s.score) }) }));
  if (s.nps != null) bits.push(" ", h("span", { text: t("fb.nps", { nps: num(s.nps) }) }));
  return h("li", { class: "survey", "data-survey": s.id }, bits,
    s.reason ? h("p", { class: "muted" }, bdi(s.reason)) : null,
    s.comment ? h("blockquote", { dir: "auto", text: s.comment }) : null,
    s.complaint_ticket_id ? h("p", {}, h("a", { href: "#/ticket/" + s.complaint_ticket_id, text: t("fb.complaint", { id: num(s.complaint_ticket_id) }) })) : null);
}

function summaryLine(sum) {
  if (!sum || !sum.answered) return null;
  return h("p", { class: "muted", text: t("fb.summary", { csat: num(sum.csat), avg: num(sum.average), n: num(sum.answered) }) });
}

/** The survey and follow-up panel of one ticket; `refresh` redraws the ticket after an action. */
export class TicketFeedback {
  constructor(app, refresh) {
    this.app = app;
    this.refresh = refresh;
    this.el = h("section", { class: "feedback", "aria-labelledby": "fb-title" });
  }

  async load(tk) {
    this.tk = tk;
    try {
      const [s, f] = await Promise.all([
        this.app.api("GET", `/api/tickets/${tk.id}/surveys`),
        this.app.api("GET", `/api/tickets/${tk.id}/followups`),
      ]);
      if (this.tk !== tk) return;
      this.draw(s, f.items);
    } catch (err) {
      this.el.replaceChildren(h("p", { class: "error", text: err.message }));
    }
  }

  draw(s, fus) {
    const tk = this.tk;
    const error = h("p", { class: "error", role: "alert" });
    const mode = h("select", { id: "fu-mode", "aria-label": t("fb.followups") },
      ["reminder", "message"].map((m) => h("option", { value: m, text: t("fb.mode." + m) })));
    const days = h("input", { id: "fu-days", type: "number", min: "0", max: "366", step: "1", value: "3", inputmode: "numeric" });
    const text = h("textarea", { id: "fu-text", rows: 2, dir: "auto", maxlength: 10000, hidden: true, "aria-label": t("fb.text"), placeholder: t("fb.text") });
    mode.addEventListener("change", () => { text.hidden = mode.value !== "message"; });
    const form = h("form", { class: "followup-form", onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        await this.app.api("POST", `/api/tickets/${tk.id}/followups`, { mode: mode.value, in_days: Number(days.value || 0), text: text.value || undefined });
        await this.load(tk);
      } catch (err) { error.textContent = err.message; }
    } }, mode, h("label", { for: "fu-days", class: "field" }, h("span", { text: t("fb.inDays") }), days), text,
      h("button", { type: "submit", class: "secondary", text: t("fb.schedule") }), error);
    const act = async (path) => {
      try { await this.app.api("POST", path); await this.load(tk); } catch (err) { error.textContent = err.message; }
    };
    const fixed = tk.kind === "complaint" && ["bot", "queued", "assigned", "pending"].includes(tk.status)
      ? h("button", { type: "button", class: "secondary", "data-action": "resolve-fixed", text: t("fb.resolveFixed"), onclick: async () => {
        try { await this.app.api("POST", `/api/tickets/${tk.id}/resolve`, { fixed: true }); await this.refresh(); } catch (err) { error.textContent = err.message; }
      } }) : null;
    this.el.replaceChildren(
      h("h3", { id: "fb-title", text: t("fb.title") }),
      fixed,
      h("h4", { text: t("fb.surveys") }), summaryLine(s.summary),
      s.items.length ? h("ul", { class: "surveys" }, s.items.map(surveyItem)) : h("p", { class: "muted", text: t("fb.none") }),
      h("h4", { text: t("fb.followups") }),
      fus.length ? h("ul", { class: "followups" }, fus.map((f) => h("li", { "data-followup": f.id },
        h("span", { class: "chip", text: t("fb.mode." + f.mode) }), " ",
        h("span", { text: t("fb.f.state." + f.state, { at: when(f.due_at) }) }),
        f.outcome ? [" · ", h("strong", { text: t("fb.outcome." + f.outcome) })] : null,
        f.text ? h("p", { dir: "auto", class: "muted", text: f.text }) : null,
        f.reason ? h("p", { class: "muted" }, bdi(f.reason)) : null,
        ["scheduled", "due"].includes(f.state) ? h("button", { type: "button", class: "link", text: t("fb.cancel"), onclick: () => act(`/api/followups/${f.id}/cancel`) }) : null,
        f.state === "due" && f.mode === "reminder" ? h("button", { type: "button", class: "link", text: t("fb.done"), onclick: () => act(`/api/followups/${f.id}/done`) }) : null)))
        : h("p", { class: "muted", text: t("fb.noFollowups") }),
      form);
  }
}

/** A customer's survey history, for the customer panel. */
export async function customerSurveys(app, customerId) {
  const el = h("div", { class: "customer-surveys" });
  try {
    const r = await app.api("GET", `/api/customers/${customerId}/surveys`);
    el.append(h("h4", { text: t("fb.surveys") }), summaryLine(r.summary) || "",
      r.items.length ? h("ul", { class: "surveys" }, r.items.slice(0, 10).map((s) => {
        const li = surveyItem(s);
        li.prepend(h("a", { href: "#/ticket/" + s.ticket_id, text: "#" + num(s.ticket_id) }), " ");
        return li;
      })) : h("p", { class: "muted", text: t("fb.none") }));
  } catch (err) {
    el.append(h("p", { class: "error", text: err.message }));
  }
  return el;
}

/** Supervisors: customers gone quiet after an unresolved complaint or a low score; one follow-up each. */
export class WinbackView {
  constructor(app) {
    this.app = app;
    this.days = h("input", { id: "wb-days", type: "number", min: "1", max: "366", value: "30", inputmode: "numeric" });
    this.text = h("textarea", { id: "wb-text", rows: 2, dir: "auto", maxlength: 10000 });
    this.rows = h("tbody", {});
    this.error = h("p", { class: "error", role: "alert" });
    this.el = h("section", { class: "manage winback", hidden: true, "aria-labelledby": "wb-title" },
      h("h2", { id: "wb-title", text: t("wb.title") }), this.error,
      h("form", { class: "report-controls", onsubmit: (e) => { e.preventDefault(); this.load(); } },
        h("label", { for: "wb-days", class: "field" }, h("span", { text: t("wb.days") }), this.days),
        h("button", { type: "submit", class: "secondary", text: t("wb.load") })),
      h("label", { for: "wb-text", class: "field" }, h("span", { text: t("wb.text") }), this.text),
      h("div", { class: "table-wrap" }, h("table", { class: "manage-table" },
        h("thead", {}, h("tr", {}, ["wb.customer", "wb.reason", "wb.quiet", ""].map((k) => h("th", { scope: "col", text: k ? t(k) : "" })))), this.rows)));
  }

  async load() {
    this.error.textContent = "";
    try {
      const r = await this.app.api("GET", "/api/winback?days=" + encodeURIComponent(this.days.value || "30"));
      this.rows.replaceChildren(...(r.items.length ? r.items.map((i) => this.row(i))
        : [h("tr", {}, h("td", { colspan: "4", class: "muted", text: t("wb.none") }))]));
    } catch (err) {
      this.error.textContent = err.message;
    }
  }

  row(i) {
    const cell = h("td", {});
    const open = h("button", { type: "button", class: "secondary", "data-customer": i.customer_id, text: t("wb.open"), onclick: async () => {
      open.disabled = true;
      const text = this.text.value.trim();
      try {
        const f = await this.app.api("POST", "/api/winback", { customer_id: i.customer_id, days: Number(this.days.value || 30),
          mode: text ? "message" : "reminder", text: text || undefined });
        cell.replaceChildren(h("span", { text: t("wb.opened", { id: num(f.id) }) }));
      } catch (err) { open.disabled = false; this.error.textContent = err.message; }
    } });
    cell.append(open);
    return h("tr", { "data-customer": i.customer_id },
      h("td", {}, h("a", { href: "#/ticket/" + i.ticket_id }, bdi(i.name || "#" + num(i.customer_id)))),
      h("td", {}, bdi(i.reason)), h("td", {}, h("time", { datetime: i.last_contact_at, text: when(i.last_contact_at) })), cell);
  }
}
