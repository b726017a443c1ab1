// Small SVG bar charts drawn by the page (no library, no build step). Bars side by side or stacked, a value axis
// with round ticks, labels in the console's language and digits, the category axis mirrored in right-to-left
// pages, and every bar titled with its exact value for hover and screen readers.
const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b"];

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

// The axis top: four equal steps of 1, 2, 2.5 or 5 times a power of ten (whole steps only for counts).
function niceMax(v, whole) {
  const need = v > 0 ? v / 4 : 0.25;
  const p = 10 ** Math.floor(Math.log10(need));
  const steps = [1, 2, 2.5, 5, 10].map((m) => m * p).filter((x) => !whole || (x >= 1 && Number.isInteger(x)));
  return 4 * (steps.find((x) => x >= need) ?? Math.max(1, Math.ceil(need)));
}

/**
 * barChart({ labels, series: [{ name, values }], stacked, max, format, title, rtl, whole })
 * labels: category names already formatted; values: numbers or null (no bar); format: value -> text.
 */
export function barChart({ labels, series, stacked = false, max = null, format = String, title = "", rtl = false, whole = false }) {
  const W = 640, H = 220, top = 12, bottom = 44, side = 72;
  const n = labels.length, plotW = W - 2 * side, plotH = H - top - bottom;
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const peak = max ?? niceMax(stacked ? Math.max(0, ...totals) : Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0))), whole);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title, preserveAspectRatio: "xMidYMid meet" });
  svg.append(el("title", {}, title));
  const y = (v) => top + plotH - (plotH * v) / peak;
  // Value axis on the reading side: left in LTR, right in RTL ("end" of right-to-left text is its left edge).
  const axisX = rtl ? W - side : side;
  for (let k = 0; k <= 4; k++) {
    const v = (peak * k) / 4;
    svg.append(el("line", { x1: side, x2: W - side, y1: y(v), y2: y(v), class: k ? "grid" : "axis" }));
    svg.append(el("text", { x: rtl ? axisX + 6 : axisX - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, format(v)));
  }
  const slot = plotW / Math.max(n, 1);
  const groupW = Math.min(slot * 0.8, 60);
  const barW = stacked ? groupW : groupW / Math.max(series.length, 1);
  const every = Math.ceil(n / 12); // at most about a dozen category labels, so they never overlap
  labels.forEach((label, i) => {
    const pos = rtl ? n - 1 - i : i;
    const x0 = side + slot * pos + (slot - groupW) / 2;
    let base = 0;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (!v) return; // nothing to draw for zero or no value; the table beside says which
      const from = stacked ? base : 0;
      const x = stacked ? x0 : x0 + (rtl ? series.length - 1 - j : j) * barW;
      const r = el("rect", { x, y: y(from + v), width: Math.max(barW - 1, 1), height: Math.max(y(from) - y(from + v), v > 0 ? 1 : 0),
        fill: s.color || PALETTE[j % PALETTE.length], class: "bar", "data-series": s.name });
      r.append(el("title", {}, `${label} · ${s.name}: ${format(v)}`));
      svg.append(r);
      if (stacked) base += v;
    });
    if (i % every === 0) {
      svg.append(el("text", { x: x0 + groupW / 2, y: H - bottom + 16, "text-anchor": "middle", class: "cat" }, label));
    }
  });
  return svg;
}

/** The legend under a chart: a swatch and a name per series. */
export function legend(series, h) {
  return h("ul", { class: "legend" }, series.map((s, j) => h("li", {},
    h("span", { class: "swatch", style: `background:${s.color || PALETTE[j % PALETTE.length]}` }), s.name)));
}
