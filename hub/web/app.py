"""Build the aiohttp application around a `Hub`; its lifecycle runs through `cleanup_ctx`."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import and_, select

from channels.webchat import WebchatHost
from hub import audit
from hub.config import Config
from hub.links import BASE
from hub.domain import OPEN_VALUES as OPEN, Direction
from hub.serialize import message_json
from hub.services import HUB, Hub
from hub.store import tickets as ticket_store
from hub.store.schema import identities, messages, tickets
from hub.web import agent_api, agent_ws, agents_api, audit_api, canned_api, catalogs, customers_api, delivery_api, labels_api, middleware, privacy_api, public
from hub.surveys import api as survey_api
from hub.surveys import page as survey_page
from hub.surveys import unsubscribe as unsubscribe_page
from hub.web.http import client_ip
from hub.reports import api as reports_api
from hub.webhooks import api as webhooks_api

# Extra routes from plug-ins that are not channels (the callback API); each is `fn(app) -> None`.
EXTENSIONS: list[Callable[[web.Application], None]] = []


def _origin_check(config: Config) -> Callable[[web.Request], bool]:
    allowed = {o.rstrip("/") for o in config.server.allowed_origins}

    def ok(request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
            return True
        # Same origin is always fine: the hub's own /chat page.
        return urlsplit(origin).netloc == request.host

    return ok


def _chat_host(hub: Hub) -> WebchatHost:
    cfg = hub.config

    async def resume(visitor: str, history_limit: int) -> tuple[int, int | None, list[dict[str, Any]]] | None:
        async with hub.db.read() as conn:
            row = (
                await conn.execute(
                    select(identities.c.id, identities.c.customer_id)
                    .where(and_(identities.c.channel == "webchat", identities.c.external_id == visitor, identities.c.verified))
                )
            ).first()
            if row is None:
                return None
            # Only this visitor's own conversations: after a supervisor merged two records, each chat token still
            # sees only what was written from it.
            open_ticket = (
                await conn.execute(
                    select(tickets.c.id)
                    .where(and_(tickets.c.customer_id == row.customer_id, tickets.c.identity_id == row.id,
                                tickets.c.channel == "webchat", tickets.c.status.in_(OPEN)))
                    .order_by(tickets.c.id.desc())
                    .limit(1)
                )
            ).scalar()
            history = await ticket_store.customer_history(conn, row.customer_id, "webchat", history_limit, identity_id=row.id)
            views = [_customer_view(m) for m in history]
            if history and history[-1].direction is Direction.OUT:
                # The last message's choices still stand (a survey's scores, "Did you mean ..."): after a reload
                # they stay tappable.  Older ones are history and stay text.
                meta = (await conn.execute(select(messages.c.meta).where(messages.c.id == history[-1].id))).scalar()
                buttons = (meta or {}).get("buttons") or []
                if buttons:
                    views[-1]["buttons"] = [{"label": b["label"], "payload": b.get("payload")} for b in buttons]
        return row.customer_id, open_ticket, views

    async def allow_message(visitor: str) -> bool:
        return await hub.limiter.hit(f"chat-msg:{visitor}", cfg.rate_limits.chat_messages_per_minute)

    async def allow_connect(request: web.Request) -> bool:
        return await hub.limiter.hit(f"chat-connect:{client_ip(request)}", cfg.rate_limits.public_per_minute)

    async def on_typing(visitor: str) -> None:
        await hub.customer_typing("webchat", visitor)

    return WebchatHost(
        bus=hub.bus,
        resume=resume,
        allow_message=allow_message,
        allow_connect=allow_connect,
        origin_allowed=_origin_check(cfg),
        max_frame=cfg.server.max_frame,
        max_text=cfg.server.max_text,
        on_typing=on_typing,
        frames_per_minute=cfg.rate_limits.chat_frames_per_minute if cfg.rate_limits.enabled else 0,
        typing_every=cfg.rate_limits.chat_typing_interval,
        back_at=_back_at(hub),
    )


def _back_at(hub: Hub) -> Callable[[], Any]:
    """When the default department opens again (None while it is open), from the business hours."""
    try:
        from routing import calendar_for

        cal = calendar_for(hub.config, hub.config.default_department)
    except (ImportError, ValueError):
        return lambda: None

    def back() -> Any:
        now = hub.clock.now()
        try:
            return None if cal.is_open(now) else cal.next_open(now)
        except ValueError:  # a calendar that never opens: say nothing about hours
            return None

    return back


def _customer_view(m: Any) -> dict[str, Any]:
    """What a customer may see of a message: never delivery errors or which agent id wrote it."""
    full = message_json(m)
    return {k: full[k] for k in ("id", "ticket_id", "direction", "author", "text", "created_at", "attachments")}


def build_app(config: Config, hub: Hub | None = None, *, run_migrations: bool = True) -> web.Application:
    hub = hub or Hub(config)
    app = web.Application(
        client_max_size=config.server.max_body,
        middlewares=[middleware.headers(config.server.allowed_origins), middleware.errors,
                     # audit entries name the client's address; links made while serving use the address it used
                     middleware.scoped((audit.SOURCE, client_ip), (BASE, middleware.link_base))],
    )
    app[HUB] = hub
    if "webchat" in hub.channels:
        hub.extras["webchat"] = _chat_host(hub)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await hub.start(run_migrations=run_migrations)
        yield
        await hub.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_routes(public.routes)
    app.router.add_routes(catalogs.routes)
    app.router.add_routes(delivery_api.routes)
    app.router.add_routes(agent_api.routes)
    app.router.add_routes(agents_api.routes)
    app.router.add_routes(customers_api.routes)
    app.router.add_routes(agent_ws.routes)
    app.router.add_routes(canned_api.routes)
    app.router.add_routes(labels_api.routes)
    app.router.add_routes(audit_api.routes)
    app.router.add_routes(webhooks_api.routes)
    app.router.add_routes(reports_api.routes)
    app.router.add_routes(survey_api.routes)
    app.router.add_routes(survey_page.routes)
    app.router.add_routes(unsubscribe_page.routes)
    app.router.add_routes(privacy_api.routes)
    for ch in hub.channels.values():
        app.router.add_routes(ch.routes())
    for ext in EXTENSIONS:
        ext(app)
    app.router.add_static("/static/", public.STATIC, show_index=False)
    return app
