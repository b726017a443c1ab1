// The webhook delivery log (admins): configured endpoints with their counts, and every delivery with its state,
// attempts and the receiver's last answer; a delivery can be opened to see its payload and sent again.
import { h, bdi, fmtTime } from "./dom.js";
import { t, lang } from "./i18n.js";

const STATES = ["pending", "sent", "failed"];

export class WebhooksView {
  constructor(app) {
    this.app = app;
    this.endpoints = h("div", { class: "table-wrap" });
    this.state = h("select", { id: "wh-state", onchange: () => this.loadLog() }, h("option", { value: "", text: t("reports.all") }),
      STATES.map((s) => h("option", { value: s, text: t("webhooks.state." + s) })));
    this.endpoint = h("select", { id: "wh-endpoint", onchange: () => this.loadLog() });
    this.log = h("tbody", {});
    this.more = h("button", { type: "button", class: "secondary", hidden: true, text: t("webhooks.older"), onclick: () => this.loadLog(true) });
    this.error = h("p", { class: "error", role: "alert" });
    this.el = h("section", { class: "manage webhooks", hidden: true, "aria-labelledby": "wh-title" },
      h("h2", { id: "wh-title", text: t("webhooks.title") }), this.error,
      h("h3", { text: t("webhooks.endpoints") }), this.endpoints,
      h("h3", { text: t("webhooks.deliveries") }),
      h("div", { class: "report-controls" },
        h("label", { for: "wh-endpoint", class: "field" }, h("span", { text: t("webhooks.endpoint") }), this.endpoint),
        h("label", { for: "wh-state", class: "field" }, h("span", { text: t("webhooks.state") }), this.state)),
      h("div", { class: "table-wrap" }, h("table", { class: "manage-table webhook-log" },
        h("thead", {}, h("tr", {}, ["webhooks.created", "webhooks.event", "webhooks.endpoint", "webhooks.state", "webhooks.attempts",
          "webhooks.answer", ""].map((k) => h("th", { scope: "col", text: k ? t(k) : "" })))), this.log)), this.more);
  }

  async load() {
    this.error.textContent = "";
    try {
      const r = await this.app.api("GET", "/api/webhooks");
      const keep = this.endpoint.value;
      this.endpoint.replaceChildren(h("option", { value: "", text: t("reports.all") }), r.items.map((e) => h("option", { value: e.name, text: e.name })));
      this.endpoint.value = keep;
      this.endpoints.replaceChildren(r.items.length ? h("table", { class: "manage-table" },
        h("thead", {}, h("tr", {}, ["webhooks.endpoint", "webhooks.url", "webhooks.events", "webhooks.state"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, r.items.map((e) => h("tr", { "data-endpoint": e.name },
          h("td", {}, bdi(e.name)), h("td", {}, h("bdi", { dir: "ltr", text: e.url })),
          h("td", { dir: "ltr", text: e.events.join(", ") }),
          h("td", { text: t("webhooks.counts", Object.fromEntries(STATES.map((s) => [s, this.num(e.counts[s])]))) })))))
        : h("p", { class: "muted", text: t("webhooks.noEndpoints") }));
      await this.loadLog();
    } catch (err) {
      this.error.textContent = err.message;
    }
  }

  num(v) { return new Intl.NumberFormat(lang()).format(v); }

  async loadLog(older = false) {
    const p = new URLSearchParams({ limit: "50" });
    if (this.endpoint.value) p.set("endpoint", this.endpoint.value);
    if (this.state.value) p.set("state", this.state.value);
    if (older && this.cursor) p.set("cursor", this.cursor);
    try {
      const r = await this.app.api("GET", "/api/webhooks/deliveries?" + p);
      this.cursor = r.next;
      this.more.hidden = !r.next;
      const rows = r.items.map((d) => this.row(d));
      if (older) this.log.append(...rows);
      else this.log.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 7, class: "muted", text: t("webhooks.none") }))]));
    } catch (err) {
      this.error.textContent = err.message;
    }
  }

  row(d) {
    const detail = h("pre", { class: "payload", dir: "ltr", hidden: true });
    const answer = [d.last_status ? "HTTP " + d.last_status : "", d.last_error || ""].filter(Boolean).join(" · ");
    const when = d.state === "sent" ? fmtTime(d.delivered_at, lang()) : d.state === "pending" && d.next_attempt_at ? t("webhooks.next") + " " + fmtTime(d.next_attempt_at, lang()) : "";
    return h("tr", { "data-delivery": d.id, class: "state-" + d.state },
      h("td", { text: fmtTime(d.created_at, lang()) }),
      h("td", { dir: "ltr" }, h("button", { type: "button", class: "link", text: d.event, "aria-expanded": "false", onclick: async (e) => {
        if (detail.hidden && !detail.textContent) {
          const full = await this.app.api("GET", "/api/webhooks/deliveries/" + d.id).catch((err) => ({ payload: err.message }));
          detail.textContent = JSON.stringify(full.payload, null, 2);
        }
        detail.hidden = !detail.hidden;
        e.target.setAttribute("aria-expanded", String(!detail.hidden));
      } }), detail),
      h("td", {}, bdi(d.endpoint)),
      h("td", {}, h("span", { class: "chip wh-" + d.state, text: t("webhooks.state." + d.state) }), when ? h("div", { class: "muted", text: when }) : null),
      h("td", { class: "num", text: this.num(d.attempts) }),
      h("td", { class: "text" }, h("bdi", { dir: "ltr", text: answer })),
      h("td", {}, d.state !== "pending" ? h("button", { type: "button", class: "secondary", "data-action": "redeliver", text: t("webhooks.redeliver"),
        onclick: async () => {
          try { await this.app.api("POST", `/api/webhooks/deliveries/${d.id}/redeliver`); this.error.textContent = ""; await this.load(); }
          catch (err) { this.error.textContent = err.message; }
        } }) : null));
  }
}
