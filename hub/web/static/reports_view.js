// The Reports tab (supervisors and admins): a date range and a grouping, headline figures, a chart and a table per
// section, the lists (complaints, kinds, topics, the bot's missed questions), and CSV export of every table.
import { h, bdi } from "./dom.js";
import { t, lang } from "./i18n.js";
import { barChart, legend, PALETTE } from "./chart.js";
import { departmentNames, departmentLabel, kindLabel, languageLabel } from "./labels.js";

const GROUPS = ["day", "week", "agent", "department", "channel"];
const CHANNELS = ["webchat", "telegram", "email", "callback"];
const SECTIONS = ["volume", "sla", "satisfaction", "complaints", "bot", "callbacks"];
const LISTS = ["complaints_by_department", "tickets_by_kind", "complaint_topics", "missed_questions"];
// What each section draws: series of columns, how they stack, and the value scale.
const CHARTS = {
  volume: [{ cols: ["tickets"] }, { cols: ["first_response_median", "first_response_p90"], kind: "seconds", title: "reports.chart.responses" }],
  sla: [{ cols: ["first_response_pct", "resolution_pct"], kind: "pct" }],
  satisfaction: [{ cols: ["csat_pct"], kind: "pct" }],
  complaints: [{ cols: ["complaints"] }],
  bot: [{ cols: ["answered", "handed_off"], stacked: true }],
  callbacks: [{ cols: ["reached", "no_answer", "unreachable", "wrong_number"], stacked: true }],
};
const HEADLINES = [["volume", "tickets"], ["volume", "first_response_median"], ["volume", "resolution_median"],
  ["sla", "first_response_pct"], ["sla", "resolution_pct"], ["satisfaction", "csat_pct"], ["satisfaction", "nps"],
  ["complaints", "complaints"], ["bot", "answered_pct"], ["callbacks", "reached_pct"]];

const kindOf = (col) => (/_(median|p90)$/.test(col) ? "seconds" : /_pct$/.test(col) ? "pct" : col === "nps" || col === "csat_avg" ? "decimal" : "count");
const isoDay = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);

export class ReportsView {
  constructor(app) {
    this.app = app;
    const today = new Date();
    this.from = h("input", { id: "rep-from", type: "date", value: isoDay(new Date(today.getTime() - 29 * 86400000)), required: true });
    this.to = h("input", { id: "rep-to", type: "date", value: isoDay(today), required: true });
    this.group = h("select", { id: "rep-group" }, GROUPS.map((g) => h("option", { value: g, text: t("reports.group." + g) })));
    this.dept = h("select", { id: "rep-dept" });
    this.channel = h("select", { id: "rep-channel" }, h("option", { value: "", text: t("reports.all") }),
      CHANNELS.map((c) => h("option", { value: c, text: t("channel." + c, {}, c) })));
    const quick = [7, 30, 90].map((n) => h("button", { type: "button", class: "secondary", "data-days": n, text: t("reports.last", { n: this.num(n) }),
      onclick: () => { this.to.value = isoDay(new Date()); this.from.value = isoDay(new Date(Date.now() - (n - 1) * 86400000)); this.load(); } }));
    this.error = h("p", { class: "error", role: "alert" });
    this.status = h("p", { class: "muted", role: "status" });
    this.body = h("div", { class: "report-body" });
    const field = (id, key, input) => h("label", { for: id, class: "field" }, h("span", { text: t(key) }), input);
    this.el = h("section", { class: "manage reports", hidden: true, "aria-labelledby": "rep-title" },
      h("h2", { id: "rep-title", text: t("reports.title") }),
      h("form", { class: "report-controls", onsubmit: (e) => { e.preventDefault(); this.load(); } },
        field("rep-from", "reports.from", this.from), field("rep-to", "reports.to", this.to),
        field("rep-group", "reports.group", this.group), field("rep-dept", "reports.department", this.dept),
        field("rep-channel", "reports.channel", this.channel),
        h("button", { type: "submit", class: "primary", id: "rep-show", text: t("reports.show") }), quick),
      this.error, this.status, this.body);
  }

  query() {
    const p = new URLSearchParams({ from: this.from.value, to: this.to.value, group: this.group.value });
    if (this.dept.value) p.set("department", this.dept.value);
    if (this.channel.value) p.set("channel", this.channel.value);
    return p.toString();
  }

  async load() {
    if (!this.dept.options.length) {
      this.dept.replaceChildren(h("option", { value: "", text: t("reports.all") }),
        departmentNames().map((d) => h("option", { value: d, text: departmentLabel(d) })));
    }
    this.error.textContent = "";
    this.status.textContent = t("reports.loading");
    try {
      this.data = await this.app.api("GET", "/api/reports?" + this.query());
      this.status.textContent = t("reports.hoursNote");
      this.draw();
    } catch (err) {
      this.status.textContent = "";
      this.error.textContent = err.message;
    }
  }

  // ---- formatting in the console's language (Persian digits in fa) ------------------------------------------------
  num(v, digits = 0) { return new Intl.NumberFormat(lang(), { maximumFractionDigits: digits }).format(v); }

  value(v, kind) {
    if (v == null) return "–";
    if (kind === "pct") return new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 1 }).format(v / 100);
    if (kind === "decimal") return this.num(v, 2);
    if (kind === "seconds") {
      const [n, unit] = v < 3600 ? [v / 60, "minute"] : v < 172800 ? [v / 3600, "hour"] : [v / 86400, "day"];
      return new Intl.NumberFormat(lang(), { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 }).format(n);
    }
    return this.num(v);
  }

  keyLabel(key) {
    const g = this.data.group;
    if (g === "day" || g === "week") {
      const day = new Intl.DateTimeFormat(lang(), { month: "short", day: "numeric", timeZone: "UTC" }).format(new Date(key + "T00:00:00Z"));
      return g === "week" ? t("reports.weekOf", { date: day }) : day;
    }
    if (key === "none") return t(g === "agent" ? "reports.unassigned" : "reports.noneKey");
    if (g === "agent") return this.data.labels?.[key] || this.app.agentName(Number(key));
    if (g === "department") return departmentLabel(key);
    return t("channel." + key, {}, key);
  }

  // ---- drawing ------------------------------------------------------------------------------------------------
  draw() {
    const r = this.data;
    const cards = HEADLINES.map(([s, c]) => h("div", { class: "kpi", "data-kpi": c },
      h("span", { class: "kpi-value", text: this.value(r.sections[s].total[c], kindOf(c)) }),
      h("span", { class: "kpi-label", text: t("col." + c) })));
    this.body.replaceChildren(h("div", { class: "kpis" }, cards),
      ...SECTIONS.map((s) => this.section(s)), ...LISTS.map((l) => this.list(l)));
  }

  section(name) {
    const r = this.data, table = r.sections[name], cols = r.columns[name];
    const labels = table.rows.map((row) => this.keyLabel(row.key));
    const rtl = document.documentElement.dir === "rtl";
    const charts = (CHARTS[name] || []).map((c) => {
      const kind = c.kind || "count";
      let series = c.cols.map((col, j) => ({ name: t("col." + col), values: table.rows.map((row) => row[col]), color: PALETTE[j] }));
      let format = (v) => this.value(v, kind);
      if (kind === "seconds") {
        // Durations are drawn in one unit (minutes, hours or days, by the longest) so the axis steps are round.
        const top = Math.max(0, ...series.flatMap((x) => x.values.map((v) => v ?? 0)));
        const [div, unit] = top < 7200 ? [60, "minute"] : top < 172800 ? [3600, "hour"] : [86400, "day"];
        series = series.map((x) => ({ ...x, values: x.values.map((v) => (v == null ? v : v / div)) }));
        const fmt = new Intl.NumberFormat(lang(), { style: "unit", unit, unitDisplay: "short", maximumFractionDigits: 1 });
        format = (v) => fmt.format(v);
      }
      const title = c.title ? t(c.title) : c.cols.length === 1 ? t("col." + c.cols[0]) : t("reports." + name);
      return h("figure", { class: "chart-box" },
        barChart({ labels, series, stacked: !!c.stacked, max: kind === "pct" ? 100 : null, format, title, rtl, whole: kind === "count" }),
        series.length > 1 ? legend(series, h) : null, h("figcaption", { class: "muted", text: title }));
    });
    const head = h("tr", {}, h("th", { scope: "col", text: t("reports.group." + r.group) }), cols.map((c) => h("th", { scope: "col", text: t("col." + c) })));
    const line = (key, row, isTotal) => h("tr", { class: isTotal ? "total" : null, "data-key": key },
      h("th", { scope: "row" }, isTotal ? t("reports.total") : bdi(this.keyLabel(key))),
      cols.map((c) => h("td", { class: "num", "data-col": c, text: this.value(row[c], kindOf(c)) })));
    return h("section", { class: "report-section", "data-section": name, "aria-labelledby": "rep-h-" + name },
      h("div", { class: "report-head" }, h("h3", { id: "rep-h-" + name, text: t("reports." + name) }), this.csvButton(name)),
      h("div", { class: "charts" }, charts),
      h("div", { class: "table-wrap" }, h("table", { class: "manage-table report-table" },
        h("thead", {}, head), h("tbody", {}, table.rows.map((row) => line(row.key, row, false))),
        h("tfoot", {}, line("total", table.total, true)))));
  }

  list(name) {
    const table = this.data.lists[name];
    const max = Math.max(1, ...table.rows.map((x) => x.count));
    const cell = (row, col) => {
      const v = row[col];
      if (col === "count") return h("td", { class: "num" }, h("span", { class: "inline-bar", style: `inline-size:${(100 * v) / max}%` }), this.num(v));
      if (col === "department") return h("td", {}, v === "none" ? t("reports.noneKey") : bdi(departmentLabel(v)));
      if (col === "kind") return h("td", { text: kindLabel(v) });
      if (col === "language") return h("td", { text: languageLabel(v) });
      if (col === "tickets") return h("td", {}, v.map((id, i) => [i ? " " : "", h("a", { href: "#/ticket/" + id, text: "#" + this.num(id) })]));
      if (col === "question") return h("td", { class: "text" }, h("bdi", { dir: "auto", lang: row.language || null, text: v }));
      return h("td", {}, v === "none" ? t("reports.noneKey") : bdi(v));
    };
    return h("section", { class: "report-section", "data-list": name, "aria-labelledby": "rep-h-" + name },
      h("div", { class: "report-head" }, h("h3", { id: "rep-h-" + name, text: t("reports." + name) }), this.csvButton(name)),
      table.rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "manage-table report-table" },
        h("thead", {}, h("tr", {}, table.columns.map((c) => h("th", { scope: "col", text: t(c === "tickets" ? "col.tickets_list" : "col." + c) })))),
        h("tbody", {}, table.rows.map((row) => h("tr", {}, table.columns.map((c) => cell(row, c)))))))
        : h("p", { class: "muted", text: t("reports.empty") }));
  }

  csvButton(name) {
    const label = t("reports.csvOf", { name: t("reports." + name) });
    return h("button", { type: "button", class: "secondary csv", "data-csv": name, title: label, "aria-label": label, text: t("reports.csv"),
      onclick: () => this.download(name) });
  }

  async download(name) {
    // The CSV needs the agent's token, so it is fetched and handed to the browser as a file rather than linked.
    try {
      const r = await fetch(`/api/reports/${name}.csv?` + this.query(), { headers: { Authorization: "Bearer " + this.app.token } });
      if (!r.ok) throw new Error((await r.json().catch(() => null))?.error?.detail || r.statusText);
      const url = URL.createObjectURL(await r.blob());
      const file = (r.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || name + ".csv";
      const a = h("a", { href: url, download: file, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      this.error.textContent = err.message;
    }
  }
}
