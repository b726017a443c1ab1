"""Where a customer message goes: the ticket it continues (a reply to one of its mails, a quoted ticket number, the
customer's conversation on this channel), or the ticket it opens, routed, traced and with its plug-ins' work
(SLA jobs, assignment, webhooks) in the same transaction; and what the message does to a ticket it continues
(reopens it, ends `pending`, goes back to the queue when its agent has left).

Used by hub.intake inside the transaction that stores the message; holds no state of its own beyond the hooks the
hub registers.  Imports the store, the router port and the titles.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, literal, select

from hub.config import Config
from hub.domain import NO_ANSWER, OPEN_VALUES as OPEN, Inbound, Status, Ticket
from hub.ports import RouteRequest, RouteResult, Router
from hub.store import records
from hub.store import tickets as ticket_store
from hub.store.prepared import Prepared
from hub.store.schema import agents, customers, messages, tickets
from hub.titles import title_of

__all__ = ["Placement"]


# Built once, executed with parameters: compiled a single time instead of per new ticket.
_TICKET_KEYS = ("customer_id", "identity_id", "status", "priority", "department", "kind", "channel", "language",
                "assignee_id", "subject", "tags", "created_at", "updated_at", "first_response_due", "resolution_due",
                "breached", "bot_state", "bot_misses", "parent_id")
_INSERT_TICKET = Prepared(insert(tickets).returning(*ticket_store.TICKET_ROW), _TICKET_KEYS)
# A known customer's message looks for the ticket it continues (when the chat fast path does not know it: after a
# restart, on email): what a Ticket is made of, prepared.
_QUOTED = Prepared(
    select(*ticket_store.TICKET_ROW)
    .where(and_(tickets.c.id == bindparam("tid"), tickets.c.customer_id == bindparam("cid"))),
    ("tid", "cid"),
)
_CONVERSATION = Prepared(
    select(*ticket_store.TICKET_ROW)
    .where(and_(tickets.c.customer_id == bindparam("cid"), tickets.c.channel == bindparam("channel"),
                tickets.c.identity_id == bindparam("iid")))
    .order_by(tickets.c.id.desc()).limit(1),
    ("cid", "channel", "iid"),
)
# What routing needs of a known customer (every mail from a known sender reads it), prepared: the open statuses are
# constants written into the statement, not an expanding list, which could not be prepared.
_CUSTOMER_FACTS = Prepared(
    select(
        customers.c.language, customers.c.tier, customers.c.tags, customers.c.account_manager_id,
        select(func.count()).select_from(tickets)
        .where(and_(tickets.c.customer_id == bindparam("cid"),
                    tickets.c.status.in_([literal(s, tickets.c.status.type) for s in OPEN])))
        .scalar_subquery().label("open"),
    ).where(customers.c.id == bindparam("cid")),
    ("cid",),
)

OpenedHook = Callable[[Any, Ticket, RouteResult], Awaitable[Ticket | None]]
ChangeHook = Callable[[Any, Ticket, dict[str, Any], datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _NewCustomer:
    """The routing facts of a customer inserted in this transaction (hub.store.customers' defaults)."""

    language: str | None
    tier: str = "standard"
    tags: tuple[str, ...] = ()
    account_manager_id: int | None = None
    open: int = 0


class Placement:
    def __init__(self, config: Config, router: Router, *, conversational: Callable[[str], bool],
                 bot_enabled: Callable[[str], bool]) -> None:
        self.config, self.router = config, router
        self.conversational = conversational
        self.bot_enabled = bot_enabled
        self.reopen_to_bot: Callable[[str], bool] = lambda channel: False  # bot.reopen_to_bot, set by the hub
        # async fn(conn, ticket, route) -> Ticket | None, run in the transaction that opened the ticket
        self.on_ticket_opened: list[OpenedHook] = []
        # Hooks of `on_ticket_opened` that the language review runs in the open's stead when the opening message
        # goes to it (`open(review=True)`; hub.escalation): the SLA jobs, which a complaint the review finds moves at
        # once, are written once, in the review's write, from the route `open` returns.
        self.armed_by_review: set[OpenedHook] = set()
        # async fn(conn, ticket, values, now) before a customer message changes an existing ticket (SLA pause)
        self.on_ticket_change: list[ChangeHook] = []

    async def find(
        self, conn: Any, inbound: Inbound, cid: int, iid: int, now: datetime, *, new_customer: bool = False
    ) -> tuple[Ticket | None, str, bool, int | None]:
        """(ticket to continue, why, new?, parent id for a follow-up).  A customer created just now has no ticket of
        their own, but may still write on a thread of someone else's (a colleague in copy, a bounce)."""
        candidate: Ticket | None = None
        why = ""
        if inbound.thread_refs:
            row = (
                await conn.execute(
                    select(messages.c.ticket_id)
                    .where(and_(messages.c.channel == inbound.channel, messages.c.provider_id.in_(inbound.thread_refs)))
                    .order_by(messages.c.id.desc())
                    .limit(1)
                )
            ).first()
            if row is not None:
                candidate, why = await ticket_store.get_ticket(conn, row.ticket_id), "replies to a message of this ticket"
        if candidate is None and inbound.ticket_hint is not None and not new_customer:
            row = (await _QUOTED.run(conn, {"tid": inbound.ticket_hint, "cid": cid})).first()
            if row is not None:
                candidate, why = records.ticket(row), f"quotes ticket #{inbound.ticket_hint}"
        if candidate is None and self.conversational(inbound.channel) and not new_customer:
            # The conversation of this very identity: after a merge a customer may have two chats on one channel,
            # and each reply goes back to the identity its ticket was written from.
            row = (await _CONVERSATION.run(conn, {"cid": cid, "channel": inbound.channel, "iid": iid})).first()
            if row is not None:
                candidate, why = records.ticket(row), "continues the customer's conversation on this channel"
        if candidate is None:
            return None, "", True, None
        if candidate.status.value in OPEN:
            return candidate, why, False, None
        window = self.config.tickets.reopen_window
        if candidate.status is Status.RESOLVED and candidate.resolved_at and now - candidate.resolved_at <= window:
            return candidate, why, False, None
        return None, f"follow-up to #{candidate.id} ({candidate.status.value}): {why}", True, candidate.id

    async def open(
        self, conn: Any, inbound: Inbound, cid: int, iid: int, now: datetime, parent: int | None, why: str = "",
        *, new_customer: bool = False, review: bool = False,
    ) -> tuple[Ticket, RouteResult]:
        """The new ticket, and the route it was opened on.  `review`: the opening message goes to the language
        review, which runs the hooks of `armed_by_review`."""
        if new_customer:  # what `resolve_sender` has just written: no need to read it back
            cust: Any = _NewCustomer(inbound.sender_lang and inbound.sender_lang[:10])
        else:
            cust = (await _CUSTOMER_FACTS.run(conn, {"cid": cid})).one()
        repeat = cust.open > 0
        route = self.router.route(
            RouteRequest(
                text=inbound.text,
                channel=inbound.channel,
                now=now,
                language_hint=inbound.sender_lang or cust.language,
                subject=inbound.subject,
                tier=cust.tier,
                tags=tuple(cust.tags or ()),
                account_manager_id=cust.account_manager_id,
                repeat_contact=repeat or parent is not None,
                # Keywords only inside the transaction: the learned model runs after the commit (hub.escalation),
                # so it never delays the acknowledgement.
                detector="lexicon",
            )
        )
        if self.bot_enabled(inbound.channel) and not inbound.flags & NO_ANSWER:
            status = Status.BOT
        else:
            status = Status.QUEUED
        row = (
            await _INSERT_TICKET.run(
                conn,
                dict(
                    customer_id=cid,
                    identity_id=iid,
                    status=status.value,
                    priority=route.priority,
                    department=route.department,
                    kind=route.kind,
                    channel=inbound.channel,
                    language=route.language,
                    assignee_id=None,  # assignment checks presence and capacity: see `on_ticket_opened`
                    subject=(inbound.subject or "")[:200] or title_of(inbound.text, route.language),
                    tags=list(route.tags),
                    created_at=now,
                    updated_at=now,
                    first_response_due=route.first_response_due,
                    resolution_due=route.resolution_due,
                    breached=[],
                    bot_state={},
                    bot_misses=0,
                    parent_id=parent,
                ),
            )
        ).one()
        ticket = records.ticket(row)
        traces = (("opened", f"{inbound.channel} message"), *route.trace, *((("thread", why),) if why else ()))
        await ticket_store.add_traces(conn, ticket.id, now, traces)
        # Plug-ins act inside the same transaction (SLA jobs, auto-assignment), so a crash leaves all or nothing.
        for hook in self.on_ticket_opened:
            if not (review and hook in self.armed_by_review):
                ticket = await hook(conn, ticket, route) or ticket
        return ticket, route

    async def resume(self, conn: Any, t: Ticket, inbound: Inbound, now: datetime, why: str, iid: int) -> Ticket:
        values: dict[str, Any] = {"updated_at": now}
        owner = t.assignee_id
        robot = inbound.flags & NO_ANSWER
        if robot and t.status in (Status.PENDING, Status.RESOLVED):
            # An out-of-office or a bounce that a mail of ours drew (the closing notice, a survey, a check-in) is not
            # the customer writing again: kept on the ticket, which stays where it was.
            await ticket_store.add_trace(conn, t.id, now, "thread", f"{'/'.join(sorted(robot))} kept; the ticket stays {t.status.value}")
            row = await ticket_store.update_ticket(conn, t.id, values)
            return records.ticket(row)
        if owner and t.status in (Status.PENDING, Status.RESOLVED) and not await self._active(conn, owner):
            # A deactivated agent's ticket that comes back goes to the queue, as their open ones did when they left.
            owner = values["assignee_id"] = None
        if t.status is Status.PENDING:
            values["status"] = Status.ASSIGNED.value if owner else Status.QUEUED.value
            values["sla_paused_at"] = None
        elif t.status is Status.RESOLVED:
            values["status"] = Status.ASSIGNED.value if owner else Status.QUEUED.value
            if not owner and self.reopen_to_bot(inbound.channel):  # an owned ticket goes back to its agent
                values.update(status=Status.BOT.value, bot_misses=0, bot_state={})
            values["resolved_at"] = None
            await ticket_store.add_trace(conn, t.id, now, "reopened", f"customer wrote again: {why}")
        elif not self.conversational(inbound.channel) and why:
            await ticket_store.add_trace(conn, t.id, now, "thread", why)
        if "status" in values:
            for hook in self.on_ticket_change:
                await hook(conn, t, values, now)
        row = await ticket_store.update_ticket(conn, t.id, values)
        return records.ticket(row)

    @staticmethod
    async def _active(conn: Any, agent_id: int) -> bool:
        return bool((await conn.execute(select(agents.c.active).where(agents.c.id == agent_id))).scalar())
