"""`/survey/{token}`: the survey as a plain HTML form that works without JavaScript and on a phone.

The page speaks the customer's language (Persian right to left, with Persian digits), shows the five scores as
large radio buttons, the optional NPS question and a comment box.  A submission stores the answer and redirects
to the page of a fresh token (the mailed link is then used up), where the customer may change the answer until
the survey expires.  Every value written into the page is escaped; the endpoints are rate limited per address.
"""
from __future__ import annotations

import html
from typing import Any

from aiohttp import web

from hub.services import HUB
from hub.store import tickets as ticket_store
from hub.surveys.answers import Answer
from hub.surveys.service import LinkError
from hub.surveys.texts import digits, lang_of, say
from hub.surveys.zones import customer_zone, local_text
from hub.web.http import client_ip, limit, read_form_or_json

routes = web.RouteTableDef()
e = html.escape

STYLE = """
.scale{display:flex;flex-wrap:wrap;gap:.4rem;border:0;padding:0;margin:0}
.scale legend{font-weight:600;margin-bottom:.5rem;width:100%}
.scale label{display:block;font-weight:600}
.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale span{display:flex;align-items:center;justify-content:center;min-width:3rem;min-height:3rem;border:2px solid #6b7280;
border-radius:10px;font-size:1.2rem;cursor:pointer}
.scale input:checked+span{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.scale input:focus-visible+span{outline:3px solid #f59e0b;outline-offset:2px}
.ends{display:flex;justify-content:space-between;width:100%;font-size:.9rem;color:#4b5563}
.ok{padding:.6rem .8rem;border-radius:6px;background:#ecfdf5;color:#065f46}
"""


def _doc(lang: str, title: str, body: str, status: int = 200) -> web.Response:
    rtl = ' dir="rtl"' if lang == "fa" else ""
    doc = (
        f'<!doctype html><html lang="{lang}"{rtl}><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{e(title)}</title>'
        f'<link rel="stylesheet" href="/static/page.css"><style>{STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )
    # The token is in the URL: keep it out of caches and of other sites' Referer headers.
    return web.Response(text=doc, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


document = _doc  # the page frame, shared with the unsubscribe page (hub.surveys.unsubscribe)


def _scale(name: str, low: int, high: int, chosen: int | None, lang: str, legend: str, ends: tuple[str, str]) -> str:
    opts = "".join(
        f'<label><input type="radio" name="{name}" value="{n}"{" checked" if chosen == n else ""}'
        f'{" required" if name == "score" else ""}><span>{digits(n, lang)}</span></label>'
        for n in range(low, high + 1)
    )
    return (f'<fieldset class="scale"><legend>{e(legend)}</legend>{opts}'
            f'<div class="ends"><span>{e(ends[0])}</span><span>{e(ends[1])}</span></div></fieldset>')


async def _form(request: web.Request, s: Any, token: str, note: str = "", status: int = 200) -> web.Response:
    hub = request.app[HUB]
    lang = lang_of(s.language)
    async with hub.db.read() as conn:
        t = await ticket_store.get_ticket(conn, s.ticket_id)
        tz = await customer_zone(conn, s.customer_id, hub.config.business_hours.tz)
    subject = (t.subject or f"#{t.id}")[:120]
    parts = [f"<h1>{e(say('page_title', lang))}</h1>", note]
    parts.append(f'<form method="post" action="/survey/{e(token, quote=True)}">')
    parts.append(_scale("score", 1, 5, s.score, lang, say("page_question", lang, subject=subject),
                        (say("page_low", lang), say("page_high", lang))))
    if hub.config.surveys.nps:
        parts.append(_scale("nps", 0, 10, s.nps, lang, say("ask_nps", lang), ("0", digits(10, lang))))
    parts.append(f'<label>{e(say("page_comment", lang))}<textarea name="comment" rows="4" maxlength="{hub.config.server.max_text}">'
                 f'{e(s.comment or "")}</textarea></label>')
    parts.append(f'<button type="submit">{e(say("page_submit", lang))}</button></form>')
    if s.expires_at is not None and s.score is not None:
        parts.append(f"<p>{e(say('page_saved', lang, until=local_text(s.expires_at, tz, lang)))}</p>")
    return _doc(lang, say("page_title", lang), "".join(parts), status)


def _gone(lang: str) -> web.Response:
    return _doc(lang, say("page_title", lang), f"<h1>{e(say('page_title', lang))}</h1><p>{e(say('page_gone', lang))}</p>", 410)


def _lang(request: web.Request) -> str:
    return lang_of(request.headers.get("Accept-Language", "en")[:2])


@routes.get("/survey/{token}")
async def show(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    await limit(request, "survey", client_ip(request), hub.config.rate_limits.public_per_minute)
    token = request.match_info["token"][:200]
    try:
        s = await hub.surveys.by_token(token)
    except LinkError:
        return _gone(_lang(request))
    saved = request.query.get("saved") == "1"
    note = f'<p class="ok" role="status">{e(say("thanks", s.language))}</p>' if saved else ""
    return await _form(request, s, token, note)


@routes.post("/survey/{token}")
async def submit(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    await limit(request, "survey", client_ip(request), hub.config.rate_limits.public_per_minute)
    token = request.match_info["token"][:200]
    data = await read_form_or_json(request)
    try:
        s = await hub.surveys.by_token(token)
    except LinkError:
        return _gone(_lang(request))
    score, nps = _int(data.get("score"), 1, 5), _int(data.get("nps"), 0, 10)
    comment = data.get("comment")
    if not isinstance(comment, str):
        comment = None
    elif len(comment) > hub.config.server.max_text:
        comment = comment[: hub.config.server.max_text]
    if score is None:
        note = f'<p class="error" role="alert">{e(say("page_pick", s.language))}</p>'
        return await _form(request, s, token, note, 422)
    try:
        _, fresh = await hub.surveys.answer_link(token, Answer(score=score, nps=nps if hub.config.surveys.nps else None,
                                                              comment=comment.replace("\x00", "") if comment is not None else None))
    except LinkError:
        return _gone(lang_of(s.language))
    raise web.HTTPSeeOther(f"/survey/{fresh}?saved=1")


def _int(raw: Any, low: int, high: int) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if low <= raw <= high else None
    if isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) <= 2:
        n = int(raw.strip())
        return n if low <= n <= high else None
    return None
