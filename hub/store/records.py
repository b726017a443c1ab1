"""Row -> domain value conversion, in one place."""
from __future__ import annotations

from typing import Any

from hub.domain import Agent, Attachment, Author, Customer, Delivery, Direction, Message, Role, Status, Ticket


def attachments(raw: Any) -> tuple[Attachment, ...]:
    return tuple(Attachment(**a) for a in (raw or ()))


# The columns `ticket` reads: what a statement that only makes a Ticket of its row needs to return.  The others (the
# tags, the breaches, the bot's state: JSON to decode) stay unread.
TICKET_COLUMNS = ("id", "status", "priority", "department", "kind", "channel", "language", "customer_id", "assignee_id",
                  "subject", "created_at", "updated_at", "first_response_due", "resolution_due", "first_response_at",
                  "resolved_at", "bot_misses", "identity_id")


def ticket(r: Any) -> Ticket:
    return Ticket(
        id=r.id,
        status=Status(r.status),
        priority=r.priority,
        department=r.department,
        kind=r.kind,
        channel=r.channel,
        language=r.language,
        customer_id=r.customer_id,
        assignee_id=r.assignee_id,
        subject=r.subject,
        created_at=r.created_at,
        updated_at=r.updated_at,
        first_response_due=r.first_response_due,
        resolution_due=r.resolution_due,
        first_response_at=r.first_response_at,
        resolved_at=r.resolved_at,
        bot_misses=r.bot_misses,
        identity_id=r.identity_id,
    )


def message(r: Any) -> Message:
    return Message(
        id=r.id,
        ticket_id=r.ticket_id,
        direction=Direction(r.direction),
        author=Author(r.author),
        text=r.text,
        channel=r.channel,
        created_at=r.created_at,
        delivery=Delivery(r.delivery) if r.delivery else None,
        provider_id=r.provider_id,
        html=r.html,
        attachments=attachments(r.attachments),
        agent_id=r.agent_id,
        delivery_error=r.delivery_error,
        edited_at=r.edited_at,
    )


def agent(r: Any) -> Agent:
    return Agent(
        id=r.id,
        name=r.name,
        email=r.email,
        role=Role(r.role),
        departments=tuple(r.departments or ()),
        capacity=r.capacity,
        active=r.active,
    )


def customer(r: Any) -> Customer:
    return Customer(
        id=r.id,
        name=r.name,
        language=r.language,
        tier=r.tier,
        account_manager_id=r.account_manager_id,
        created_at=r.created_at,
    )
