"""The audit log: who read or changed customer data or configuration, when, on what, and from which address.

`record` is the one way in; it writes in the caller's transaction, so an action and its audit row commit or roll
back together.  There is no way out but reading: no update or delete exists here, and the database refuses them
(triggers of migration 0006).  `detail` carries ids, field names and counts, never a customer's words, so an erased
customer leaves nothing behind in this table.

The client address comes from the request: the web layer sets `SOURCE` for every request (hub.web.middleware.scoped), so
services that know nothing of HTTP (hub.actions) still record where an action came from.  May import hub.domain and
hub.store only.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select

from hub.domain import Agent
from hub.store.prepared import Prepared
from hub.store.schema import audit_log

# The client address of the request being served (None outside a request: the scheduler, the command line).
SOURCE: ContextVar[str | None] = ContextVar("audit_source", default=None)

# The actions the hub records, by name; `record` refuses others, so a typo cannot hide an action from a filter.
ACTIONS = frozenset({
    # sessions
    "auth.login", "auth.login_failed", "auth.logout",
    # tickets
    "ticket.view", "ticket.claim", "ticket.reply", "ticket.note", "ticket.transfer", "ticket.resolve", "ticket.reopen",
    "ticket.pending", "ticket.attachment", "ticket.resend",
    # customers
    "customer.view", "customer.edit", "customer.merge", "customer.export", "customer.erase",
    # callbacks
    "callback.claim", "callback.outcome",
    # configuration
    "canned.create", "canned.update", "canned.delete",
    "agent.create", "agent.update", "agent.activate", "agent.deactivate", "agent.password",
    # the log itself, and the hub's own housekeeping
    "audit.export", "retention.run",
})


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_role: str | None
    action: str
    target_type: str
    target_id: str | None
    customer_id: int | None
    source: str | None
    detail: dict[str, Any]


# Agents' actions each write an entry: prepared once (hub.store.prepared) rather than executed through SQLAlchemy.
_INSERT = Prepared(insert(audit_log).returning(audit_log.c.id), (
    "at", "actor_id", "actor_name", "actor_role", "action", "target_type", "target_id", "customer_id", "source", "detail"))


async def record(
    conn: Any,
    action: str,
    *,
    actor: Agent | None,
    target_type: str,
    target_id: int | str | None = None,
    at: datetime,
    customer_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    source: str | None = None,
    actor_name: str | None = None,
) -> int:
    """Append one entry in `conn`'s transaction and return its id.

    `actor` None means the hub itself (or, with `actor_name`, someone not signed in: a failed login names the email
    that was tried).  `source` defaults to the address of the request being served."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    name = actor.name if actor is not None else (actor_name or "system")
    values = {
        "at": at,
        "actor_id": actor.id if actor is not None else None,
        "actor_name": name[:200],
        "actor_role": actor.role.value if actor is not None else None,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id)[:100],
        "customer_id": customer_id,
        "source": (source if source is not None else SOURCE.get()),
        "detail": dict(detail or {}),
    }
    return (await _INSERT.run(conn, values)).scalar_one()


@dataclass(frozen=True, slots=True)
class Filter:
    actor_id: int | None = None
    action: str | None = None  # an exact name, or a prefix ending in "." ("ticket.")
    target_type: str | None = None
    target_id: str | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None


def _where(f: Filter) -> list[Any]:
    c = audit_log.c
    conds: list[Any] = []
    if f.actor_id is not None:
        conds.append(c.actor_id == f.actor_id)
    if f.action:
        conds.append(c.action.startswith(f.action, autoescape=True) if f.action.endswith(".") else c.action == f.action)
    if f.target_type:
        conds.append(c.target_type == f.target_type)
    if f.target_id:
        conds.append(c.target_id == f.target_id)
    if f.customer_id is not None:
        conds.append(c.customer_id == f.customer_id)
    if f.since is not None:
        conds.append(c.at >= f.since)
    if f.until is not None:
        conds.append(c.at < f.until)
    if f.source:
        conds.append(c.source == f.source)
    return conds


async def entries(conn: Any, f: Filter, *, limit: int, before_id: int | None = None) -> list[Entry]:
    """Newest first; `before_id` pages on (the cursor is the last id seen)."""
    conds = _where(f)
    if before_id is not None:
        conds.append(audit_log.c.id < before_id)
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if conds:
        q = q.where(and_(*conds))
    return [_entry(r) for r in (await conn.execute(q)).all()]


def _entry(r: Any) -> Entry:
    return Entry(r.id, r.at, r.actor_id, r.actor_name, r.actor_role, r.action, r.target_type, r.target_id,
                 r.customer_id, r.source, dict(r.detail or {}))


def entry_json(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id, "actor_name": e.actor_name,
        "actor_role": e.actor_role, "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
        "customer_id": e.customer_id, "source": e.source, "detail": e.detail,
    }
