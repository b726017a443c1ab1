"""Callbacks: customers pick a time, agents call back on time.

The core side of the `callback` channel: slots from business hours and the callback department's agents, booking
within capacity, the scheduler jobs (reminder, due, overdue), the agent endpoints and the `/callback` page.
`install(app)` plugs all of it into a web app whose hub has the callback channel enabled; the channel's `build`
adds `install` to `hub.web.app.EXTENSIONS`.  Imports hub only.
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.callbacks.config import CallbackConfig
from hub.config import ConfigError

__all__ = ["CallbackConfig", "install", "register"]


def install(app: web.Application) -> None:
    from hub.callbacks import api, page
    from hub.callbacks.jobs import CallbackJobs
    from hub.callbacks.service import CallbackService
    from hub.callbacks.work import CallbackWork
    from hub.services import HUB

    hub = app[HUB]
    channel = hub.channels.get("callback")
    config = getattr(channel, "config", None)
    if not isinstance(config, CallbackConfig):
        return  # the callback channel is off in this hub
    if hub.config.department(config.department) is None:
        raise ConfigError(f"channels.callback.department: unknown department {config.department!r}; add it under departments")
    service = CallbackService(hub, config)
    app[api.SERVICE] = service
    app[api.WORK] = CallbackWork(service)
    hub.extras["callback"] = service  # handed to the channel (ctx.extra) so Telegram/email owners can reach it
    CallbackJobs(service).register(hub.scheduler)
    app.router.add_routes(api.routes)
    app.router.add_routes(page.routes)


def register() -> None:
    """Add `install` to the web app's extensions once (called when the callback channel is built)."""
    from hub.web.app import EXTENSIONS

    if install not in EXTENSIONS:
        EXTENSIONS.append(install)


def service_of(app: web.Application) -> Any:
    """The running CallbackService of an app (for other channels: a Telegram contact or an email reply books
    through `service.book(service.parse(data), Origin(channel, identity))`), or None when callbacks are off."""
    from hub.callbacks.api import SERVICE

    return app.get(SERVICE)
