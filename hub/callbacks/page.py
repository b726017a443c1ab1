"""`/callback`: booking and managing a callback as plain HTML forms that work without JavaScript, in the
customer's language (`?lang=`, the form's own `lang`, then Accept-Language).

Step one asks for the day and time zone (a GET form; the zone is a choice from the real IANA zones), step two lists
that day's free times as radio buttons next to name and phone (a POST form).  A day without a free time moves to
the next day that has one.  `/callback/{id}?t=TOKEN` shows a booking with cancel and reschedule forms.  Every value
written into the page is escaped.
"""
from __future__ import annotations

import html
import uuid
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from aiohttp import web

from hub import dates
from hub.callbacks.api import SERVICE, WORK, booking_limit, parse_date, public_limit
from hub.callbacks.service import CallbackService
from hub.errors import HubError, Invalid, NotFoundError
from hub.i18n import N_, tr
from hub.services import HUB
from hub.web.http import int_arg, read_form_or_json
from hub.web.pages import customer_message, error_block, lang_of, page

routes = web.RouteTableDef()
e = html.escape
STATUS = {
    "scheduled": N_("booked"), "due": N_("booked"), "claimed": N_("an agent is calling you"),
    "done": N_("done"), "cancelled": N_("cancelled"), "unreachable": N_("we could not reach you"),
}


@lru_cache(maxsize=1)
def zones() -> tuple[str, ...]:
    """The IANA zones a person would pick ("Asia/Bangkok"), without the legacy aliases ("US/Pacific", "Etc/GMT+7")."""
    areas = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")
    return tuple(sorted(z for z in available_timezones() if z.startswith(areas))) + ("UTC",)


def _zone(raw: str | None, default: str) -> tuple[ZoneInfo, bool]:
    """(zone, whether the asked one was taken): a zone not on the list falls back to the business zone."""
    if raw and raw in zones():
        return ZoneInfo(raw), True
    return ZoneInfo(default), not raw


@lru_cache(maxsize=8)
def _zone_options(selected: str) -> str:
    return "".join(f'<option value="{z}"{" selected" if z == selected else ""}>{z.replace("_", " ")}</option>' for z in zones())


def _day_form(lang: str, action: str, day: date, tz: str, hidden: dict[str, str]) -> str:
    keep = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v, quote=True)}">' for k, v in hidden.items())
    return (
        f'<form method="get" action="{e(action, quote=True)}" class="day">{keep}<input type="hidden" name="lang" value="{lang}">'
        f'<label>{e(tr(lang, "Day"))} <input type="date" name="date" value="{day.isoformat()}" required></label>'
        f'<label>{e(tr(lang, "Your time zone"))} <select name="tz" dir="ltr" required>{_zone_options(tz)}</select></label>'
        f'<button type="submit">{e(tr(lang, "Show free times"))}</button></form>'
    )


def _slot_radios(lang: str, svc: CallbackService, items: list[tuple[Any, int]], tz: ZoneInfo, chosen: str) -> str:
    if not items:
        return f"<p>{e(tr(lang, 'No times are free on this day; please pick another day.'))}</p>"
    out = [f'<fieldset class="slots"><legend>{e(tr(lang, "Time"))}</legend>']
    for slot, n in items:
        value = svc.slot_json(slot, tz)["start"]
        label = f"{dates.clock(slot.start.astimezone(tz), lang)}–{dates.clock(slot.end.astimezone(tz), lang)}"
        dis = " disabled" if n <= 0 else ""
        chk = " checked" if value == chosen and n > 0 else ""
        full = f' <span class="full">({e(tr(lang, "full"))})</span>' if n <= 0 else ""
        # The radio sits inside its own label, on the same line as its time.
        out.append(f'<label class="slot"><input type="radio" name="slot" value="{e(value, quote=True)}" required{dis}{chk}>'
                   f'<span dir="ltr">{e(label)}</span>{full}</label>')
    out.append("</fieldset>")
    return "".join(out)


async def _booking_form(request: web.Request, lang: str, values: dict[str, str], error: str = "", status: int = 200) -> web.Response:
    svc = request.app[SERVICE]
    now = request.app[HUB].clock.now()
    tz, ok = _zone(values.get("tz"), svc.grid.hours.tz)
    if not ok and not error:
        error = customer_message(Invalid("tz is not a known IANA time zone", field="tz"), lang)
    today = now.astimezone(tz).date()
    try:
        asked = parse_date(values.get("date")) if values.get("date") else today
    except HubError:
        asked = today
    asked = min(max(asked, today), (now + timedelta(days=svc.config.horizon_days)).astimezone(tz).date())
    day, items = await svc.free_day(asked, tz)
    moved = ""
    if day != asked:
        moved = f'<p class="note">{e(tr(lang, "No free times on {asked}. The next day with free times is shown.", asked=dates.day(asked, lang)))}</p>'
    v = {k: e(values.get(k, ""), quote=True) for k in ("name", "phone", "topic")}
    title = tr(lang, "Ask us to call you")
    body = (
        f"<h1>{e(title)}</h1>{error_block(error)}{_day_form(lang, '/callback', day, tz.key, {})}{moved}"
        f'<h2>{e(dates.day(day, lang))}</h2>'
        '<form method="post" action="/callback">'
        f'<input type="hidden" name="submission_id" value="{uuid.uuid4().hex}">'
        f'<input type="hidden" name="tz" value="{e(tz.key, quote=True)}">'
        f'<input type="hidden" name="lang" value="{lang}">'
        f"{_slot_radios(lang, svc, items, tz, values.get('slot', ''))}"
        f'<label>{e(tr(lang, "Name"))} <input name="name" autocomplete="name" required maxlength="200" dir="auto" value="{v["name"]}"></label>'
        f'<label>{e(tr(lang, "Phone number, with the country code"))} <input name="phone" type="tel" autocomplete="tel" required maxlength="40" dir="ltr" '
        f'placeholder="+66 81 234 5678" value="{v["phone"]}"></label>'
        f'<label>{e(tr(lang, "What is it about? (optional)"))} <input name="topic" maxlength="500" dir="auto" value="{v["topic"]}"></label>'
        f'<button type="submit">{e(tr(lang, "Book the call"))}</button></form>'
    )
    return page(request, lang, title, body, status)


@routes.get("/callback")
async def form(request: web.Request) -> web.Response:
    lang = lang_of(request)
    await public_limit(request)
    return await _booking_form(request, lang, dict(request.query))


@routes.post("/callback")
async def submit(request: web.Request) -> web.Response:
    lang = lang_of(request)
    await public_limit(request)
    svc = request.app[SERVICE]
    data = await read_form_or_json(request)
    lang = lang_of(request, str(data.get("lang") or "") or None)
    # A chat visitor token is never taken from this page (a link or a form on another site could carry someone
    # else's, and the booking would land in their chat); the widget books through /api/callbacks.
    data.pop("visitor_token", None)
    data["lang"] = lang
    values = {k: str(data.get(k, ""))[:500] for k in ("name", "phone", "topic", "tz", "slot")}
    if values.get("slot"):
        values["date"] = values["slot"][:10]
    try:
        if not data.get("slot") and not data.get("window_start"):
            raise Invalid("give slot or window_start and window_end", field="slot", say=N_("Please pick one of the free times."))
        req = svc.parse(data)
        await booking_limit(request)
        booked = await svc.book(req)
    except HubError as exc:
        return await _booking_form(request, lang, values, customer_message(exc, lang), exc.status)
    cb = booked.callback
    link = ""
    if booked.manage_token:
        url = svc.manage_url(cb["id"], booked.manage_token)
        link = f'<p>{e(tr(lang, "To cancel or change the time, keep this link:"))} <a href="{e(url, quote=True)}" dir="ltr">{e(url)}</a></p>'
    title = tr(lang, "We will call you")
    said = e(tr(lang, "Between {start} and {end} ({tz}), request {ticket}.")).format(
        start=f"<strong>{e(dates.when(datetime.fromisoformat(cb['window_start']), cb['tz'], lang))}</strong>",
        end=f"<strong>{e(dates.clock(datetime.fromisoformat(cb['window_end']).astimezone(ZoneInfo(cb['tz'])), lang))}</strong>",
        tz=f'<span dir="ltr">{e(cb["tz"])}</span>', ticket=f"<strong>#{cb['ticket_id']}</strong>")
    return page(request, lang, title, f"<h1>{e(title)}</h1><p>{said}</p>{link}", 200 if booked.duplicate else 201)


async def _manage(request: web.Request, cid: int, token: str, error: str = "", status: int = 200, note: str = "") -> web.Response:
    work, svc = request.app[WORK], request.app[SERVICE]
    row = await work.check_token(cid, token)
    lang = lang_of(request, row.lang)
    tz, _ = _zone(request.query.get("tz"), row.tz)
    now = request.app[HUB].clock.now()
    day = row.window_start.astimezone(tz).date()
    if request.query.get("date"):
        try:
            day = parse_date(request.query.get("date"))
        except HubError:
            pass
    when = (f"{dates.when(row.window_start, row.tz, lang)}–{dates.clock(row.window_end.astimezone(ZoneInfo(row.tz)), lang)}")
    title = tr(lang, "Your callback")
    body = [f"<h1>{e(title)}</h1>{error_block(error)}{f'<p class=note>{e(note)}</p>' if note else ''}",
            f"<p>{e(tr(lang, 'Status'))}: <strong>{e(tr(lang, STATUS.get(row.status, row.status)))}</strong>. "
            f"{e(tr(lang, 'Time'))}: <strong>{e(when)}</strong> (<span dir=ltr>{e(row.tz)}</span>).</p>"]
    if row.status in ("scheduled", "due"):
        action = f"/callback/{cid}"
        items = (await svc.free_day(day, tz))[1] if day >= now.astimezone(tz).date() else []
        body.append(f"<h2>{e(tr(lang, 'Change the time'))}</h2>{_day_form(lang, action, day, tz.key, {'t': token})}"
                    f'<form method="post" action="{action}"><input type="hidden" name="t" value="{e(token, quote=True)}">'
                    f'<input type="hidden" name="lang" value="{lang}">'
                    f'<input type="hidden" name="tz" value="{e(tz.key, quote=True)}"><input type="hidden" name="action" value="reschedule">'
                    f"{_slot_radios(lang, svc, items, tz, '')}<button type=\"submit\">{e(tr(lang, 'Move the call'))}</button></form>"
                    f'<h2>{e(tr(lang, "Cancel"))}</h2><form method="post" action="{action}"><input type="hidden" name="t" value="{e(token, quote=True)}">'
                    f'<input type="hidden" name="lang" value="{lang}">'
                    f'<input type="hidden" name="action" value="cancel"><button type="submit">{e(tr(lang, "Cancel the call"))}</button></form>')
    return page(request, lang, title, "".join(body), status)


def _not_found(request: web.Request) -> web.Response:
    lang = lang_of(request)
    title = tr(lang, "Not found")
    return page(request, lang, title, f"<h1>{e(title)}</h1>{error_block(customer_message(NotFoundError('not found'), lang))}", 404)


@routes.get("/callback/{id}")
async def manage(request: web.Request) -> web.Response:
    await public_limit(request)
    try:
        return await _manage(request, int_arg(request, "id"), request.query.get("t", ""))
    except (NotFoundError, HubError):
        return _not_found(request)


@routes.post("/callback/{id}")
async def change(request: web.Request) -> web.Response:
    await public_limit(request)
    work = request.app[WORK]
    data = await read_form_or_json(request)
    lang_of(request, str(data.get("lang") or "") or None)
    token = str(data.get("t", ""))[:200]
    try:
        cid = int_arg(request, "id")
        await work.check_token(cid, token)
    except HubError:
        return _not_found(request)
    lang = lang_of(request)
    try:
        if data.get("action") == "cancel":
            await work.cancel(cid, token)
            return await _manage(request, cid, token, note=tr(lang, "Your callback is cancelled."))
        await work.reschedule(cid, token, data)
        return await _manage(request, cid, token, note=tr(lang, "Your callback was moved."))
    except HubError as exc:
        return await _manage(request, cid, token, customer_message(exc, lang), exc.status)
