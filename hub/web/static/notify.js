// Desktop notifications (the browser's Notification API), asked for with a button: browsers grant the permission
// only from a user's click. Used for tickets newly assigned to this agent and for @mentions.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const supported = () => typeof Notification === "function";
const OFF = "hubconsole.desktop"; // "off": the agent switched them off here while the browser still allows them

export class DesktopAlerts {
  constructor(isMuted) {
    this.isMuted = isMuted;
    this.button = h("button", { type: "button", class: "secondary notify-toggle", onclick: () => this.ask() });
    this.draw();
    // A change made in the browser's site settings shows at once.
    navigator.permissions?.query({ name: "notifications" }).then((status) => { status.onchange = () => this.draw(); }).catch(() => {});
  }

  get switchedOff() { try { return localStorage.getItem(OFF) === "off"; } catch { return false; } }

  get allowed() { return supported() && Notification.permission === "granted" && !this.switchedOff; }

  draw() {
    const b = this.button;
    b.hidden = !supported();
    if (!supported()) return;
    const p = Notification.permission;
    b.textContent = p !== "granted" ? t("notify.enable") : this.switchedOff ? t("notify.off") : t("notify.on");
    b.disabled = p === "denied";
    b.title = p === "denied" ? t("notify.blocked") : "";
    b.setAttribute("aria-pressed", String(this.allowed));
  }

  /** Asks the browser the first time; once allowed, the button switches the alerts off and on for this console. */
  async ask() {
    if (!supported()) return;
    if (Notification.permission === "granted") {
      try { localStorage.setItem(OFF, this.switchedOff ? "" : "off"); } catch { /* storage disabled */ }
    } else {
      try { localStorage.removeItem(OFF); await Notification.requestPermission(); } catch { /* an old callback-only browser */ }
    }
    this.draw();
  }

  /** Shows one notification; `tag` replaces an earlier one about the same thing; clicking focuses the console. */
  show(title, body, tag, onclick) {
    if (!this.allowed || this.isMuted()) return null;
    try {
      const n = new Notification(title, { body: body || "", tag, lang: document.documentElement.lang, dir: document.documentElement.dir });
      n.onclick = () => { window.focus(); onclick?.(); n.close(); };
      return n;
    } catch {
      return null; // e.g. a mobile browser that only notifies from a service worker
    }
  }
}
