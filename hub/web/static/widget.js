/* Embeddable chat widget: <script src="https://HUB/widget.js" defer></script> adds a launcher and a chat panel.
 * Optional attributes on the tag: data-lang="en|th|fa", data-open="true", data-color="#1d4ed8",
 * data-position="right|left", data-title="...", data-greeting="..." (else the hub's channels.webchat settings).
 * The hub's address comes from this script's own src, so the widget works on any allowed site. Everything the
 * server or the visitor wrote is inserted with textContent: no HTML from data ever reaches the DOM. */
(() => {
  "use strict";
  const me = document.currentScript;
  if (!me || window.__hubChatLoaded) return;
  window.__hubChatLoaded = true;
  const ORIGIN = new URL(me.src, location.href).origin;
  const WS_URL = ORIGIN.replace(/^http/, "ws") + "/ws/chat";
  const KEY = "hubchat:" + ORIGIN + ":";
  const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

  // Filled in by the hub when it serves this file, from hub/locale/LANG/web.json ("widget." keys):
  // {"strings": {lang: {key: text}}, "languages": {lang: {"name", "dir"}}}.
  const I18N = "@@HUB_I18N@@";
  const STRINGS = I18N.strings;
  const LANG_NAMES = Object.fromEntries(Object.entries(I18N.languages).map(([k, v]) => [k, v.name]));
  const RTL = new Set(Object.keys(I18N.languages).filter((k) => I18N.languages[k].dir === "rtl"));
  // The hub's widget settings (channels.webchat), each overridable on the script tag.
  const SETTINGS = I18N.settings || {};
  const COLOR = /^#[0-9a-f]{6}$/i.test(me.dataset.color || "") ? me.dataset.color : (SETTINGS.color || "#1d4ed8");
  const POSITION = (me.dataset.position || SETTINGS.position) === "left" ? "left" : "right";
  const perLang = (table) => (table && typeof table === "object" ? table[lang] || table.en || "" : "");

  const store = {
    get: (k) => { try { return localStorage.getItem(KEY + k); } catch { return null; } },
    set: (k, v) => { try { v == null ? localStorage.removeItem(KEY + k) : localStorage.setItem(KEY + k, v); } catch { /* private mode */ } },
  };
  function pickLang() {
    const wanted = [me.dataset.lang, store.get("lang"), ...(navigator.languages || [navigator.language])];
    for (const l of wanted) {
      const base = (l || "").slice(0, 2).toLowerCase();
      if (STRINGS[base]) return base;
    }
    return "en";
  }
  let lang = pickLang();
  const t = (k, vars = {}) => (STRINGS[lang][k] || STRINGS.en[k]).replace(/\{(\w+)\}/g, (_, v) => String(vars[v] ?? ""));

  /** Builds an element; text children become text nodes, so nothing is ever parsed as HTML. */
  function h(tag, attrs = {}, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) if (kid != null) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return el;
  }

  /** A speech-bubble icon drawn as SVG: emoji fonts are not installed everywhere. */
  function bubbleIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "launcher-icon");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.append(path);
    return svg;
  }

  // ---- DOM ----------------------------------------------------------------------------------------------
  const host = h("div", { id: "hubchat-host", "data-position": POSITION });
  host.style.setProperty("--hub-accent", COLOR);
  const root = host.attachShadow({ mode: "open" });
  const ui = {};
  ui.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  ui.launcher = h("button", { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "hubchat-panel", onclick: () => toggle() },
    bubbleIcon(), ui.badge);
  ui.title = h("h2", { id: "hubchat-title" });
  ui.langSel = h("select", { class: "lang", onchange: (e) => setLang(e.target.value, true) },
    Object.entries(LANG_NAMES).map(([v, n]) => h("option", { value: v, lang: v, text: n })));
  ui.closeBtn = h("button", { class: "close", type: "button", onclick: () => toggle(false) }, h("span", { "aria-hidden": "true", text: "×" }));
  ui.status = h("p", { class: "status", role: "status" });
  ui.name = h("input", { id: "hubchat-name", name: "name", autocomplete: "name", maxlength: 200, dir: "auto" });
  ui.email = h("input", { id: "hubchat-email", name: "email", type: "email", autocomplete: "email", maxlength: 200 });
  ui.nameLabel = h("label", { for: "hubchat-name" });
  ui.emailLabel = h("label", { for: "hubchat-email" });
  ui.saveBtn = h("button", { type: "submit", class: "secondary" });
  ui.detailsSummary = h("summary");
  ui.details = h("details", { class: "details" }, ui.detailsSummary,
    h("form", { onsubmit: saveDetails }, ui.nameLabel, ui.name, ui.emailLabel, ui.email, ui.saveBtn));
  ui.log = h("ol", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
  ui.typing = h("p", { class: "typing", hidden: true, "aria-live": "polite" });
  ui.talkBtn = h("button", { type: "button", class: "secondary talk", onclick: () => send(t("handoff")) });
  ui.cbBtn = h("button", { type: "button", class: "secondary callback", "aria-expanded": "false", hidden: SETTINGS.callback === false,
    onclick: () => showCallback(true) });
  ui.input = h("textarea", { id: "hubchat-input", rows: 2, dir: "auto", maxlength: 10000, "aria-describedby": "hubchat-length",
    oninput: () => { typed(); checkLength(); }, onkeydown: composeKey });
  ui.lengthHint = h("p", { id: "hubchat-length", class: "length-hint", role: "status", hidden: true });
  ui.inputLabel = h("label", { for: "hubchat-input", class: "sr-only" });
  ui.sendBtn = h("button", { type: "submit", class: "primary send" });
  ui.compose = h("form", { class: "compose", onsubmit: (e) => { e.preventDefault(); submitCompose(); } }, ui.inputLabel, ui.input, ui.sendBtn);
  ui.callback = buildCallbackForm();
  ui.panel = h("section", { class: "panel", id: "hubchat-panel", role: "dialog", "aria-labelledby": "hubchat-title", hidden: true, onkeydown: panelKey },
    h("header", {}, ui.title, ui.langSel, ui.closeBtn), ui.status, ui.details, ui.log, ui.typing,
    h("div", { class: "actions" }, ui.talkBtn, ui.cbBtn), ui.callback, ui.lengthHint, ui.compose);
  root.append(h("link", { rel: "stylesheet", href: ORIGIN + "/static/widget.css" }), ui.panel, ui.launcher);

  function buildCallbackForm() {
    const f = h("form", { class: "callback-form", hidden: true, onsubmit: bookCallback });
    f.cbname = h("input", { id: "hubchat-cbname", name: "name", autocomplete: "name", required: true, maxlength: 200, dir: "auto" });
    f.phone = h("input", { id: "hubchat-phone", name: "phone", type: "tel", autocomplete: "tel", required: true, maxlength: 40, dir: "ltr" });
    f.date = h("input", { id: "hubchat-date", name: "date", type: "date", required: true, onchange: loadSlots });
    // Not `f.slot`: that is every element's slot attribute.
    f.slotSelect = h("select", { id: "hubchat-slot", name: "slot", required: true });
    f.topic = h("input", { id: "hubchat-topic", name: "topic", maxlength: 500, dir: "auto" });
    f.error = h("p", { class: "error", role: "alert" });
    f.note = h("p", { class: "note", role: "status" });
    f.labels = ["cbname", "phone", "date", "slot", "topic"].map((n) => h("label", { for: "hubchat-" + n, "data-key": n }));
    f.book = h("button", { type: "submit", class: "primary" });
    f.cancel = h("button", { type: "button", class: "secondary", onclick: () => showCallback(false) });
    f.append(f.labels[0], f.cbname, f.labels[1], f.phone, f.labels[2], f.date, f.note, f.labels[3], f.slotSelect, f.labels[4], f.topic, f.error, h("div", { class: "row" }, f.book, f.cancel));
    return f;
  }

  function applyLang() {
    ui.panel.setAttribute("lang", lang);
    ui.panel.setAttribute("dir", RTL.has(lang) ? "rtl" : "ltr");
    ui.langSel.value = lang;
    ui.langSel.setAttribute("aria-label", t("language"));
    ui.title.textContent = me.dataset.title || perLang(SETTINGS.title) || t("title");
    renderIntro();
    ui.closeBtn.setAttribute("aria-label", t("close"));
    ui.launcher.setAttribute("aria-label", t("open"));
    ui.detailsSummary.textContent = t("details");
    ui.nameLabel.textContent = t("name");
    ui.emailLabel.textContent = t("email");
    ui.saveBtn.textContent = t("save");
    ui.inputLabel.textContent = t("message");
    ui.input.setAttribute("placeholder", t("message"));
    ui.sendBtn.textContent = t("send");
    ui.talkBtn.textContent = t("talk");
    ui.cbBtn.textContent = t("callback");
    ui.typing.textContent = t("typing");
    const cb = ui.callback;
    cb.labels.forEach((l) => { l.textContent = t(l.dataset.key, { tz: TZ }); });
    cb.book.textContent = t("book");
    cb.cancel.textContent = t("cancel");
    for (const li of ui.log.children) li.refresh?.();
    renderStatus();
  }
  /** The greeting (for a new conversation) and, outside business hours, when the team is back: shown on this
   * page only, never stored; the texts come from the hub's settings or the script tag. */
  let intro = null, backAt = null;
  function renderIntro() {
    if (!intro) return;
    const lines = [];
    const greeting = me.dataset.greeting || perLang(SETTINGS.greeting);
    if (intro.greet && greeting) lines.push(greeting);
    if (backAt && !isNaN(backAt)) {
      const when = new Intl.DateTimeFormat(lang, { weekday: "long", hour: "2-digit", minute: "2-digit", timeZone: TZ }).format(backAt);
      const away = perLang(SETTINGS.away);
      if (away) lines.push(away.replace("{when}", when));
    }
    intro.li.hidden = lines.length === 0;
    intro.text.textContent = lines.join("\n\n");
  }
  function showIntro(greet) {
    if (!intro) {
      const text = h("p", { class: "text", dir: "auto" });
      const li = h("li", { class: "msg from-bot intro" }, h("div", { class: "meta" }, h("bdi", { text: t("bot") })), text);
      intro = { li, text, greet };
      ui.log.prepend(li);
    }
    intro.greet = intro.greet || greet;
    renderIntro();
  }

  function setLang(l, chosen) {
    if (!STRINGS[l]) return;
    lang = l;
    if (chosen) store.set("lang", l);
    applyLang();
    // The language travels in the hello frame (it picks the bot's and the agents' language): greet again.
    if (chosen && ws) { const old = ws; ws = null; old.onclose = null; old.close(); connect(); }
  }

  // ---- state and socket ---------------------------------------------------------------------------------
  let ws = null, state = "idle", attempt = 0, retryAt = 0, retryTimer = null, lastTyping = 0, typingTimer = null, unread = 0, counter = 0;
  const shown = new Map(); // message id or client id -> list item
  const pending = new Map(); // client id -> {text, payload}: resent after a reconnect (the server dedupes on client id)
  // What the server accepts (sent in its welcome; these are its defaults). A frame is measured in UTF-8 bytes, as
  // the server measures it: 6,000 Thai characters are 18 KB.
  const limits = { max_frame: 16384, max_text: 10000 };
  const encoder = new TextEncoder();
  const frameOf = (cid, text, payload) => JSON.stringify({ type: "message", client_id: cid, text, ...(payload ? { payload } : {}) });
  const fits = (text, payload = null) => encoder.encode(frameOf("w00000000-0000-000000", text, payload)).length <= limits.max_frame && text.length <= limits.max_text;
  let inflight = new Set(); // client ids written to the current socket and not acknowledged yet
  ui.name.value = store.get("name") || "";
  ui.email.value = store.get("email") || "";

  function connect() {
    if (ws && ws.readyState <= 1) return;
    clearTimeout(retryTimer);
    state = "connecting";
    renderStatus();
    let sock;
    try { sock = new WebSocket(WS_URL); } catch { return scheduleRetry(); }
    ws = sock;
    sock.onopen = () => {
      const hello = { type: "hello", lang };
      const tok = store.get("token");
      if (tok) hello.visitor_token = tok;
      if (ui.name.value.trim()) hello.name = ui.name.value.trim();
      if (ui.email.value.trim()) hello.email = ui.email.value.trim();
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (ev) => { let f; try { f = JSON.parse(ev.data); } catch { return; } if (f && typeof f === "object") onFrame(f); };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      // 1009: a frame was too big for the server. Whatever was in flight and does not fit is refused here, for good,
      // so it is never resent and never holds up the messages after it.
      if (ev.code === 1009) {
        const big = [...inflight].filter((cid) => pending.has(cid) && !fits(pending.get(cid).text, pending.get(cid).payload));
        (big.length ? big : [...inflight].slice(-1)).forEach(refuse);
      }
      inflight = new Set();
      scheduleRetry();
    };
  }
  function scheduleRetry() {
    state = "offline";
    // Exponential backoff with jitter so a restarted server is not hit by every visitor at once.
    const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt = Math.min(attempt + 1, 6);
    retryAt = Date.now() + delay;
    retryTimer = setTimeout(connect, delay);
    renderStatus();
  }
  function renderStatus() {
    const s = ui.status;
    s.className = "status " + state;
    if (state === "online") s.textContent = t("online");
    else if (state === "offline") s.textContent = navigator.onLine === false ? t("offlineNow") : t("offline", { s: Math.max(1, Math.ceil((retryAt - Date.now()) / 1000)) });
    else s.textContent = t("connecting");
    ui.panel.classList.toggle("is-offline", state === "offline");
  }
  setInterval(() => { if (state === "offline") renderStatus(); }, 1000);
  window.addEventListener("online", () => { attempt = 0; connect(); });
  window.addEventListener("offline", renderStatus);

  function onFrame(f) {
    if (f.type === "welcome") {
      if (typeof f.visitor_token === "string") store.set("token", f.visitor_token);
      state = "online";
      attempt = 0;
      renderStatus();
      const history = Array.isArray(f.history) ? f.history : [];
      for (const m of history) addMessage(m, false);
      backAt = f.open === false && typeof f.back_at === "string" ? new Date(f.back_at) : null;
      showIntro(history.length === 0 && !shown.size);
      if (f.limits && typeof f.limits === "object") {
        for (const k of ["max_frame", "max_text"]) if (Number(f.limits[k]) > 0) limits[k] = Number(f.limits[k]);
        checkLength();
      }
      inflight = new Set();
      for (const [cid, p] of pending) {
        if (!fits(p.text, p.payload)) { refuse(cid); continue; }
        ws.send(frameOf(cid, p.text, p.payload));
        inflight.add(cid);
      }
    } else if (f.type === "ack") {
      const li = shown.get(f.client_id);
      pending.delete(f.client_id);
      inflight.delete(f.client_id);
      if (li) { li.state = "delivered"; if (f.message_id) shown.set(f.message_id, li); li.refresh(); }
    } else if (f.type === "message") {
      ui.typing.hidden = true;
      addMessage(f, true);
    } else if (f.type === "typing") {
      ui.typing.hidden = false;
      ui.talkBtn.hidden = true; // an agent is in the conversation
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { ui.typing.hidden = true; }, 6000);
    } else if (f.type === "error" && f.client_id) {
      const li = shown.get(f.client_id);
      pending.delete(f.client_id);
      inflight.delete(f.client_id);
      if (li) { li.state = "failed"; li.errorText = String(f.detail || ""); li.refresh(); }
    }
  }

  function fmtTime(iso) {
    const d = iso ? new Date(iso) : new Date();
    if (isNaN(d)) return "";
    const sameDay = d.toDateString() === new Date().toDateString();
    return new Intl.DateTimeFormat(lang, sameDay ? { hour: "2-digit", minute: "2-digit" } : { dateStyle: "short", timeStyle: "short" }).format(d);
  }

  /** Text with its http(s) addresses as links (text nodes and anchors only: nothing is parsed as HTML). */
  function linkify(text) {
    const out = [];
    let last = 0;
    for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
      let url = match[0].replace(/[.,;:!?)\]»،]+$/, "");
      out.push(text.slice(last, match.index));
      out.push(h("a", { href: url, target: "_blank", rel: "noopener noreferrer", dir: "ltr", text: url }));
      last = match.index + url.length;
    }
    out.push(text.slice(last));
    return out.filter((x) => x !== "");
  }

  /** One message bubble. `m` is a server message (history or live) or a local one {client_id, text, mine}. */
  function addMessage(m, live) {
    const key = m.id ?? m.client_id;
    if (key != null && shown.has(key)) return shown.get(key);
    const mine = m.mine || m.direction === "in" || m.author === "customer";
    const author = mine ? "customer" : (["bot", "agent", "system"].includes(m.author) ? m.author : "system");
    if (author === "agent") ui.talkBtn.hidden = true; // a person is here: no need to ask for one
    const who = h("span", { class: "who" }), when = h("time", { datetime: m.created_at || new Date().toISOString() });
    const stateEl = h("span", { class: "state" });
    const text = h("p", { class: "text", dir: "auto" }, ...linkify(String(m.text ?? "")));
    const li = h("li", { class: "msg from-" + author }, h("div", { class: "meta" }, h("bdi", {}, who), " · ", when), text);
    if (mine) li.append(stateEl);
    li.state = m.state || (mine ? (m.id ? "delivered" : "sending") : null);
    li.refresh = () => {
      who.textContent = author === "customer" ? t("you") : (m.name && author === "agent" ? m.name : t(author));
      when.textContent = fmtTime(m.created_at);
      stateEl.textContent = li.state ? t(li.state) + (li.state === "failed" && li.errorText ? ": " + li.errorText : "") : "";
      stateEl.className = "state " + (li.state || "");
      li.classList.toggle("failed", li.state === "failed");
      if (li.state === "failed" && li.tooLong && !li.querySelector(".retry")) {
        // Sending it again would fail again: give the text back to be split.
        li.append(h("button", { type: "button", class: "link retry", onclick: () => {
          li.remove(); shown.delete(m.client_id); ui.input.value = m.text; checkLength(); ui.input.focus();
        }, text: t("edit") }));
      } else if (li.state === "failed" && !li.querySelector(".retry")) {
        li.append(h("button", { type: "button", class: "link retry", onclick: () => { li.remove(); shown.delete(m.client_id); send(m.text, m.payload); }, text: t("retry") }));
      }
    };
    if (Array.isArray(m.buttons) && m.buttons.length) {
      const box = h("div", { class: "buttons", role: "group" });
      for (const b of m.buttons) {
        if (!b || typeof b.label !== "string") continue;
        box.append(h("button", { type: "button", class: "choice", text: b.label, onclick: () => {
          for (const x of box.querySelectorAll("button")) x.disabled = true;
          send(b.label, typeof b.payload === "string" ? b.payload : null);
        } }));
      }
      li.append(box);
    }
    li.refresh();
    if (key != null) shown.set(key, li);
    ui.log.append(li);
    ui.log.scrollTop = ui.log.scrollHeight;
    if (live && ui.panel.hidden) { unread += 1; renderBadge(); }
    return li;
  }
  function renderBadge() {
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = unread > 9 ? "9+" : String(unread);
    ui.launcher.setAttribute("aria-label", unread ? t("open") + " — " + t("newMessages", { n: unread }) : t("open"));
  }

  function send(text, payload = null) {
    text = String(text || "").trim();
    if (!text) return;
    const cid = "w" + Date.now().toString(36) + "-" + (++counter) + "-" + Math.random().toString(36).slice(2, 8);
    addMessage({ client_id: cid, text, mine: true, payload, created_at: new Date().toISOString() }, false);
    if (!fits(text, payload)) { refuse(cid); return; }
    pending.set(cid, { text, payload });
    if (ws && ws.readyState === 1 && state === "online") {
      ws.send(frameOf(cid, text, payload));
      inflight.add(cid);
    } else {
      connect();
    }
  }
  /** A message the server would refuse: shown as not sent, with why; never queued, so it blocks nothing. */
  function refuse(cid) {
    pending.delete(cid);
    inflight.delete(cid);
    const li = shown.get(cid);
    if (li) { li.state = "failed"; li.tooLong = true; li.errorText = t("tooLongShort"); li.refresh(); }
  }
  /** Says, while the visitor types, that the text is too long to send (in the server's own measure). */
  function checkLength() {
    const text = ui.input.value;
    const over = text.trim() !== "" && !fits(text.trim());
    ui.lengthHint.hidden = !over;
    if (over) {
      const used = encoder.encode(text.trim()).length, max = limits.max_frame;
      ui.lengthHint.textContent = t("tooLong", { percent: new Intl.NumberFormat(lang).format(Math.ceil((used / max) * 100)) });
    }
    ui.sendBtn.disabled = over;
    ui.input.setAttribute("aria-invalid", String(over));
  }
  function submitCompose() {
    const text = ui.input.value;
    if (!text.trim()) return;
    if (!fits(text.trim())) { checkLength(); return; }
    send(text);
    lastTyping = 0; // the next keystroke starts a new typing spell
    ui.input.value = "";
    checkLength();
    ui.input.focus();
  }
  function composeKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitCompose(); }
  }
  function typed() {
    const now = Date.now();
    if (ws && ws.readyState === 1 && state === "online" && now - lastTyping > 3000) {
      lastTyping = now;
      ws.send(JSON.stringify({ type: "typing" }));
    }
  }
  function saveDetails(e) {
    e.preventDefault();
    store.set("name", ui.name.value.trim() || null);
    store.set("email", ui.email.value.trim() || null);
    ui.details.open = false;
    // Name and email travel in the hello frame, so say hello again with them.
    if (ws) { const old = ws; ws = null; old.onclose = null; old.close(); }
    connect();
  }

  function toggle(open = ui.panel.hidden) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    host.classList.toggle("open", open);
    if (open) {
      unread = 0;
      renderBadge();
      connect();
      ui.log.scrollTop = ui.log.scrollHeight;
      ui.input.focus();
    } else {
      ui.launcher.focus();
    }
  }
  function panelKey(e) {
    if (e.key === "Escape") { e.stopPropagation(); ui.callback.hidden ? toggle(false) : showCallback(false); }
  }

  // ---- call me back ------------------------------------------------------------------------------------
  let slots = [];
  function showCallback(open) {
    const f = ui.callback;
    f.hidden = !open;
    ui.cbBtn.setAttribute("aria-expanded", String(open));
    ui.compose.hidden = open;
    if (open) {
      if (!f.date.value) { const d = new Date(); f.date.value = localDate(d); f.date.min = localDate(d); }
      if (!f.cbname.value) f.cbname.value = ui.name.value;
      f.error.textContent = "";
      // One key per opened form: a double submit or a retried request books once.
      f.requestId = "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
      loadSlots();
      (f.cbname.value ? f.phone : f.cbname).focus();
    } else {
      ui.cbBtn.focus();
    }
  }
  function localDate(d) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  }
  function slotLabel(s) {
    const f = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: TZ });
    return f.format(new Date(s.start)) + " – " + f.format(new Date(s.end));
  }
  async function loadSlots() {
    const f = ui.callback;
    f.slotSelect.replaceChildren(h("option", { value: "", text: t("loadingSlots") }));
    f.error.textContent = "";
    f.note.textContent = "";
    try {
      // next=true: after hours or on a full day the server moves on to the next day with a free time.
      const asked = f.date.value;
      const r = await fetch(ORIGIN + "/api/callbacks/slots?next=true&date=" + encodeURIComponent(asked) + "&tz=" + encodeURIComponent(TZ));
      if (!r.ok) throw new Error(r.status === 404 ? t("cbUnavailable") : await errorText(r));
      const body = await r.json();
      slots = Array.isArray(body.items) ? body.items : [];
      if (typeof body.date === "string" && body.date !== asked) {
        f.date.value = body.date;
        const day = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" }).format(new Date(body.date + "T12:00:00Z"));
        f.note.textContent = t("movedDay", { day });
      }
    } catch (err) {
      slots = [];
      f.error.textContent = err instanceof TypeError ? t("cbUnavailable") : String(err.message || err);
    }
    const free = slots.filter(isFree);
    f.slotSelect.replaceChildren(...(free.length ? [] : [h("option", { value: "", text: t("noSlots") })]),
      ...slots.map((s, i) => h("option", { value: String(i), disabled: !isFree(s), text: slotLabel(s) })));
    const first = slots.findIndex(isFree);
    if (first >= 0) f.slotSelect.value = String(first);
  }
  // `available` is the number of free places (or a flag); a slot without the field is offered.
  const isFree = (s) => s.available == null || s.available === true || Number(s.available) > 0;
  async function errorText(r) {
    try { const b = await r.json(); return (b.error && (b.error.message || b.error.detail || b.error.code)) || String(r.status); } catch { return String(r.status); }
  }
  async function bookCallback(e) {
    e.preventDefault();
    const f = ui.callback, s = slots[Number(f.slotSelect.value)];
    if (!s || f.slotSelect.value === "") { f.error.textContent = t("noSlots"); return; }
    const body = { name: f.cbname.value.trim(), phone: f.phone.value.trim(), window_start: s.start, window_end: s.end, tz: TZ, lang, request_id: f.requestId };
    if (f.topic.value.trim()) body.topic = f.topic.value.trim();
    const tok = store.get("token");
    if (tok) body.visitor_token = tok;
    f.book.disabled = true;
    try {
      const r = await fetch(ORIGIN + "/api/callbacks", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (!r.ok) {
        if (r.status === 409) loadSlots(); // the slot filled up meanwhile: offer what is left
        throw new Error(r.status === 404 ? t("cbUnavailable") : await errorText(r));
      }
      const booked = await r.json();
      // Booked from a chat, the hub confirms in the chat itself (with the manage link): one confirmation, not two.
      if (!tok) {
        const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short", timeZone: TZ }).format(new Date(s.start));
        addMessage({ author: "system", text: t("booked", { phone: booked.phone_masked || "", when }), created_at: new Date().toISOString() }, false);
      }
      f.phone.value = f.topic.value = "";
      showCallback(false);
    } catch (err) {
      f.error.textContent = err instanceof TypeError ? t("cbUnavailable") : String(err.message || err);
    } finally {
      f.book.disabled = false;
    }
  }

  applyLang();
  const mount = () => {
    document.body.append(host);
    if (store.get("token")) connect(); // a returning visitor gets history and replies even before opening
    if (me.dataset.open === "true") toggle(true);
  };
  document.body ? mount() : document.addEventListener("DOMContentLoaded", mount);
})();
