"""The browser catalogs: `/i18n/languages.json`, `/i18n/LANG.json`, and `/widget.js` with its strings built in.

The widget runs on other sites, so it gets its strings inside the script (one request, no CORS) instead of fetching
them; the console fetches its catalog.  Both bodies are built once per process and served with an ETag.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from aiohttp import web

from hub import i18n
from hub.services import HUB

routes = web.RouteTableDef()
WIDGET = i18n.LOCALE_DIR.parent / "web" / "static" / "widget.js"
_MARK = '"@@HUB_I18N@@"'
_WIDGET_PREFIX = "widget."


def _cached(request: web.Request, body: bytes, content_type: str) -> web.Response:
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == tag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


@lru_cache(maxsize=None)
def _catalog_body(lang: str) -> bytes:
    return json.dumps(i18n.web_catalog(lang), ensure_ascii=False, sort_keys=True).encode()


@lru_cache(maxsize=4)
def widget_body(settings: str = "{}") -> bytes:
    """The widget script with its strings and the hub's widget settings (channels.webchat, as JSON) built in."""
    strings = {
        code: {k[len(_WIDGET_PREFIX):]: v for k, v in i18n.web_catalog(code).items() if k.startswith(_WIDGET_PREFIX)}
        for code in i18n.languages()
    }
    data = json.dumps({"strings": strings, "languages": i18n.languages_json(), "settings": json.loads(settings)}, ensure_ascii=False)
    source = WIDGET.read_text(encoding="utf-8")
    if _MARK not in source:
        raise RuntimeError(f"{WIDGET} lost its catalog marker {_MARK}")
    return source.replace(_MARK, data, 1).encode()


@routes.get("/i18n/languages.json")
async def languages(request: web.Request) -> web.Response:
    body = json.dumps(i18n.languages_json(), ensure_ascii=False).encode()
    return _cached(request, body, "application/json")


@routes.get("/i18n/{lang}.json")
async def catalog(request: web.Request) -> web.Response:
    lang = request.match_info["lang"]
    if lang not in i18n.languages():
        raise web.HTTPNotFound()
    return _cached(request, _catalog_body(lang), "application/json")


@routes.get("/widget.js")
async def widget(request: web.Request) -> web.Response:
    channel = request.app[HUB].channels.get("webchat")
    config = getattr(channel, "config", None)
    found: dict[str, object] = config.widget_settings() if hasattr(config, "widget_settings") else {}
    found["callback"] = "callback" in request.app[HUB].channels  # no "call me back" where nobody books calls
    return _cached(request, widget_body(json.dumps(found, sort_keys=True)), "text/javascript")
