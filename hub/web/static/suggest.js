// Suggestions while writing in the reply box: "/" searches canned replies, "@" names a colleague (a note with
// @Name notifies them). A listbox under the text area, driven from the keyboard (arrows, Enter or Tab, Esc).
import { h } from "./dom.js";
import { t } from "./i18n.js";

const MAX = 8;
// The word being typed right before the caret, started by "/" or "@" at the start or after a space
// ("24/7" and "nok@example.com" do not open the list).
const TRIGGER = /(^|\s)([/@])([^\s/@]{0,40})$/u;
const fold = (s) => String(s || "").normalize("NFC").toLocaleLowerCase();

export class Suggest {
  /**
   * @param input the text area
   * @param sources {"/": (query) => [{id, label, detail, lang, value}], "@": ...}
   */
  constructor(input, sources) {
    this.input = input;
    this.sources = sources;
    this.items = [];
    this.active = 0;
    this.range = null;
    this.list = h("ul", { id: "suggest", class: "suggest", role: "listbox", hidden: true, "aria-label": t("suggest.canned") });
    this.el = this.list;
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "suggest");
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150)); // after a click on an item
    input.addEventListener("keydown", (e) => this.key(e));
  }

  get open() { return !this.list.hidden; }

  /** Opens the canned-reply search at the caret, as if "/" had been typed there. */
  startCanned() {
    const el = this.input;
    el.focus();
    const at = el.selectionStart ?? el.value.length;
    const before = el.value.slice(0, at);
    const gap = before && !/\s$/.test(before) ? " " : "";
    el.setRangeText(gap + "/", at, el.selectionEnd ?? at, "end");
    this.update();
  }

  update() {
    const el = this.input;
    const at = el.selectionStart ?? 0;
    if (at !== el.selectionEnd) return this.close();
    const m = el.value.slice(0, at).match(TRIGGER);
    const source = m && this.sources[m[2]];
    if (!source) return this.close();
    this.range = [at - m[2].length - m[3].length, at];
    this.trigger = m[2];
    const q = fold(m[3]);
    this.items = source(q, fold).slice(0, MAX);
    this.active = 0;
    this.draw();
  }

  draw() {
    this.list.setAttribute("aria-label", t(this.trigger === "@" ? "suggest.agents" : "suggest.canned"));
    const rows = this.items.map((it, i) => h("li", {
      id: "suggest-" + i, role: "option", class: "suggestion", "aria-selected": String(i === this.active), "data-id": it.id,
      onmousedown: (e) => { e.preventDefault(); this.pick(i); },
    }, h("bdi", { class: "label", dir: "auto", lang: it.lang, text: it.label }), it.detail ? h("span", { class: "detail", dir: "auto", lang: it.lang, text: it.detail }) : null));
    this.list.replaceChildren(...(rows.length ? rows : [h("li", { class: "suggest-none", role: "option", "aria-disabled": "true", text: t("suggest.none") })]));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (rows.length) this.input.setAttribute("aria-activedescendant", "suggest-" + this.active);
    else this.input.removeAttribute("aria-activedescendant");
  }

  close() {
    if (this.list.hidden) return;
    this.list.hidden = true;
    this.items = [];
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  key(e) {
    if (!this.open || e.isComposing) return;
    const n = this.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!n) return;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.draw();
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.ctrlKey && !e.metaKey && !e.shiftKey && n) {
      e.preventDefault();
      this.pick(this.active);
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation(); // the first Esc closes the list; the next one leaves the field
      this.close();
    }
  }

  pick(i) {
    const it = this.items[i];
    if (!it || !this.range) return;
    const [from, to] = this.range;
    this.input.setRangeText(it.value, from, to, "end");
    this.close();
    this.input.focus();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
