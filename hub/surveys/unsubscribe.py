"""`/u/{token}`: the List-Unsubscribe page of win-back and follow-up messages (hub.surveys.optout).

GET shows a small no-JavaScript page in the customer's language (Persian right to left) with one button; it never
unsubscribes by itself, since link scanners and previews open links.  POST records the opt-out: the page's form
and a mail client's RFC 8058 one-click POST (`List-Unsubscribe=One-Click`) alike, idempotently.  A forged or
altered token gets a 404 page.  Every value written into the page is escaped; both are rate limited per address.
"""
from __future__ import annotations

import html

from aiohttp import web
from sqlalchemy import select

from hub.i18n import tr
from hub.services import HUB
from hub.store.schema import customers, tickets
from hub.surveys import optout
from hub.surveys.page import document
from hub.surveys.texts import lang_of
from hub.web.http import client_ip, limit

routes = web.RouteTableDef()
e = html.escape


async def _customer(request: web.Request) -> tuple[int | None, str, bool]:
    """(customer id or None for a bad token, the page language, already unsubscribed)."""
    hub = request.app[HUB]
    await limit(request, "unsubscribe", client_ip(request), hub.config.rate_limits.public_per_minute)
    cid = optout.customer_of(await hub.surveys.signer(), request.match_info["token"][:100])
    if cid is None:
        return None, lang_of(request.headers.get("Accept-Language", "en")[:2]), False
    async with hub.db.read() as conn:
        row = (await conn.execute(select(customers.c.language, customers.c.unsubscribed_at).where(customers.c.id == cid))).first()
        # A customer known only by mail has no language of their own: their latest conversation's is theirs.
        spoken = (await conn.execute(select(tickets.c.language).where(tickets.c.customer_id == cid)
                                     .order_by(tickets.c.id.desc()).limit(1))).scalar() if row is not None else None
    if row is None:
        return None, "en", False
    return cid, lang_of(row.language or spoken), row.unsubscribed_at is not None


def _page(lang: str, body: str, status: int = 200) -> web.Response:
    title = tr(lang, "Unsubscribe")
    return document(lang, title, f"<h1>{e(title)}</h1>{body}", status)


def _done(lang: str) -> web.Response:
    return _page(lang, f'<p class="ok" role="status">{e(tr(lang, "You are unsubscribed. We will not send you follow-up messages any more."))}</p>'
                       f"<p>{e(tr(lang, 'When you write to us, we still answer you.'))}</p>")


def _bad(lang: str) -> web.Response:
    return _page(lang, f"<p>{e(tr(lang, 'This unsubscribe link is not valid. Please use the link from your latest message.'))}</p>", 404)


@routes.get(optout.PATH + "{token}")
async def show(request: web.Request) -> web.Response:
    cid, lang, done = await _customer(request)
    if cid is None:
        return _bad(lang)
    if done:
        return _done(lang)
    token = request.match_info["token"]
    return _page(lang, (
        f"<p>{e(tr(lang, 'Stop follow-up messages from us, such as check-ins after a request?'))}</p>"
        f"<p>{e(tr(lang, 'When you write to us, we still answer you.'))}</p>"
        f'<form method="post" action="{e(optout.PATH + token, quote=True)}">'
        f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button type="submit">{e(tr(lang, "Unsubscribe"))}</button></form>'
    ))


@routes.post(optout.PATH + "{token}")
async def submit(request: web.Request) -> web.Response:
    cid, lang, _ = await _customer(request)
    if cid is None:
        return _bad(lang)
    await request.app[HUB].surveys.optout.unsubscribe(request.match_info["token"], "link")
    return _done(lang)
