// Console strings. The catalogs are hub/locale/LANG/web.json, served at /i18n/LANG.json; the languages on offer
// (with their own names and writing direction) at /i18n/languages.json. A translator adds a language by adding a
// catalog: nothing here changes. The choice is kept in localStorage.

const KEY = "hubconsole.lang";

async function getJson(url) {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

/** {code: {name, dir}} for every language with a catalog, English first. */
export const LANGUAGES = await getJson("/i18n/languages.json");
/** {code: name}, kept for the modules that list languages by name. */
export const LANGS = Object.fromEntries(Object.entries(LANGUAGES).map(([k, v]) => [k, v.name]));

function pick() {
  let stored = null;
  try { stored = localStorage.getItem(KEY); } catch { /* storage disabled */ }
  const wanted = [stored, ...(navigator.languages || [navigator.language])];
  for (const l of wanted) {
    const base = (l || "").slice(0, 2).toLowerCase();
    if (LANGUAGES[base]) return base;
  }
  return "en";
}

let current = pick();
// The served catalog already has English under any missing key; English is kept apart only for t()'s fallback.
const [en, dict] = await Promise.all([getJson("/i18n/en.json"), current === "en" ? null : getJson(`/i18n/${current}.json`)]);
const DICT = dict || en;

export const lang = () => current;
/** "rtl" or "ltr" for a language (the current one by default). */
export const dir = (l = current) => LANGUAGES[l]?.dir || "ltr";

/** Keeps the choice; the page reloads to show it (the catalog of a language is fetched once, at start). */
export function setLang(l) {
  if (!LANGUAGES[l]) return;
  current = l;
  try { localStorage.setItem(KEY, l); } catch { /* storage disabled */ }
}

/** The string for `key` with {vars} filled in; English, then `fallback`, then the key when a string is missing. */
export function t(key, vars = {}, fallback) {
  const s = DICT[key] ?? en[key] ?? fallback ?? key;
  return s.replace(/\{(\w+)\}/g, (_, v) => String(vars?.[v] ?? ""));
}

/** Strings a view module brings along ({en: {...}, th: {...}, fa: {...}}), for keys not yet in the catalogs; the
 * catalogs win, so a translator's text is never overridden by a module. New keys belong in hub/locale/LANG/web.json. */
export function addStrings(dicts) {
  for (const [k, v] of Object.entries(dicts.en || {})) if (!(k in en)) en[k] = v;
  if (DICT !== en) for (const [k, v] of Object.entries(dicts[current] || {})) if (!(k in DICT)) DICT[k] = v;
}
