"""Rows of `webhook_deliveries`: queueing an event once per endpoint, and the JSON shape of the delivery log."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.serialize import iso
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks.events import WebhookEvent


def body(event: WebhookEvent, at: datetime) -> str:
    """The exact bytes POSTed (as text): stored once, so every retry sends, and signs, the same body."""
    doc = {"id": event.id, "type": event.type, "created_at": at.isoformat(), "data": event.data}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)


async def enqueue(conn: AsyncConnection, endpoints: list[str], event: WebhookEvent, now: datetime) -> list[int]:
    """One pending delivery per endpoint; an event id an endpoint already has is skipped (the same fact twice)."""
    if not endpoints:
        return []
    ins = (sqlite_insert if conn.dialect.name == "sqlite" else pg_insert)(wd)
    text = body(event, now)
    rows = [
        {"event_id": event.id, "endpoint": name, "event": event.type, "body": text, "state": "pending", "attempts": 0,
         "next_attempt_at": now, "created_at": now}
        for name in endpoints
    ]
    stmt = ins.on_conflict_do_nothing(index_elements=["endpoint", "event_id"]).returning(wd.c.id)
    ids: list[int] = []
    for row in rows:  # one statement per row: RETURNING with executemany is not portable
        got = (await conn.execute(stmt, row)).scalar()
        if got is not None:
            ids.append(got)
    return ids


def delivery_json(r: Any, *, full: bool = False) -> dict[str, Any]:
    out = {
        "id": r.id,
        "event_id": r.event_id,
        "event": r.event,
        "endpoint": r.endpoint,
        "state": r.state,
        "attempts": r.attempts,
        "last_status": r.last_status,
        "last_error": r.last_error,
        "created_at": iso(r.created_at),
        "next_attempt_at": iso(r.next_attempt_at) if r.state == "pending" else None,
        "delivered_at": iso(r.delivered_at),
    }
    if full:
        out["payload"] = json.loads(r.body)
    return out
