// Canned replies (supervisors and admins): every stored answer by language, edited in place or deleted.
// Agents add them from the reply box; the server refuses edits and deletions from anyone below supervisor.
import { h, bdi } from "./dom.js";
import { t } from "./i18n.js";
import { languageLabel } from "./labels.js";

export class CannedView {
  constructor(app) {
    this.app = app;
    this.list = h("ul", { class: "canned-list" });
    this.error = h("p", { class: "error", role: "alert" });
    this.editing = null;
    this.el = h("section", { class: "manage canned-view", hidden: true, "aria-labelledby": "canned-title-h" },
      h("h2", { id: "canned-title-h", text: t("canned.manage") }), this.error, this.list);
  }

  get items() { return this.app.ticket.canned.items; }

  async load() {
    await this.app.ticket.canned.load();
    this.draw();
  }

  draw() {
    if (this.el.hidden) return;
    const items = [...this.items].sort((a, b) => a.language.localeCompare(b.language) || a.title.localeCompare(b.title));
    this.list.replaceChildren(...(items.length ? items.map((c) => (this.editing === c.id ? this.editor(c) : this.item(c)))
      : [h("li", { class: "muted", text: t("canned.none") })]));
  }

  item(c) {
    return h("li", { class: "canned-item", "data-canned": c.id },
      h("div", { class: "canned-head" }, h("strong", {}, bdi(c.title)), " ", h("span", { class: "chip lang", title: c.language, text: languageLabel(c.language) }),
        h("span", { class: "spacer" }),
        h("button", { type: "button", class: "secondary edit", text: t("canned.edit"), "aria-label": t("canned.edit") + ": " + c.title,
          onclick: () => { this.editing = c.id; this.draw(); this.list.querySelector(".canned-editor input")?.focus(); } }),
        h("button", { type: "button", class: "secondary danger delete", text: t("canned.delete"), "aria-label": t("canned.delete") + ": " + c.title,
          onclick: () => this.remove(c) })),
      h("p", { class: "text", dir: "auto", lang: c.language, text: c.text }));
  }

  editor(c) {
    const id = "canned-edit-" + c.id;
    const title = h("input", { id: id + "-title", value: c.title, maxlength: 200, dir: "auto", required: true });
    const language = h("input", { id: id + "-lang", value: c.language, maxlength: 10, size: 5, required: true, dir: "ltr" });
    const text = h("textarea", { id: id + "-text", rows: 4, dir: "auto", required: true });
    text.value = c.text;
    const error = h("p", { class: "error", role: "alert" });
    return h("li", { class: "canned-item", "data-canned": c.id },
      h("form", { class: "canned-editor", onsubmit: async (e) => {
        e.preventDefault();
        try {
          const saved = await this.app.api("PATCH", "/api/canned/" + c.id, { title: title.value, language: language.value.trim(), text: text.value });
          this.app.ticket.canned.replace(saved);
          this.editing = null;
          this.draw();
        } catch (err) {
          error.textContent = err.message;
        }
      }, onkeydown: (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); e.currentTarget.requestSubmit(); } } },
      h("label", { for: id + "-title", text: t("canned.title") }), title,
      h("label", { for: id + "-lang", text: t("canned.language") }), language,
      h("label", { for: id + "-text", text: t("canned.text") }), text, error,
      h("div", { class: "compose-row" },
        h("button", { type: "submit", class: "primary save", text: t("canned.save") }),
        h("button", { type: "button", class: "secondary", text: t("canned.cancel"), onclick: () => { this.editing = null; this.draw(); } }))));
  }

  async remove(c) {
    if (!confirm(t("canned.confirmDelete", { title: c.title }))) return;
    this.error.textContent = "";
    try {
      await this.app.api("DELETE", "/api/canned/" + c.id);
      this.app.ticket.canned.replace({ id: c.id }, true);
    } catch (err) {
      this.error.textContent = err.message;
    }
    this.draw();
  }
}
