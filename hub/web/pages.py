"""The shell of the public HTML pages (contact form, callback booking) and what a customer is told when a request
fails, in the customer's language (hub/i18n.py) and writing direction."""
from __future__ import annotations

import html
from urllib.parse import urlencode

from aiohttp import web

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_, tr

e = html.escape
LANG_KEY: web.RequestKey[str] = web.RequestKey("customer_lang", str)

# What a customer is told about a field that is not right, when the check did not say something more precise.
_FIELD = {
    "name": N_("Please enter your name (at most 200 characters)."),
    "email": N_("Please enter your email address, for example name@example.com."),
    "message": N_("Please write your message."),
    "phone": N_("Please enter your phone number with the country code, for example +66 81 234 5678."),
    "tz": N_("Please choose your time zone from the list."),
    "date": N_("Please choose a day."),
    "slot": N_("Please pick one of the free times."),
    "window_start": N_("Please pick one of the free times."),
    "window_end": N_("Please pick one of the free times."),
    "topic": N_("Please keep the topic under 500 characters."),
}
_STATUS = {
    404: N_("This link is not valid. Please check that it was copied in full."),
    409: N_("That time was just taken. Please pick another of the free times below."),
    413: N_("What you sent is too large. Please shorten it and try again."),
    429: N_("Too many attempts from your connection. Please wait a minute and try again."),
    503: N_("The service is briefly unavailable. Please try again in a minute."),
}
_GENERIC = N_("Something in the form is not right. Please check it and try again.")


def lang_of(request: web.Request, given: str | None = None) -> str:
    """The customer's language for this request (kept on it, so an error on the way out speaks the same)."""
    if LANG_KEY in request and given is None:
        return request[LANG_KEY]
    lang = i18n.choose(request.query.get("lang"), given, request.headers.get("Accept-Language"))
    request[LANG_KEY] = lang
    return lang


def customer_message(exc: HubError, lang: str) -> str:
    if exc.say:
        return tr(lang, exc.say, **exc.say_values)
    if exc.status == 422 and exc.field in _FIELD:
        return tr(lang, _FIELD[exc.field])
    return tr(lang, _STATUS.get(exc.status, _GENERIC))


def _switcher(request: web.Request, lang: str) -> str:
    """Links to the same page in the other languages (a GET of the page: a posted form is not resent)."""
    keep = {k: v for k, v in request.query.items() if k in ("date", "tz", "t")}  # never a chat token
    links = []
    for code in i18n.languages():
        if code == lang:
            continue
        href = request.path + "?" + urlencode({**keep, "lang": code})
        links.append(f'<a href="{e(href, quote=True)}" lang="{code}" hreflang="{code}">{e(i18n.display_name(code))}</a>')
    return f'<nav class="langs" aria-label="{e(tr(lang, "Language"), quote=True)}">{" · ".join(links)}</nav>'


def page(request: web.Request, lang: str, title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        f'<!doctype html><html lang="{lang}" dir="{i18n.direction(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{e(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/page.css"></head>'
        f"<body><main>{_switcher(request, lang)}{body}</main></body></html>"
    )
    return web.Response(text=doc, content_type="text/html", status=status)


def error_block(message: str) -> str:
    return f'<p class="error" role="alert">{e(message)}</p>' if message else ""


def error_page(request: web.Request, exc: HubError) -> web.Response:
    """A failed request to a public page (a body over the limit, too many attempts) as a page, never raw JSON."""
    lang = lang_of(request)
    title = tr(lang, "Sorry")
    back = request.path.split("/")[1] if request.path.count("/") >= 1 else ""
    link = f'<p><a href="/{e(back, quote=True)}?lang={lang}">{e(tr(lang, "Back to the form"))}</a></p>' if back else ""
    resp = page(request, lang, title, f"<h1>{e(title)}</h1>{error_block(customer_message(exc, lang))}{link}", exc.status)
    if exc.status == 429:
        resp.headers["Retry-After"] = str(exc.extra.get("retry_after", 60))
    return resp
