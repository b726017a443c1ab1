"""Survey and follow-up rows as the JSON shapes of the API, the bus and the webhooks (names kept stable)."""
from __future__ import annotations

from typing import Any

from hub.serialize import iso

SURVEY_ANSWERED = "survey.answered"


def survey_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "ticket_id": r.ticket_id,
        "customer_id": r.customer_id,
        "resolved_at": iso(r.resolved_at),
        "channel": r.channel,
        "via": r.via,
        "department": r.department,
        "agent_id": r.agent_id,
        "language": r.language,
        "state": r.state,
        "reason": r.reason,
        "score": r.score,
        "nps": r.nps,
        "comment": r.comment,
        "answers": r.answers,
        "complaint_ticket_id": r.complaint_ticket_id,
        "due_at": iso(r.due_at),
        "sent_at": iso(r.sent_at),
        "expires_at": iso(r.expires_at),
        "answered_at": iso(r.answered_at),
        "updated_at": iso(r.updated_at),
    }


def followup_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "ticket_id": r.ticket_id,
        "customer_id": r.customer_id,
        "agent_id": r.agent_id,
        "created_by": r.created_by,
        "source": r.source,
        "mode": r.mode,
        "text": r.text,
        "language": r.language,
        "tz": r.tz,
        "due_at": iso(r.due_at),
        "state": r.state,
        "reason": r.reason,
        "outcome": r.outcome,
        "message_id": r.message_id,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "done_at": iso(r.done_at),
    }


def answered_event(survey: dict[str, Any], ticket: dict[str, Any] | None) -> dict[str, Any]:
    """The `survey.answered` bus event.  `event_id` is the same for a redelivery of one stored answer and differs
    for a changed score (answers counts stored answers), so a consumer de-duplicates on it."""
    return {
        "type": SURVEY_ANSWERED,
        "event_id": f"{SURVEY_ANSWERED}:{survey['id']}:{survey['answers']}",
        "survey": survey,
        "ticket": ticket,
    }
