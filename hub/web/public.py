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
from hub.web.http import client_ip, limit, read_form_or_json, requires, text_field

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


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><link rel="stylesheet" href="/static/page.css"></head><body><main>{body}</main></body></html>"""
    return web.Response(text=doc, content_type="text/html", status=status)


def _contact_form(values: dict[str, str], error: str = "") -> str:
    v = {k: html.escape(values.get(k, ""), quote=True) for k in ("name", "email", "message")}
    err = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<h1>Contact us</h1>{err}
<form method="post" action="/contact">
<input type="hidden" name="submission_id" value="{uuid.uuid4().hex}">
<label>Name <input name="name" autocomplete="name" value="{v['name']}" maxlength="200"></label>
<label>Email <input name="email" type="email" autocomplete="email" required value="{v['email']}" maxlength="320"></label>
<label>Message <textarea name="message" required rows="6" maxlength="10000" dir="auto">{v['message']}</textarea></label>
<button type="submit">Send</button></form>"""


@routes.get("/contact")
async def contact_page(request: web.Request) -> web.Response:
    return _page("Contact us", _contact_form({}))


@routes.post("/contact")
async def contact(request: web.Request) -> web.Response:
    """The no-JavaScript contact form (form-encoded or JSON) -> a ticket answered by email."""
    hub = request.app[HUB]
    wants_json = request.content_type == "application/json"
    await limit(request, "contact", client_ip(request), hub.config.rate_limits.public_per_minute)
    data = await read_form_or_json(request)
    try:
        name = text_field(data, "name", 200, required=False)
        email = (text_field(data, "email", 320) or "").strip()
        if not EMAIL.match(email):
            raise Invalid("email is not a valid address", field="email")
        message = text_field(data, "message", hub.config.server.max_text)
    except Invalid as exc:
        if wants_json:
            raise
        return _page("Contact us", _contact_form({k: str(data.get(k, "")) for k in ("name", "email", "message")}, exc.detail), 422)
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
        raw={"form": {"name": name, "email": email}, "display": email},
    )
    accepted = await hub.intake.deliver(inbound)
    if wants_json:
        return web.json_response({"ticket_id": accepted.ticket_id, "message_id": accepted.message_id, "status": "received"}, status=201)
    return _page(
        "Thank you",
        f"<h1>Thank you</h1><p>We received your message as ticket <strong>#{accepted.ticket_id}</strong> and will answer by email at "
        f"<strong>{html.escape(email)}</strong>.</p>",
        201,
    )


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
_static("/widget.js", "widget.js")
