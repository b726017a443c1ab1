"""Middlewares: the contract's error bodies, 503 when the database is gone, metrics, security and CORS headers,
request-scoped context.  Three, not one per concern: a WebSocket holds every middleware's frame while it is open."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError

from hub.errors import HubError
from hub.links import request_base
from hub.services import HUB
from hub.metrics import HTTP
from hub.web import pages
from hub.web.http import Handler, error_body, json_error

log = logging.getLogger("hub.web")

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited"}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The contract's error bodies for every failure, and every request's time by route and final status (the
    status the client got, a converted error included) in `hub_http_request_seconds`."""
    start = time.perf_counter()
    status = 500  # cancelled: the client went away
    try:
        try:
            resp = await handler(request)
        except HubError as exc:
            if _is_page(request):
                resp = pages.error_page(request, exc)
            else:
                resp = json_error(exc)
                if _is_public(request):
                    # What a customer's browser may show as is: plain wording in the customer's language.
                    body = json.loads(resp.body)  # type: ignore[arg-type]
                    body["error"]["message"] = pages.customer_message(exc, pages.lang_of(request))
                    resp = web.json_response(body, status=exc.status)
                if exc.status == 429:
                    resp.headers["Retry-After"] = "60"
        except web.HTTPException as exc:
            if exc.status < 400 or not _wants_json(request):
                raise
            code = _STATUS_CODES.get(exc.status, "error")
            detail = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
            resp = web.json_response(error_body(code, detail), status=exc.status)
        except (OperationalError, DBAPIError, ConnectionRefusedError, OSError) as exc:
            # The database (or another backing service) is gone: say so plainly; nothing was acknowledged.
            log.error("backing service unavailable on %s: %s", request.path, exc)
            resp = web.json_response(error_body("unavailable", "the service is temporarily unavailable; retry shortly"), status=503)
        except Exception:
            # A bug: the traceback goes to the log, never to the client.
            log.exception("unexpected error on %s %s", request.method, request.path)
            resp = web.json_response(error_body("internal", "unexpected error; it has been logged"), status=500)
        status = resp.status
        return resp
    except web.HTTPException as exc:  # a redirect, or an error page aiohttp renders itself
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        HTTP.labels(route, str(status)).observe(time.perf_counter() - start)


def _is_page(request: web.Request) -> bool:
    """The customer's HTML pages (contact form, callback booking and its manage link)."""
    p = request.path
    return (p == "/contact" or p == "/callback" or p.startswith("/callback/")) and not _wants_json(request)


def _is_public(request: web.Request) -> bool:
    return request.path.startswith(_PUBLIC_CORS) and not request.path.endswith("/claim") and "/outcome" not in request.path


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/contact" and request.content_type == "application/json" or request.path.startswith("/telegram/")


# Customer endpoints a widget on another site may call; agent endpoints never answer cross-origin.
_PUBLIC_CORS = ("/api/callbacks", "/contact")


def headers(allowed_origins: list[str]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Security headers on every response, and CORS for the public customer endpoints, for origins listed in
    `server.allowed_origins` ("*" for any)."""
    allowed = {o.rstrip("/") for o in allowed_origins}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin", "").rstrip("/")
        cors = None
        if origin and _is_public(request) and ("*" in allowed or origin in allowed):
            cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            if request.method == "OPTIONS":
                cors.update({"Access-Control-Allow-Methods": "GET, POST", "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600"})
                return web.Response(status=204, headers=cors)
        resp = await handler(request)
        if cors:
            resp.headers.update(cors)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.content_type == "text/html":
            resp.headers.setdefault("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'")
            resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return resp

    return middleware


def scoped(*values: tuple[ContextVar[Any], Callable[[web.Request], Any]]) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Context variables set from the request while it is served (the address the client used, for absolute
    links, hub/links.py; the client's address, for audit entries).  aiohttp serves every request in a task of its
    own, and a task works in its own copy of the context, so the values end with the request and nothing is reset:
    a WebSocket then holds no reset tokens for its whole life (~0.5 KB per connected customer), and a task the
    request spawned keeps the values of its own request, as it would with a reset.  One middleware for all of
    them: a WebSocket keeps every middleware's frame for its whole life (~0.3 KB each, per connected customer)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        for var, value in values:
            var.set(value(request))
        return await handler(request)

    return middleware


def link_base(request: web.Request) -> str:
    """The address the client used (hub/links.py)."""
    return request_base(request, request.app[HUB].config.server)
