// Accountability and customer data rights in the console (admins): the Audit tab (who did what, filtered, CSV),
// and the customer panel's "export data" and "erase customer" actions.
import { h, bdi, fmtTime } from "./dom.js";
import { t, lang } from "./i18n.js";

// Its strings are in the catalogs (hub/locale/LANG/web.json: tab.audit, audit.*, privacy.*).

const num = (v) => new Intl.NumberFormat(lang()).format(v);

/** Fetch with the agent's token and hand the answer to the browser as a download. */
async function download(app, path, fallbackName) {
  const r = await fetch(path, { headers: { Authorization: "Bearer " + app.token } });
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error.detail; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  const name = (r.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || fallbackName;
  const url = URL.createObjectURL(await r.blob());
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function localDay(value, plusDays = 0) {
  if (!value) return "";
  const d = new Date(value + "T00:00:00");
  d.setDate(d.getDate() + plusDays);
  return d.toISOString();
}

export class AuditView {
  constructor(app) {
    this.app = app;
    this.action = h("select", { id: "audit-action" }, h("option", { value: "", text: t("audit.all") }));
    this.actor = h("select", { id: "audit-actor" }, h("option", { value: "", text: t("audit.anyone") }));
    this.customer = h("input", { id: "audit-customer", type: "number", min: "1", inputmode: "numeric", dir: "ltr" });
    this.since = h("input", { id: "audit-since", type: "date" });
    this.until = h("input", { id: "audit-until", type: "date" });
    this.rows = h("tbody", {});
    this.error = h("p", { class: "error", role: "alert" });
    this.more = h("button", { type: "button", class: "secondary", hidden: true, text: t("audit.older"), onclick: () => this.load(true) });
    const form = h("form", { class: "report-controls", onsubmit: (e) => { e.preventDefault(); this.load(); } },
      h("label", { for: "audit-action", class: "field" }, h("span", { text: t("audit.action") }), this.action),
      h("label", { for: "audit-actor", class: "field" }, h("span", { text: t("audit.actor") }), this.actor),
      h("label", { for: "audit-customer", class: "field" }, h("span", { text: t("audit.customer") }), this.customer),
      h("label", { for: "audit-since", class: "field" }, h("span", { text: t("audit.since") }), this.since),
      h("label", { for: "audit-until", class: "field" }, h("span", { text: t("audit.until") }), this.until),
      h("button", { type: "submit", text: t("audit.show") }),
      h("button", { type: "button", class: "secondary", id: "audit-csv", text: t("audit.csv"), onclick: () => this.csv() }));
    this.el = h("section", { class: "manage audit", hidden: true, "aria-labelledby": "audit-title" },
      h("h2", { id: "audit-title", text: t("audit.title") }), form, this.error,
      h("div", { class: "table-wrap" }, h("table", { class: "manage-table audit-log" },
        h("thead", {}, h("tr", {}, ["audit.at", "audit.actor", "audit.action", "audit.target", "audit.customer", "audit.source", "audit.detail"]
          .map((k) => h("th", { scope: "col", text: t(k) })))), this.rows)), this.more);
  }

  query() {
    const p = new URLSearchParams();
    if (this.action.value) p.set("action", this.action.value);
    if (this.actor.value) p.set("actor", this.actor.value);
    if (this.customer.value) p.set("customer", this.customer.value);
    if (this.since.value) p.set("since", localDay(this.since.value));
    if (this.until.value) p.set("until", localDay(this.until.value, 1));
    return p;
  }

  fillActors() {
    if (this.actor.options.length > 1) return;
    this.actor.append(...[...this.app.agents.values()].map((a) => h("option", { value: String(a.id), text: a.name })));
  }

  async load(older = false) {
    this.error.textContent = "";
    this.fillActors();
    const p = this.query();
    p.set("limit", "100");
    if (older && this.cursor) p.set("cursor", this.cursor);
    try {
      const r = await this.app.api("GET", "/api/audit?" + p);
      if (this.action.options.length === 1) {
        this.action.append(...r.actions.map((a) => h("option", { value: a, dir: "ltr", text: a })));
      }
      this.cursor = r.next;
      this.more.hidden = !r.next;
      const rows = r.items.map((e) => this.row(e));
      if (older) this.rows.append(...rows);
      else this.rows.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 7, class: "muted", text: t("audit.none") }))]));
    } catch (err) {
      this.error.textContent = err.message;
    }
  }

  row(e) {
    const detail = Object.entries(e.detail || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    return h("tr", { "data-entry": e.id, "data-action": e.action },
      h("td", { text: fmtTime(e.at, lang()) }),
      h("td", {}, e.actor_id == null && e.actor_name === "system" ? t("audit.system") : bdi(e.actor_name),
        e.actor_role ? h("span", { class: "muted", text: " · " + e.actor_role }) : null),
      h("td", {}, h("bdi", { dir: "ltr", text: e.action })),
      h("td", {}, h("bdi", { dir: "ltr", text: e.target_type + (e.target_id ? " #" + e.target_id : "") })),
      h("td", { class: "num", text: e.customer_id != null ? num(e.customer_id) : "" }),
      h("td", {}, h("bdi", { dir: "ltr", text: e.source || "" })),
      h("td", { class: "text" }, h("bdi", { dir: "ltr", text: detail })));
  }

  async csv() {
    this.error.textContent = "";
    try { await download(this.app, "/api/audit.csv?" + this.query(), "audit.csv"); }
    catch (err) { this.error.textContent = err.message; }
  }
}

/** The customer panel's data-rights block (admins only; null for everyone else). */
export function customerPrivacy(app, customer, onErased) {
  if (app.me?.role !== "admin" || !customer?.id) return null;
  const status = h("p", { class: "muted", role: "status" });
  if (customer.erased_at) {
    status.textContent = t("privacy.erased", { date: fmtTime(customer.erased_at, lang()) });
    return h("section", { class: "privacy" }, h("h4", { text: t("privacy.title") }), status);
  }
  const confirmInput = h("input", { id: "erase-confirm", type: "text", inputmode: "numeric", dir: "ltr", autocomplete: "off" });
  const eraseNow = h("button", { type: "submit", class: "danger", text: t("privacy.eraseNow"), disabled: true });
  confirmInput.addEventListener("input", () => { eraseNow.disabled = confirmInput.value.trim() !== String(customer.id); });
  const form = h("form", { class: "erase-form", hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    eraseNow.disabled = true;
    try {
      const r = await app.api("POST", `/api/customers/${customer.id}/erase`, { confirm: customer.id });
      status.textContent = t("privacy.done", { tickets: num(r.tickets), messages: num(r.messages), mails: num(r.mails_removed) });
      form.hidden = true;
      onErased?.();
    } catch (err) {
      status.textContent = err.message;
      eraseNow.disabled = false;
    }
  } },
  h("p", { class: "warning", text: t("privacy.eraseWarn") }),
  h("label", { for: "erase-confirm", text: t("privacy.confirmLabel", { id: customer.id }) }), confirmInput,
  h("div", { class: "row" }, eraseNow,
    h("button", { type: "button", class: "secondary", text: t("privacy.cancel"), onclick: () => { form.hidden = true; } })));
  return h("section", { class: "privacy" }, h("h4", { text: t("privacy.title") }),
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", id: "export-customer", text: t("privacy.export"), onclick: async () => {
        try { await download(app, `/api/customers/${customer.id}/export`, `customer-${customer.id}.zip`); status.textContent = t("privacy.exported"); }
        catch (err) { status.textContent = err.message; }
      } }),
      h("button", { type: "button", class: "secondary", id: "erase-customer", text: t("privacy.erase"),
        onclick: () => { form.hidden = false; confirmInput.focus(); } })),
    form, status);
}
