"""Request helpers shared by the handlers: JSON bodies, error bodies, auth, client address."""
from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from hub import auth
from hub.domain import Agent, Role
from hub.errors import Forbidden, HubError, RateLimited, TooLarge, Unauthorized
from hub.metrics import RATE_LIMITED
from hub.services import HUB
from hub.validation import check_strings, id_value
from hub.validation import text_field  # noqa: F401  (handlers import it from here)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape of a UTF-16 surrogate: look closer
AGENT_KEY: web.RequestKey[Agent] = web.RequestKey("agent", Agent)


def error_body(code: str, detail: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "detail": detail}
    if field:
        err["field"] = field
    err.update(extra)
    return {"error": err}


def json_error(exc: HubError) -> web.Response:
    return web.json_response(error_body(exc.code, exc.detail, exc.field, **exc.extra), status=exc.status)


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"body is larger than {request.app[HUB].config.server.max_body} bytes") from None
    if not raw:
        return {}
    return parse_json_object(raw, "body")


def parse_json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    """A JSON object from a request body or a socket frame: 400 when it is not JSON or nests too deeply, 422 naming
    the field when a string holds lone surrogates."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise HubError(f"{what} nests too deeply") from None
    except ValueError:  # UnicodeDecodeError included
        raise HubError(f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise HubError(f"{what} must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")):
        try:
            check_strings(data)
        except RecursionError:
            raise HubError(f"{what} nests too deeply") from None
    return data


async def read_form_or_json(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await read_json(request)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"body is larger than {request.app[HUB].config.server.max_body} bytes") from None
    except ValueError:  # e.g. multipart/form-data without a boundary
        raise HubError("body is not a valid form") from None
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    check_strings(data)  # percent-escapes can carry bytes that are not UTF-8
    return data


def client_ip(request: web.Request) -> str:
    remote = request.remote or "unknown"
    trusted = request.app[HUB].config.server.trusted_proxies
    if remote not in trusted:
        return remote  # a client talking to us directly cannot choose its address by sending the header
    # Behind the proxy every request comes from the proxy: the client is the last hop the proxies did not add.
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    while hops and hops[-1] in trusted:
        hops.pop()
    return hops[-1] if hops else remote


async def limit(request: web.Request, scope: str, key: str, per_minute: int) -> None:
    if not await request.app[HUB].limiter.hit(f"{scope}:{key}", per_minute):
        RATE_LIMITED.labels(scope).inc()
        raise RateLimited("too many requests; slow down", retry_after=60)


def bearer_token(request: web.Request, *, allow_query: bool = False) -> str | None:
    """The token of the Authorization header.  `?token=` is taken only where a browser cannot send headers (the
    agent socket's handshake): in a URL it ends up in proxy and access logs, so no REST route accepts it."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("token") if allow_query else None


async def current_session(request: web.Request, *, allow_query: bool = False) -> tuple[Agent, str, datetime]:
    """(agent, token, token expiry) of the request's token; Unauthorized when there is none that is live."""
    token = bearer_token(request, allow_query=allow_query)
    if not token:
        raise Unauthorized("a bearer token is required (Authorization: Bearer TOKEN)")
    hub = request.app[HUB]
    async with hub.db.read() as conn:
        found = await auth.session(conn, token, hub.clock.now())
    if found is None:
        raise Unauthorized("the token is invalid or expired")
    return found[0], token, found[1]


async def current_agent(request: web.Request) -> Agent:
    return (await current_session(request))[0]


def requires(role: Role = Role.AGENT) -> Callable[[Handler], Handler]:
    """Route decorator: an authenticated agent of at least `role` (401 without a token, 403 below the role)."""

    def wrap(handler: Handler) -> Handler:
        async def inner(request: web.Request) -> web.StreamResponse:
            agent = await current_agent(request)
            if not auth.at_least(agent, role):
                raise Forbidden(f"this needs the {role.value} role")
            request[AGENT_KEY] = agent
            return await handler(request)

        inner.__name__ = handler.__name__
        inner.__doc__ = handler.__doc__
        return inner

    return wrap


def int_arg(request: web.Request, name: str, minimum: int = 1) -> int:
    return id_value(request.match_info.get(name), name, minimum)
