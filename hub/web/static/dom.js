// DOM helpers for the console. Text always goes in through text nodes: data is never parsed as HTML.

export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
}

/** Text from customers or agents: isolated for bidi and direction taken from its own first strong letter. */
export const bdi = (text, cls) => h("bdi", { dir: "auto", class: cls }, text ?? "");

const ICONS = {
  webchat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  telegram: "M3 11.5 21 4l-3 16-6-4.5-3 3.5v-5l8.5-7.5L7 13z",
  email: "M3 5h18v14H3zM3 6l9 7 9-7",
  callback: "M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z",
  note: "M5 3h10l4 4v14H5zM14 3v5h5",
};

/** A small channel icon with an accessible name (SVG, since emoji fonts are not everywhere). */
export function icon(name, label) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon icon-" + (ICONS[name] ? name : "other"));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label || name);
  const title = document.createElementNS(ns, "title");
  title.textContent = label || name;
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name] || "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z");
  svg.append(title, path);
  return svg;
}

export function fmtTime(iso, lang) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const today = d.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(lang, today ? { hour: "2-digit", minute: "2-digit" } : { dateStyle: "short", timeStyle: "short" }).format(d);
}

/** "in 12 min" / "5 min ago" in the console's language. */
export function fmtRelative(ms, lang) {
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "always", style: "short" });
  const abs = Math.abs(ms);
  if (abs < 60_000) return rtf.format(Math.round(ms / 1000), "second");
  if (abs < 3_600_000) return rtf.format(Math.round(ms / 60_000), "minute");
  if (abs < 172_800_000) return rtf.format(Math.round(ms / 3_600_000), "hour");
  return rtf.format(Math.round(ms / 86_400_000), "day");
}

/** The SLA deadline that matters now: first response until answered, then resolution. */
export function slaDue(t) {
  if (!t || ["resolved", "closed"].includes(t.status)) return null;
  const due = t.first_response_at ? t.resolution_due : t.first_response_due;
  return due ? new Date(due) : null;
}
