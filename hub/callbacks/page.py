"""`/callback`: booking and managing a callback as plain HTML forms that work without JavaScript.

Step one asks for the date and zone (a GET form), step two lists that day's slots as radio buttons next to name and
phone (a POST form).  `/callback/{id}?t=TOKEN` shows a booking with cancel and reschedule forms.  Every value
written into the page is escaped.
"""
from __future__ import annotations

import html
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hub.callbacks.api import SERVICE, WORK, booking_limit, parse_date, public_limit
from hub.callbacks.service import CallbackService
from hub.callbacks.values import human
from hub.errors import HubError, NotFoundError
from hub.services import HUB
from hub.web.http import int_arg, read_form_or_json

routes = web.RouteTableDef()
e = html.escape


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{e(title)}</title><link rel="stylesheet" href="/static/page.css"></head>'
        f"<body><main>{body}</main></body></html>"
    )
    return web.Response(text=doc, content_type="text/html", status=status)


def _error(msg: str) -> str:
    return f'<p class="error" role="alert">{e(msg)}</p>' if msg else ""


def _zone(raw: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw or default)
    except Exception:
        return ZoneInfo(default)


def _day_form(action: str, day: date, tz: str, hidden: dict[str, str]) -> str:
    keep = "".join(f'<input type="hidden" name="{e(k)}" value="{e(v, quote=True)}">' for k, v in hidden.items())
    return (
        f'<form method="get" action="{e(action, quote=True)}">{keep}'
        f'<label>Date <input type="date" name="date" value="{day.isoformat()}" required></label>'
        f'<label>Time zone <input name="tz" value="{e(tz, quote=True)}" maxlength="64" required></label>'
        '<button type="submit">Show times</button></form>'
    )


def _slot_radios(svc: CallbackService, items: list[tuple[Any, int]], tz: ZoneInfo, chosen: str) -> str:
    if not items:
        return "<p>No times are free on this day; please pick another date.</p>"
    out = ["<fieldset><legend>Time</legend>"]
    for slot, n in items:
        value = svc.slot_json(slot, tz)["start"]
        label = f"{slot.start.astimezone(tz):%H:%M}–{slot.end.astimezone(tz):%H:%M}"
        dis = " disabled" if n <= 0 else ""
        chk = " checked" if value == chosen and n > 0 else ""
        out.append(f'<label><input type="radio" name="slot" value="{e(value, quote=True)}" required{dis}{chk}> {e(label)}'
                   f"{' (full)' if n <= 0 else ''}</label>")
    out.append("</fieldset>")
    return "".join(out)


async def _booking_form(request: web.Request, values: dict[str, str], error: str = "", status: int = 200) -> web.Response:
    svc = request.app[SERVICE]
    now = request.app[HUB].clock.now()
    tz = _zone(values.get("tz"), svc.grid.hours.tz)
    try:
        day = parse_date(values.get("date")) if values.get("date") else now.astimezone(tz).date()
    except HubError:
        day = now.astimezone(tz).date()
    day = min(max(day, now.astimezone(tz).date()), (now + timedelta(days=svc.config.horizon_days)).astimezone(tz).date())
    items = await svc.day(day, tz)
    v = {k: e(values.get(k, ""), quote=True) for k in ("name", "phone", "topic", "lang")}
    body = (
        f"<h1>Ask us to call you</h1>{_error(error)}{_day_form('/callback', day, tz.key, {})}"
        '<form method="post" action="/callback">'
        f'<input type="hidden" name="submission_id" value="{uuid.uuid4().hex}">'
        f'<input type="hidden" name="tz" value="{e(tz.key, quote=True)}">'
        f'<input type="hidden" name="lang" value="{v["lang"]}">'
        f"{_slot_radios(svc, items, tz, values.get('slot', ''))}"
        f'<label>Name <input name="name" autocomplete="name" required maxlength="200" value="{v["name"]}"></label>'
        f'<label>Phone <input name="phone" type="tel" autocomplete="tel" required maxlength="40" value="{v["phone"]}"></label>'
        f'<label>What is it about? <input name="topic" maxlength="500" dir="auto" value="{v["topic"]}"></label>'
        '<button type="submit">Book the call</button></form>'
    )
    return _page("Ask us to call you", body, status)


@routes.get("/callback")
async def form(request: web.Request) -> web.Response:
    await public_limit(request)
    return await _booking_form(request, dict(request.query))


@routes.post("/callback")
async def submit(request: web.Request) -> web.Response:
    await public_limit(request)
    svc = request.app[SERVICE]
    data = await read_form_or_json(request)
    # A chat visitor token is never taken from this page (a link or a form on another site could carry someone
    # else's, and the booking would land in their chat); the widget books through /api/callbacks.
    data.pop("visitor_token", None)
    values = {k: str(data.get(k, ""))[:500] for k in ("name", "phone", "topic", "tz", "slot", "lang")}
    if values.get("slot"):
        values["date"] = values["slot"][:10]
    try:
        req = svc.parse(data)
        await booking_limit(request)
        booked = await svc.book(req)
    except HubError as exc:
        extra = ""
        if exc.status == 409:
            extra = " The next free times are marked below."
        return await _booking_form(request, values, exc.detail + extra, exc.status)
    cb = booked.callback
    link = ""
    if booked.manage_token:
        url = svc.manage_url(cb["id"], booked.manage_token)
        link = f'<p>To cancel or change the time, keep this link: <a href="{e(url, quote=True)}">{e(url)}</a></p>'
    tz = cb["tz"]
    start = datetime.fromisoformat(cb["window_start"])
    end = datetime.fromisoformat(cb["window_end"])
    body = (f"<h1>We will call you</h1><p>Between <strong>{e(human(start, tz))}</strong> and "
            f"<strong>{e(human(end, tz)[11:])}</strong> ({e(tz)}), request <strong>#{cb['ticket_id']}</strong>.</p>{link}")
    return _page("We will call you", body, 200 if booked.duplicate else 201)


async def _manage(request: web.Request, cid: int, token: str, error: str = "", status: int = 200, note: str = "") -> web.Response:
    work, svc = request.app[WORK], request.app[SERVICE]
    row = await work.check_token(cid, token)
    tz = _zone(request.query.get("tz"), row.tz)
    now = request.app[HUB].clock.now()
    day = row.window_start.astimezone(tz).date()
    if request.query.get("date"):
        try:
            day = parse_date(request.query.get("date"))
        except HubError:
            pass
    when = f"{human(row.window_start, row.tz)}–{human(row.window_end, row.tz)[11:]} ({row.tz})"
    body = [f"<h1>Your callback</h1>{_error(error)}{f'<p>{e(note)}</p>' if note else ''}",
            f"<p>Status: <strong>{e(row.status)}</strong>. Time: <strong>{e(when)}</strong>.</p>"]
    if row.status in ("scheduled", "due"):
        action = f"/callback/{cid}"
        items = await svc.day(day, tz) if day >= now.astimezone(tz).date() else []
        body.append(f"<h2>Change the time</h2>{_day_form(action, day, tz.key, {'t': token})}"
                    f'<form method="post" action="{action}"><input type="hidden" name="t" value="{e(token, quote=True)}">'
                    f'<input type="hidden" name="tz" value="{e(tz.key, quote=True)}"><input type="hidden" name="action" value="reschedule">'
                    f"{_slot_radios(svc, items, tz, '')}<button type=\"submit\">Move the call</button></form>"
                    f'<h2>Cancel</h2><form method="post" action="{action}"><input type="hidden" name="t" value="{e(token, quote=True)}">'
                    '<input type="hidden" name="action" value="cancel"><button type="submit">Cancel the call</button></form>')
    return _page("Your callback", "".join(body), status)


@routes.get("/callback/{id}")
async def manage(request: web.Request) -> web.Response:
    await public_limit(request)
    try:
        return await _manage(request, int_arg(request, "id"), request.query.get("t", ""))
    except (NotFoundError, HubError):
        return _page("Not found", "<h1>Not found</h1><p>This link is not valid.</p>", 404)


@routes.post("/callback/{id}")
async def change(request: web.Request) -> web.Response:
    await public_limit(request)
    work = request.app[WORK]
    data = await read_form_or_json(request)
    token = str(data.get("t", ""))[:200]
    try:
        cid = int_arg(request, "id")
        await work.check_token(cid, token)
    except HubError:
        return _page("Not found", "<h1>Not found</h1><p>This link is not valid.</p>", 404)
    try:
        if data.get("action") == "cancel":
            await work.cancel(cid, token)
            return await _manage(request, cid, token, note="Your callback is cancelled.")
        await work.reschedule(cid, token, data)
        return await _manage(request, cid, token, note="Your callback was moved.")
    except HubError as exc:
        return await _manage(request, cid, token, exc.detail, exc.status)
