// Keyboard shortcuts outside text fields: J/K move through the queue, "/" searches canned replies, "?" lists
// the shortcuts; Esc leaves a field. Keys are matched by their place on the keyboard too (event.code), so they
// work while a Thai or Persian layout is active.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const FIELD = "input, textarea, select, [contenteditable=''], [contenteditable='true']";
const MOD = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent) ? "⌘" : "Ctrl";

function which(e) {
  if (e.key === "j" || e.key === "J" || e.code === "KeyJ") return "next";
  if (e.key === "k" || e.key === "K" || e.code === "KeyK") return "prev";
  if (e.key === "?" || (e.code === "Slash" && e.shiftKey)) return "help";
  if (e.key === "/" || e.code === "Slash") return "canned";
  return null;
}

export function installKeys(app) {
  const help = helpDialog();
  document.body.append(help);
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.isComposing || e.ctrlKey || e.metaKey || e.altKey || !app.me) return;
    const field = e.target instanceof Element ? e.target.closest(FIELD) : null;
    if (e.key === "Escape") {
      if (field) { e.preventDefault(); field.blur(); }
      return;
    }
    if (field || help.open) return;
    const action = which(e);
    if (!action) return;
    if (action === "next" || action === "prev") {
      if (app.route !== "queue") return;
      e.preventDefault();
      app.queue.step(action === "next" ? 1 : -1);
    } else if (action === "canned") {
      if (app.ticket.searchCanned()) e.preventDefault();
    } else {
      e.preventDefault();
      help.showModal();
    }
  });
}

function helpDialog() {
  const row = (keys, what) => h("tr", {}, h("td", {}, keys.map((k, i) => [i ? " " : "", h("kbd", { text: k })])), h("td", { text: t(what) }));
  return h("dialog", { id: "keys-help", class: "keys-help", "aria-labelledby": "keys-title" },
    h("h2", { id: "keys-title", text: t("keys.title") }),
    h("table", {}, h("tbody", {},
      row(["J"], "keys.next"), row(["K"], "keys.prev"), row(["/"], "keys.canned"),
      row([MOD + "+Enter"], "keys.send"), row(["Esc"], "keys.leave"), row(["?"], "keys.help"))),
    h("form", { method: "dialog" }, h("button", { class: "primary", text: t("keys.close") })));
}
