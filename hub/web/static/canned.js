// Canned replies: stored on the server (GET/POST /api/canned), offered in the ticket's language first.
import { h } from "./dom.js";
import { t, lang } from "./i18n.js";

export class CannedPicker {
  constructor(app, insert) {
    this.app = app;
    this.insert = insert;
    this.items = [];
    this.language = lang();
    this.select = h("select", { id: "canned", "aria-label": t("canned.pick"), onchange: () => this.use() });
    // A div, not a form: it sits inside the reply form, and forms cannot nest.
    this.form = h("div", { class: "canned-new", hidden: true, role: "group", "aria-label": t("canned.add") });
    this.title = h("input", { id: "canned-title", maxlength: 200, dir: "auto" });
    this.lang = h("input", { id: "canned-lang", maxlength: 10, size: 4 });
    this.error = h("span", { class: "error", role: "alert" });
    this.form.append(h("label", { for: "canned-title", text: t("canned.title") }), this.title,
      h("label", { for: "canned-lang", text: t("canned.language") }), this.lang,
      h("button", { type: "button", class: "secondary canned-save", text: t("canned.save"), onclick: () => this.save() }), this.error);
    const add = h("button", { type: "button", class: "link", text: t("canned.add"), onclick: () => {
      this.form.hidden = !this.form.hidden;
      this.lang.value = this.language || lang();
      if (!this.form.hidden) this.title.focus();
    } });
    this.el = h("div", { class: "canned" }, this.select, add, this.form);
    this.load();
  }

  async load() {
    try {
      this.items = (await this.app.api("GET", "/api/canned")).items;
    } catch {
      this.items = [];
    }
    this.draw();
  }

  /** One reply changed (or `gone`) here or, through `canned.changed`, in another console. */
  replace(c, gone = false) {
    const i = this.items.findIndex((x) => x.id === c.id);
    if (gone) { if (i >= 0) this.items.splice(i, 1); }
    else if (i >= 0) this.items[i] = c;
    else this.items.push(c);
    this.draw();
  }

  setLanguage(language) {
    this.language = language || lang();
    this.draw();
  }

  draw() {
    const mine = this.items.filter((c) => c.language === this.language);
    const others = this.items.filter((c) => c.language !== this.language);
    const opt = (c) => h("option", { value: String(c.id), lang: c.language, dir: "auto", text: c.title + " (" + c.language + ")" });
    const groups = [h("option", { value: "", text: t("canned.pick") })];
    if (mine.length) groups.push(h("optgroup", { label: t("canned.inLanguage", { lang: this.language }) }, mine.map(opt)));
    if (others.length) groups.push(h("optgroup", { label: t("canned.other") }, others.map(opt)));
    this.select.replaceChildren(...groups);
    this.select.value = "";
  }

  use() {
    const c = this.items.find((x) => String(x.id) === this.select.value);
    if (c) this.insert(c.text);
    this.select.value = "";
  }

  async save() {
    // Checked here rather than with `required`: these fields sit inside the reply form and must not block it.
    if (!this.title.value.trim()) { this.error.textContent = t("canned.needTitle"); this.title.focus(); return; }
    const text = document.getElementById("reply-text")?.value || "";
    this.error.textContent = "";
    if (!text.trim()) { this.error.textContent = t("canned.needText"); return; }
    try {
      const c = await this.app.api("POST", "/api/canned", { title: this.title.value, language: this.lang.value.trim(), text });
      this.replace(c);
      this.title.value = "";
      this.form.hidden = true;
      this.draw();
    } catch (err) {
      this.error.textContent = err.message;
    }
  }
}
