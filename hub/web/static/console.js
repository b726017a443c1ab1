// Agent console entry: login, the app shell (tabs, presence, language, notifications) and live event routing.
import { h } from "./dom.js";
import { makeApi, Live } from "./api.js";
import { t, lang, dir, setLang, LANGS } from "./i18n.js";
import { Queue } from "./queue.js";
import { TicketView } from "./ticket.js";
import { Callbacks } from "./callbacks.js";
import { AgentsView } from "./agents_view.js";
import { CannedView } from "./canned_view.js";
import { ReportsView } from "./reports_view.js";
import { WinbackView } from "./feedback_view.js";
import { WebhooksView } from "./webhooks_view.js";
import { AuditView } from "./privacy_view.js";
import { Mentions } from "./mentions.js";
import { DesktopAlerts } from "./notify.js";
import { installKeys } from "./keys.js";
import { num, setDepartments } from "./labels.js";

const TOKEN = "hubconsole.token";
const PRESENCE = "hubconsole.presence";
const MUTED = "hubconsole.muted";
const root = document.getElementById("app");

const app = {
  token: localStorage.getItem(TOKEN),
  me: null,
  agents: new Map(),
  live: null,
  assignee: new Map(), // ticket id -> assignee id last seen: tells a new assignment from a repeat
  selfClaims: new Set(), // tickets this agent claimed here: no alert for its own action
  unseen: new Set(), // newly assigned to me and not opened yet
  departments: new Set(),
};
app.api = makeApi(() => app.token, () => logout());
app.agentName = (id) => (id == null ? "" : app.agents.get(id)?.name || "#" + id);
app.remember = (tk) => { if (tk?.department) app.departments.add(tk.department); };

document.documentElement.lang = lang();
document.documentElement.dir = dir();

function loginView() {
  const email = h("input", { id: "login-email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", text: t("login.submit") });
  const form = h("form", { class: "login", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const r = await app.api("POST", "/api/auth/login", { email: email.value, password: password.value });
      app.token = r.token;
      localStorage.setItem(TOKEN, r.token);
      unlockAudio();
      await start();
    } catch (err) {
      error.textContent = err.status === 401 ? t("login.wrong") : err.message;
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", { text: t("app.title") }), langPicker(),
  h("label", { for: "login-email", text: t("login.email") }), email,
  h("label", { for: "login-password", text: t("login.password") }), password, error, submit);
  setTimeout(() => email.focus());
  return h("main", { class: "login-page" }, form);
}

function langPicker() {
  const sel = h("select", { id: "lang", "aria-label": t("app.language"), onchange: () => { setLang(sel.value); location.reload(); } },
    Object.entries(LANGS).map(([v, n]) => h("option", { value: v, lang: v, text: n })));
  sel.value = lang();
  return sel;
}

function logout() {
  if (app.token) app.api("POST", "/api/auth/logout").catch(() => {});
  app.token = null;
  localStorage.removeItem(TOKEN);
  app.live?.stop();
  app.live = null;
  root.replaceChildren(loginView());
}

async function start() {
  try {
    app.me = await app.api("GET", "/api/me");
    const [agents, depts] = await Promise.all([app.api("GET", "/api/agents"), app.api("GET", "/api/departments")]);
    for (const a of agents.items) { app.agents.set(a.id, a); for (const d of a.departments || []) app.departments.add(d); }
    setDepartments(depts.items);
  } catch (err) {
    if (err.status === 401) return logout();
    root.replaceChildren(h("p", { class: "error", role: "alert", text: err.message }));
    return;
  }
  app.queue = new Queue(app, { open: (id) => { location.hash = "#/ticket/" + id; } });
  app.ticket = new TicketView(app);
  app.callbacks = new Callbacks(app);
  app.mentions = new Mentions(app);
  app.alerts = new DesktopAlerts(() => !!localStorage.getItem(MUTED));
  app.agentsView = isAtLeast("admin") ? new AgentsView(app) : null;
  app.cannedView = isAtLeast("supervisor") ? new CannedView(app) : null;
  app.reportsView = isAtLeast("supervisor") ? new ReportsView(app) : null;
  app.winbackView = isAtLeast("supervisor") ? new WinbackView(app) : null;
  app.webhooksView = isAtLeast("admin") ? new WebhooksView(app) : null;
  app.auditView = isAtLeast("admin") ? new AuditView(app) : null;
  root.replaceChildren(shell());
  app.live = new Live(app.token, { onEvent, onState, onOpen: resync, onRejected: () => app.api("GET", "/api/me").catch(() => {}) });
  app.live.start();
  await app.queue.load();
  route();
  app.callbacks.load(); // fills the tab's due badge
  app.mentions.load();
}

const RANKS = { agent: 0, supervisor: 1, admin: 2 };
const isAtLeast = (role) => (RANKS[app.me?.role] ?? -1) >= RANKS[role];

function shell() {
  app.liveState = h("span", { class: "live offline", role: "status", text: t("live.offline") });
  app.queueBadge = h("span", { class: "badge", hidden: true });
  app.cbBadge = h("span", { class: "badge", hidden: true });
  app.tabQueue = h("a", { href: "#/", class: "tab" }, t("tab.queue"), " ", app.queueBadge);
  app.tabCallbacks = h("a", { href: "#/callbacks", class: "tab" }, t("tab.callbacks"), " ", app.cbBadge);
  app.tabCanned = app.cannedView && h("a", { href: "#/canned", class: "tab" }, t("tab.canned"));
  app.tabAgents = app.agentsView && h("a", { href: "#/agents", class: "tab" }, t("tab.agents"));
  app.tabReports = app.reportsView && h("a", { href: "#/reports", class: "tab" }, t("tab.reports"));
  app.tabWinback = app.winbackView && h("a", { href: "#/winback", class: "tab" }, t("tab.winback"));
  app.tabWebhooks = app.webhooksView && h("a", { href: "#/webhooks", class: "tab" }, t("tab.webhooks"));
  app.tabAudit = app.auditView && h("a", { href: "#/audit", class: "tab" }, t("tab.audit"));
  const presence = h("select", { id: "presence", onchange: () => {
    localStorage.setItem(PRESENCE, presence.value);
    app.live?.send({ type: "presence", status: presence.value });
  } }, ["online", "away"].map((s) => h("option", { value: s, text: t("presence." + s) })));
  presence.value = localStorage.getItem(PRESENCE) || "online";
  app.presence = presence;
  const mute = h("input", { id: "mute", type: "checkbox", onchange: () => localStorage.setItem(MUTED, mute.checked ? "1" : "") });
  mute.checked = !!localStorage.getItem(MUTED);
  app.mainPane = h("div", { class: "panes" }, app.queue.el, app.ticket.el);
  return h("div", { class: "shell" },
    h("header", { class: "topbar" },
      h("h1", { text: t("app.title") }),
      h("nav", { "aria-label": t("app.sections") }, app.tabQueue, app.tabCallbacks, app.tabCanned, app.tabAgents, app.tabReports, app.tabWinback, app.tabWebhooks, app.tabAudit),
      h("div", { class: "spacer" }),
      app.liveState, app.mentions.el, app.alerts.button,
      h("label", { for: "presence", class: "inline" }, t("presence.label")), presence,
      h("label", { class: "inline" }, mute, " ", t("app.mute")),
      langPicker(),
      h("bdi", { class: "me", text: app.me.name }),
      h("button", { type: "button", class: "secondary", onclick: logout, text: t("app.logout") })),
    h("main", { id: "main" }, app.mainPane, app.callbacks.el, app.cannedView?.el, app.agentsView?.el, app.reportsView?.el, app.winbackView?.el, app.webhooksView?.el, app.auditView?.el));
}

function route() {
  const m = location.hash.match(/^#\/(ticket|callbacks|canned|agents|reports|webhooks|audit|winback)(?:\/(\d+))?/);
  let tab = m && m[1] !== "ticket" ? m[1] : "queue";
  if ((tab === "canned" && !app.cannedView) || (tab === "agents" && !app.agentsView)) tab = "queue";
  if ((tab === "reports" && !app.reportsView) || (tab === "webhooks" && !app.webhooksView)) tab = "queue";
  if (tab === "audit" && !app.auditView) tab = "queue";
  if (tab === "winback" && !app.winbackView) tab = "queue";
  app.route = tab;
  const views = { queue: [app.mainPane, app.tabQueue], callbacks: [app.callbacks.el, app.tabCallbacks],
    canned: [app.cannedView?.el, app.tabCanned], agents: [app.agentsView?.el, app.tabAgents],
    reports: [app.reportsView?.el, app.tabReports], winback: [app.winbackView?.el, app.tabWinback], webhooks: [app.webhooksView?.el, app.tabWebhooks],
    audit: [app.auditView?.el, app.tabAudit] };
  for (const [name, [view, tabLink]] of Object.entries(views)) {
    if (view) view.hidden = name !== tab;
    tabLink?.setAttribute("aria-current", name === tab ? "page" : "false");
  }
  if (tab === "callbacks") app.callbacks.load();
  if (tab === "canned") app.cannedView.load();
  if (tab === "agents") app.agentsView.load();
  if (tab === "reports" && !app.reportsView.data) app.reportsView.load();
  if (tab === "webhooks") app.webhooksView.load();
  if (tab === "winback") app.winbackView.load();
  if (tab === "audit") app.auditView.load();
  // On a phone the queue and the ticket are two views: the open ticket hides the queue until "back".
  const ticketOpen = tab === "queue" && m && m[1] === "ticket" && !!m[2];
  app.mainPane.classList.toggle("has-ticket", !!ticketOpen);
  if (ticketOpen) {
    const id = Number(m[2]);
    app.unseen.delete(id);
    renderBadges();
    app.ticket.open(id);
    app.queue.select(id);
    app.mentions.seenTicket(id);
  } else if (tab === "queue") {
    app.ticket.close();
    app.queue.select(null);
  }
}
window.addEventListener("hashchange", () => { if (app.me) route(); });

function onState(s) {
  app.liveState.className = "live " + s;
  app.liveState.textContent = t("live." + s);
}

function resync() {
  // Events missed while the socket was down: reload what is on screen, and restore the chosen presence.
  const p = app.presence?.value;
  if (p && p !== "online") app.live.send({ type: "presence", status: p });
  if (app.queue.loaded) app.queue.load();
  if (app.ticket.id) app.ticket.open(app.ticket.id, true);
}

function noticeAssignment(tk) {
  if (!tk || !app.me) return;
  const before = app.assignee.get(tk.id);
  app.assignee.set(tk.id, tk.assignee_id);
  if (tk.assignee_id !== app.me.id || before === app.me.id) return;
  if (app.selfClaims.has(tk.id)) return;
  if (app.ticket.id === tk.id && document.visibilityState === "visible") return;
  app.unseen.add(tk.id);
  renderBadges();
  beep();
  app.alerts.show(t("notify.assignedTitle", { id: tk.id }), tk.subject || "", "assigned-" + tk.id, () => { location.hash = "#/ticket/" + tk.id; });
}

function renderBadges() {
  const n = app.unseen.size;
  app.queueBadge.hidden = n === 0;
  app.queueBadge.textContent = num(n);
  app.queueBadge.setAttribute("aria-label", t("notify.assigned", { n }));
  document.title = (n ? "(" + num(n) + ") " : "") + t("app.title");
}
app.setCallbackBadge = (n) => {
  app.cbBadge.hidden = !n;
  app.cbBadge.textContent = String(n);
  app.cbBadge.setAttribute("aria-label", t("callbacks.dueCount", { n }));
};

function onEvent(f) {
  switch (f.type) {
    case "ticket.created":
    case "ticket.updated":
      app.remember(f.ticket);
      noticeAssignment(f.ticket);
      app.queue.upsert(f.ticket);
      app.ticket.onTicket(f.ticket);
      break;
    case "message.created":
      if (f.ticket) { app.remember(f.ticket); noticeAssignment(f.ticket); app.queue.upsert(f.ticket); app.ticket.onTicket(f.ticket); }
      app.ticket.onMessage(f.message);
      break;
    case "message.updated":
      app.ticket.onMessage(f.message);
      break;
    case "note.created":
      app.ticket.onNote(f.note);
      break;
    case "typing":
      app.ticket.onTyping(f);
      break;
    case "mention":
      if (app.mentions.onEvent(f.mention)) {
        beep();
        const m = f.mention;
        app.alerts.show(t("notify.mentionTitle", { who: app.agentName(m.author_id), id: m.ticket_id }), m.text, "mention-" + m.id,
          () => { location.hash = "#/ticket/" + m.ticket_id; });
      }
      break;
    case "agent.updated": {
      const a = f.agent;
      if (!a) break;
      if (a.active) app.agents.set(a.id, { ...app.agents.get(a.id), ...a });
      else app.agents.delete(a.id);
      if (a.id === app.me?.id && a.role !== app.me.role) location.reload(); // another admin changed this agent's role
      if (app.route === "agents") app.agentsView?.load();
      break;
    }
    case "canned.changed":
      app.ticket.canned.replace(f.canned || { id: f.id }, !f.canned);
      app.cannedView?.draw();
      break;
    case "agent.presence": {
      const a = app.agents.get(f.agent_id);
      if (a) a.presence = f.status;
      break;
    }
    default:
      if (String(f.type).startsWith("callback.")) {
        app.callbacks.onEvent(f);
        if (f.type === "callback.due") beep();
      }
  }
}

// ---- sound: a short WebAudio beep; browsers allow audio only after a user gesture, hence unlockAudio -------
let audio = null;
function unlockAudio() {
  try { audio ||= new AudioContext(); audio.resume?.(); } catch { audio = null; }
}
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });
function beep() {
  app.beeps = (app.beeps || 0) + 1;
  document.body.dataset.beeps = String(app.beeps);
  if (localStorage.getItem(MUTED) || !audio) return;
  try {
    const o = audio.createOscillator(), g = audio.createGain(), now = audio.currentTime;
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, now);
    g.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    o.connect(g).connect(audio.destination);
    o.start(now);
    o.stop(now + 0.4);
  } catch { /* no audio device */ }
}

installKeys(app);
if (app.token) start(); else root.replaceChildren(loginView());
