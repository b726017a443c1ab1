"""Absolute links to the hub's own pages in what customers are sent (the callback page, a booking's manage link).

The base is `server.public_url` when set; else the address the customer used to reach the hub (the chat socket's or
the form's own request, carried for the work done on its behalf in `BASE`); else the listening address.  A path
alone ("/callback") is not a link in a chat, a Telegram message or an email.  Imports only aiohttp.
"""
from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from typing import Protocol

from aiohttp import web

# The base URL of the request being served, for code that runs on its behalf without the request at hand.
BASE: ContextVar[str | None] = ContextVar("hub_link_base", default=None)


class _Server(Protocol):
    host: str
    port: int
    public_url: str | None
    trusted_proxies: list[str]


def listen_base(server: _Server) -> str:
    host = server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif _is_v6(host):
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def _is_v6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def request_base(request: web.Request, server: _Server) -> str:
    """scheme://host[:port] as the client addressed the hub; forwarded headers count only from a trusted proxy."""
    if server.public_url:
        return server.public_url.rstrip("/")
    scheme, host = request.scheme, request.host
    if request.remote in server.trusted_proxies:
        scheme = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip() or scheme
        host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip() or host
    if scheme not in ("http", "https") or not host or any(c in host for c in "/\\@ \t\r\n\"'<>"):
        return listen_base(server)
    return f"{scheme}://{host}"


def absolute(path: str, server: _Server, base: str | None = None) -> str:
    """`path` ("/callback") as a full URL: the given base, else the request's (BASE), else public_url or the listener."""
    root = (server.public_url or base or BASE.get() or listen_base(server)).rstrip("/")
    return root + path
