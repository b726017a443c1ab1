// Agents and roles (admins): the list with role and departments, add, deactivate or reactivate, reset a password.
// A generated password is shown once, here, and never again. The server checks every role; this view only hides
// what an admin is not.
import { h, bdi } from "./dom.js";
import { t } from "./i18n.js";
import { departmentLabel, departmentNames } from "./labels.js";

const ROLES = ["agent", "supervisor", "admin"];

export class AgentsView {
  constructor(app) {
    this.app = app;
    this.rows = h("tbody");
    this.status = h("p", { class: "status-line", role: "status" });
    this.error = h("p", { class: "error", role: "alert" });
    this.el = h("section", { class: "manage agents-view", hidden: true, "aria-labelledby": "agents-title" },
      h("h2", { id: "agents-title", text: t("agents.title") }), this.status, this.error,
      h("div", { class: "table-wrap" }, h("table", { class: "manage-table" },
        h("thead", {}, h("tr", {}, ["agents.name", "agents.email", "agents.role", "agents.departments", "agents.status", ""].map((k) => h("th", { scope: "col", text: k ? t(k) : "" })))),
        this.rows)),
      this.addForm());
  }

  async load() {
    this.error.textContent = "";
    try {
      this.agents = (await this.app.api("GET", "/api/agents?all=true")).items;
    } catch (err) {
      this.error.textContent = err.message;
      return;
    }
    this.draw();
  }

  draw() {
    this.rows.replaceChildren(...(this.agents || []).map((a) => this.row(a)));
  }

  row(a) {
    const self = a.id === this.app.me.id;
    const role = h("select", { "aria-label": t("agents.role") + ": " + a.name, disabled: self,
      onchange: () => this.change(a, { role: role.value }) }, ROLES.map((r) => h("option", { value: r, text: t("role." + r) })));
    role.value = a.role;
    const toggle = a.active
      ? h("button", { type: "button", class: "secondary deactivate", disabled: self, text: t("agents.deactivate"), onclick: () => {
        if (confirm(t("agents.confirmDeactivate", { name: a.name }))) this.change(a, { active: false });
      } })
      : h("button", { type: "button", class: "secondary reactivate", text: t("agents.reactivate"), onclick: () => this.change(a, { active: true }) });
    const reset = h("button", { type: "button", class: "secondary reset-password", disabled: !a.active, text: t("agents.reset"), onclick: () => this.reset(a) });
    return h("tr", { "data-agent": a.id, class: a.active ? "" : "inactive" },
      h("td", {}, bdi(a.name), self ? h("span", { class: "muted", text: " (" + t("agents.you") + ")" }) : null),
      h("td", {}, bdi(a.email)),
      h("td", {}, role),
      h("td", {}, (a.departments || []).map((d) => h("span", { class: "chip dept" }, bdi(departmentLabel(d))))),
      h("td", {}, h("span", { class: "chip " + (a.active ? "active" : "inactive"), text: t(a.active ? "agents.active" : "agents.inactive") })),
      h("td", { class: "row-actions" }, toggle, " ", reset));
  }

  async change(a, body) {
    this.error.textContent = this.status.textContent = "";
    try {
      const updated = await this.app.api("PATCH", "/api/agents/" + a.id, body);
      Object.assign(a, updated);
      this.status.textContent = t("agents.saved");
    } catch (err) {
      this.error.textContent = err.message;
    }
    this.draw();
  }

  async reset(a) {
    if (!confirm(t("agents.confirmReset", { name: a.name }))) return;
    this.error.textContent = this.status.textContent = "";
    try {
      const r = await this.app.api("POST", `/api/agents/${a.id}/password`, {});
      this.showOnce(t("agents.newPassword", { name: a.name }), r.password);
    } catch (err) {
      this.error.textContent = err.message;
    }
  }

  showOnce(label, password) {
    this.status.replaceChildren(label, " ", h("code", { class: "once", dir: "ltr", text: password }));
  }

  addForm() {
    const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id, text: label }), control);
    const name = h("input", { id: "new-agent-name", maxlength: 200, dir: "auto", required: true });
    const email = h("input", { id: "new-agent-email", type: "email", maxlength: 320, required: true, dir: "ltr" });
    const role = h("select", { id: "new-agent-role" }, ROLES.map((r) => h("option", { value: r, text: t("role." + r) })));
    const password = h("input", { id: "new-agent-password", type: "text", autocomplete: "new-password", maxlength: 500, dir: "ltr" });
    const depts = h("fieldset", { class: "depts" }, h("legend", { text: t("agents.departments") }),
      departmentNames().map((d) => h("label", { class: "inline" }, h("input", { type: "checkbox", name: "dept", value: d }), " ", bdi(departmentLabel(d)))));
    const form = h("form", { class: "add-agent", onsubmit: async (e) => {
      e.preventDefault();
      this.error.textContent = this.status.textContent = "";
      const body = { name: name.value.trim(), email: email.value.trim(), role: role.value,
        departments: [...form.querySelectorAll("input[name=dept]:checked")].map((c) => c.value) };
      if (password.value) body.password = password.value;
      try {
        const made = await this.app.api("POST", "/api/agents", body);
        form.reset();
        if (made.password) this.showOnce(t("agents.created", { name: made.name }), made.password);
        else this.status.textContent = t("agents.saved");
        await this.load();
      } catch (err) {
        this.error.textContent = err.message;
        (err.field && form.querySelector("#new-agent-" + err.field))?.focus();
      }
    } },
    h("h3", { text: t("agents.add") }),
    h("div", { class: "fields" }, field("new-agent-name", t("agents.name"), name), field("new-agent-email", t("agents.email"), email),
      field("new-agent-role", t("agents.role"), role), field("new-agent-password", t("agents.password"), password)),
    depts,
    h("button", { type: "submit", class: "primary", text: t("agents.add") }));
    return form;
  }
}
