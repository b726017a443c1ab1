// What agents read for the values on chips and in choices: status, kind, department and language in the
// console's language. Department names come from config (`departments[].label`), languages from the browser.
import { t, lang } from "./i18n.js";

export const KINDS = ["question", "complaint", "sales", "callback", "feedback"];

const departments = new Map(); // name -> {th: "...", fa: "..."}

/** Remembers the configured departments (GET /api/departments) with their names per language. */
export function setDepartments(items) {
  departments.clear();
  for (const d of items || []) departments.set(d.name, d.label || {});
}

export const departmentNames = () => [...departments.keys()];

export function departmentLabel(name) {
  if (!name) return "";
  return departments.get(name)?.[lang()] || name;
}

export const kindLabel = (kind) => (kind ? t("kind." + kind, {}, kind) : "");
export const statusLabel = (status) => t("status." + status, {}, status);

let names = null;
/** "th" as "Thai" / "ไทย" / "تایلندی", in the console's own language. */
export function languageLabel(code) {
  if (!code) return "";
  try {
    names ||= new Intl.DisplayNames([lang()], { type: "language" });
    const n = names.of(code);
    return n && n !== code ? n : code;
  } catch {
    return code;
  }
}

let digits = null;
/** A count or an id in the console's own digits (Persian digits in Persian), never grouped: "#۱۲۳". */
export function num(n) {
  try {
    digits ||= new Intl.NumberFormat(lang(), { useGrouping: false });
    return digits.format(n);
  } catch {
    return String(n);
  }
}
