"""Endpoints without agent login: health, metrics, the API description, the contact form, the pages."""
from __future__ import annotations

import html
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.domain import Identity, Inbound, Role
from hub.errors import Invalid
from hub.metrics import REGISTRY
from hub.reports import summary
from hub.services import HUB
from hub.validation import year_in_range
from hub.i18n import tr
from hub.web.http import client_ip, limit, read_form_or_json, requires, text_field
from hub.web.pages import customer_message, error_block, lang_of, page

routes = web.RouteTableDef()
STATIC = Path(__file__).resolve().parent / "static"
OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    db_ok = await hub.db.ping()
    body = {
        "status": "ok" if db_ok else "unavailable",
        "database": "ok" if db_ok else "unavailable",
        "bus": "ok" if hub.bus.healthy else "degraded",
        # The FAQ bot answers from the start; "warming" while its meaning-based index is still being built (it then
        # holds questions back for up to bot.warmup_wait seconds): a deployment may wait for "ready".
        "bot": hub.assistant.reloader.state if hub.assistant is not None else "off",
    }
    return web.json_response(body, status=200 if db_ok else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/openapi.yaml")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(text=OPENAPI.read_text(encoding="utf-8"), content_type="application/yaml")


@routes.get("/api/reports/summary")
@requires(Role.SUPERVISOR)
async def report(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    now = hub.clock.now()
    raw = request.query.get("since")
    try:
        since = datetime.fromisoformat(raw) if raw else now - timedelta(days=30)
    except ValueError:
        raise Invalid("since must be an ISO 8601 time", field="since") from None
    if since.tzinfo is None:
        raise Invalid("since needs a UTC offset", field="since")
    year_in_range(since.year, "since")
    return web.json_response(await summary(hub.db, since, now))


def _contact_form(request: web.Request, lang: str, values: dict[str, str], error: str = "") -> str:
    v = {k: html.escape(values.get(k, ""), quote=True) for k in ("name", "email", "message")}
    hub = request.app[HUB]
    # The form promises what the configuration can keep: an answer by email only when the email channel sends.
    promise = (tr(lang, "We answer by email, usually within one working day.") if "email" in hub.channels
               else tr(lang, "An agent reads every message. We cannot send email answers from here yet; to get an answer right away, use the chat."))
    q = html.escape
    return f"""<h1>{q(tr(lang, "Contact us"))}</h1><p>{q(promise)}</p>{error_block(error)}
<form method="post" action="/contact">
<input type="hidden" name="submission_id" value="{uuid.uuid4().hex}">
<input type="hidden" name="lang" value="{lang}">
<label>{q(tr(lang, "Name"))} <input name="name" autocomplete="name" value="{v['name']}" maxlength="200" dir="auto"></label>
<label>{q(tr(lang, "Email"))} <input name="email" type="email" autocomplete="email" required value="{v['email']}" maxlength="320" dir="ltr"></label>
<label>{q(tr(lang, "Message"))} <textarea name="message" required rows="6" maxlength="10000" dir="auto">{v['message']}</textarea></label>
<button type="submit">{q(tr(lang, "Send"))}</button></form>"""


@routes.get("/contact")
async def contact_page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    return page(request, lang, tr(lang, "Contact us"), _contact_form(request, lang, {}))


def _email(data: dict[str, object]) -> str:
    email = (text_field(data, "email", 320) or "").strip()
    if not EMAIL.match(email):
        raise Invalid("email is not a valid address", field="email")
    return email


@routes.post("/contact")
async def contact(request: web.Request) -> web.Response:
    """The no-JavaScript contact form (form-encoded or JSON) -> a ticket answered by email."""
    hub = request.app[HUB]
    wants_json = request.content_type == "application/json"
    lang = lang_of(request)
    await limit(request, "contact", client_ip(request), hub.config.rate_limits.public_per_minute)
    data = await read_form_or_json(request)
    lang = lang_of(request, str(data.get("lang") or "") or None)
    try:
        name = text_field(data, "name", 200, required=False)
        email = _email(data)
        message = text_field(data, "message", hub.config.server.max_text)
    except Invalid as exc:
        if wants_json:
            raise
        values = {k: str(data.get(k, "")) for k in ("name", "email", "message")}
        return page(request, lang, tr(lang, "Contact us"), _contact_form(request, lang, values, customer_message(exc, lang)), 422)
    sub = str(data.get("submission_id") or "")
    # A resubmitted form (double click, back button) carries the same submission id and stores nothing new.
    provider_id = f"contact:{sub[:64]}" if re.fullmatch(r"[A-Za-z0-9_-]{8,64}", sub) else f"contact:{uuid.uuid4().hex}"
    assert message is not None
    inbound = Inbound(
        channel="email",
        provider_id=provider_id,
        sender=Identity("email", email.lower()),
        # Anyone can type any address into the form: the answer goes there, but the address proves nothing, so
        # the message never joins the record of a customer who proved it (nor a chat that claimed it).
        sender_verified=False,
        text=message,
        received_at=hub.clock.now(),
        sender_name=name,
        subject=(message.strip().splitlines() or ["Contact form"])[0][:120],
        flags=frozenset({"web_form"}),
        raw={"form": {"name": name, "email": email, "lang": lang}, "display": email},
    )
    accepted = await hub.intake.deliver(inbound)
    if wants_json:
        return web.json_response({"ticket_id": accepted.ticket_id, "message_id": accepted.message_id, "status": "received"}, status=201)
    title = tr(lang, "Thank you")
    ticket = f"<strong>#{accepted.ticket_id}</strong>"
    addr = f'<strong dir="ltr">{html.escape(email)}</strong>'
    # The translation is escaped before the (already escaped) values go in.
    said = (html.escape(tr(lang, "We received your message as ticket {ticket} and will answer by email at {email}.")).format(ticket=ticket, email=addr)
            if "email" in hub.channels else
            html.escape(tr(lang, "We received your message as ticket {ticket}. An agent will read it; email answers are not switched on here yet, so for a quick answer please use the chat.")).format(ticket=ticket))
    return page(request, lang, title, f"<h1>{html.escape(title)}</h1><p>{said}</p>", 201)


def _static(path: str, filename: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        f = STATIC / filename
        if not f.exists():
            raise web.HTTPNotFound()
        return web.FileResponse(f, headers={"Cache-Control": "no-cache"})

    handler.__name__ = f"page_{filename.replace('.', '_')}"
    routes.get(path)(handler)


_static("/chat", "chat.html")
_static("/console", "console.html")
