"""The running hub: every service built from config, started and stopped in order."""
from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from sqlalchemy import and_, select

from channels.base import Channel, ChannelContext
from hub import registry
from hub.auth import add_agent, normal_email
from hub.bus import AGENTS, make_bus
from hub.clock import Clock
from hub.config import Config
from hub.domain import OPEN_VALUES as OPEN, Identity
from hub.events import Events
from hub.intake import Intake
from hub.actions import Actions
from hub.assignment import Assigner
from hub.escalation import Escalator
from hub.review_sweep import ReviewSweep
from hub.responders import Responders
from hub.sla import SlaJobs
from hub.lease import LocalSingleton, RedisSingleton
from hub.outbox import Outbox
from hub.privacy.retention import Retention
from hub.scheduler import Scheduler
from hub.ratelimit import Limiter, MemoryLimiter, NoLimiter, RedisLimiter
from hub.store import customers as customer_store
from hub.store import tickets as ticket_store
from hub.store.checkpoints import DbCheckpoints
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.schema import agents, identities, tickets
from hub.webhooks.sender import WebhookSender

log = logging.getLogger("hub")


class Hub:
    def __init__(self, config: Config, *, clock: Clock | None = None, channels: dict[str, Channel] | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.db = Database(config.database.url, pool_size=config.database.pool_size, echo=config.database.echo)
        self.bus = make_bus(config.redis.url, config.redis.prefix)
        self.events = Events(self.bus)
        self.limiter: Limiter
        if not config.rate_limits.enabled:
            self.limiter = NoLimiter()
        elif config.redis.url:
            self.limiter = RedisLimiter(config.redis.url, config.redis.prefix)
        else:
            self.limiter = MemoryLimiter()
        self.singleton: Any = (
            RedisSingleton(config.redis.url, config.redis.prefix, config.redis.lease_ttl) if config.redis.url else LocalSingleton()
        )
        self.channels: dict[str, Channel] = channels if channels is not None else registry.build_channels(config)
        self.router = registry.build_router(config)
        self.outbox = Outbox(self.db, self.events, config.outbox, self.clock, self.channels)
        self.webhooks = WebhookSender(self.db, config.webhooks, self.clock)
        if self.webhooks.active:  # with no endpoint, writers note nothing, write nothing more, and no event is tapped
            self.bus.taps.append(self.webhooks.on_publish)
            self.db.before_commit.append(self.webhooks.before_commit)
        self.intake = Intake(
            self.db, self.events, config, self.router, self.clock,
            conversational=self._conversational, bot_enabled=self._bot_enabled,
        )
        self.actions = Actions(self.db, self.events, self.outbox, config, self.clock)
        self.scheduler = Scheduler(self.db, self.clock, interval=config.scheduler_interval)
        self.sla = SlaJobs(self)
        self.assigner = Assigner(self)
        self.sla.register(self.scheduler)
        # Assign first: the SLA jobs are the same whoever takes the ticket.
        self.intake.on_ticket_opened += [self.assigner.on_ticket_opened, self.sla.on_ticket_opened]
        self.intake.on_ticket_opened.append(self.webhooks.ticket_opened)  # last: it sends the ticket as opened
        self.intake.on_ticket_change.append(self.sla.before_change)
        self.actions.on_change.append(self.sla.before_change)
        self.extras: dict[str, Any] = {}  # per-channel collaborators (the web chat host), set by the web app
        self.workers: list[Any] = [self.assigner]  # started after channels, stopped before them (bot, scheduler)
        self.bot_channels: frozenset[str] = frozenset()
        self.assistant = registry.build_responder(self)
        self.escalator = Escalator(self)
        self.intake.responder = Responders(self.escalator, self.assistant)
        self.intake.store.needs_review = self.escalator.wants
        # A new ticket's SLA jobs are armed by the review of its opening message, in the review's write: a complaint
        # it finds moves the deadlines at once, and they were written twice (hub.escalation).
        self.intake.placement.armed_by_review.add(self.sla.on_ticket_opened)
        from hub.surveys.service import Surveys  # imports hub.intake: built once the core is

        self.surveys = Surveys(self)
        self.surveys.answers.on_answered.append(self.webhooks.survey_answered)
        self.intake.interceptors += [self.surveys.answers.intercept, self.surveys.followups.intercept,
                                     self.surveys.optout.intercept]
        self.workers.append(self.surveys)
        self.retention = Retention(self.db, config.retention, self.clock, self.channels)
        self.retention.register(self.scheduler)
        self.workers.append(self.retention)
        from hub.housekeeping import Housekeeping

        self.housekeeping = Housekeeping(self)
        self.housekeeping.register(self.scheduler)
        self.workers.append(self.housekeeping)
        self.review_sweep = ReviewSweep(self)  # reviews a process stopped with, taken up while others run on
        self.review_sweep.register(self.scheduler)
        self.workers.append(self.review_sweep)
        if self.assistant is not None:
            self.bot_channels = self.assistant.channels
            self.intake.reopen_to_bot = self.assistant.reopen_to_bot
            self.workers.append(self.assistant.reloader)

    def _conversational(self, channel: str) -> bool:
        ch = self.channels.get(channel)
        return ch.capabilities.conversational if ch is not None else channel != "email"

    def _bot_enabled(self, channel: str) -> bool:
        return channel in self.bot_channels

    async def start(self, *, run_migrations: bool = True) -> None:
        if run_migrations:
            await migrate(self.db)
        self.db.checkpoint_in_background()
        await self.seed_agents()
        await self.bus.start()
        for name, ch in self.channels.items():
            ctx = ChannelContext(
                deliver=self.intake.deliver,
                deliver_many=self.intake.deliver_many,
                checkpoints=DbCheckpoints(self.db, self.clock, f"{name}:"),
                singleton=self.singleton,
                mark_unreachable=self.mark_unreachable,
                public_url=self.config.server.public_url,
                extra=self.extras.get(name),
            )
            await ch.start(ctx)
        await self.outbox.start()
        await self.webhooks.start()
        for w in self.workers:
            await w.start()
        await self.escalator.start()
        await self.scheduler.start()

    async def stop(self) -> None:
        # Every step is bounded: a part that cannot finish (a peer that never answers, a wait that lost its wake-up)
        # must not keep the process from stopping.  What a cut step leaves is what a crash leaves, and the hub is
        # built to lose nothing acknowledged across a crash; the log names the step, so the cause can be found.
        await _bounded("scheduler", self.scheduler.stop())
        for w in reversed(self.workers):
            await _bounded(f"worker {type(w).__name__}", w.stop())
        await _bounded("intake", self.intake.stop())
        await _bounded("escalator", self.escalator.stop())
        await _bounded("outbox", self.outbox.stop())
        await _bounded("webhooks", self.webhooks.stop())
        for ch in self.channels.values():
            await _bounded(f"channel {ch.name}", ch.stop())
        await _bounded("bus", self.bus.stop())
        for closable in (self.limiter, self.singleton):
            if hasattr(closable, "close"):
                await _bounded(type(closable).__name__, closable.close())
        await self.db.close()

    async def seed_agents(self) -> None:
        """Agents listed in config.yaml are created once.  One without a password in the config gets a random one
        that nobody is told (a password never goes to the log): an admin sets it with `hub agent password`."""
        if not self.config.agents:
            return
        async with self.db.write() as conn:
            for a in self.config.agents:
                exists = (await conn.execute(select(agents.c.id).where(agents.c.email == normal_email(a.email)))).first()
                if exists:
                    continue
                await add_agent(
                    conn, name=a.name, email=a.email, password=a.password or secrets.token_urlsafe(32), role=a.role,
                    departments=a.departments, capacity=a.capacity, now=self.clock.now(),
                )
                if not a.password:
                    log.warning("created agent %s without a password; set one with: hub agent password %s", a.email, a.email)

    async def mark_unreachable(self, ident: Identity, reason: str) -> None:
        async with self.db.write() as conn:
            await customer_store.mark_unreachable(conn, ident, reason)
            rows = await conn.execute(
                select(tickets.c.id).join(identities, identities.c.id == tickets.c.identity_id).where(
                    and_(identities.c.channel == ident.channel, identities.c.external_id == ident.external_id, tickets.c.status.in_(OPEN))
                )
            )
            for r in rows:
                await ticket_store.add_trace(conn, r.id, self.clock.now(), "unreachable", f"{ident.channel}: {reason}")

    async def typing_to_customer(self, ticket_id: int) -> None:
        async with self.db.read() as conn:
            to = await ticket_store.recipient(conn, ticket_id)
        if to is None:
            return
        ch = self.channels.get(to[0])
        if ch is not None and ch.capabilities.typing and hasattr(ch, "typing"):
            try:
                await ch.typing(Identity(to[0], to[1]))  # type: ignore[attr-defined]
            except Exception as exc:  # typing is a courtesy; never fail the agent for it
                log.debug("typing via %s failed: %s", to[0], exc)

    async def customer_typing(self, channel: str, external_id: str) -> None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(tickets.c.id)
                    .join(identities, identities.c.id == tickets.c.identity_id)
                    .where(and_(identities.c.channel == channel, identities.c.external_id == external_id, tickets.c.status.in_(OPEN)))
                    .order_by(tickets.c.id.desc())
                    .limit(1)
                )
            ).first()
        if row is not None:
            await self.bus.publish(AGENTS, {"type": "typing", "ticket_id": row.id, "author": "customer"})


HUB = web.AppKey("hub", Hub)


STOP_STEP_SECONDS = 15.0


async def _bounded(name: str, step: Awaitable[None], seconds: float = STOP_STEP_SECONDS) -> None:
    try:
        await asyncio.wait_for(step, seconds)
    except asyncio.TimeoutError:
        log.error("stopping %s took longer than %.0f s; going on without it", name, seconds)
    except Exception:
        log.exception("stopping %s failed", name)
