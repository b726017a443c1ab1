"""One customer's data as a ZIP: JSON files plus the attachments, for the customer's right to a copy.

Layout (README.txt inside says the same to whoever opens it):
  manifest.json            when, by which agent, what is inside, attachments that could not be fetched
  customer.json            the profile and every identity (proven or only typed) the hub keeps
  tickets/<id>.json        a ticket with its messages, internal notes (marked "internal": true) and routing decisions
  callbacks.json, surveys.json, followups.json
  attachments/<ticket>/<message>-<index>-<name>   the bytes, fetched from the channel that holds them

Rows are written column by column, so a column added later is exported without a change here; only secrets that
are not the customer's data (token hashes, idempotency keys) are left out.  May import hub.store only.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select

from hub.store import records
from hub.store.schema import callbacks, customers, followups, identities, messages, notes, surveys, tickets, trace

# Not the customer's data: hashes of access tokens and idempotency keys (useless to them, useful to an attacker).
_SECRET = {"token_hash", "manage_hash", "request_key", "password_hash"}
Fetch = Callable[[str, str, int], Awaitable[bytes]]  # (channel, ref, max bytes) -> bytes

README = """This archive holds the personal data the support hub keeps about one customer.

manifest.json      when it was made and what is inside
customer.json      the customer's profile and addresses (identities)
tickets/*.json     each conversation: messages (direction in = from the customer), internal notes
                   (marked "internal": true; written by staff, never sent) and routing decisions (trace)
callbacks.json     call-back requests; surveys.json satisfaction answers; followups.json check-ins
attachments/       files the customer sent or received, by ticket
Times are ISO 8601 in UTC.
"""


def _value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else v


def row_json(table: Table, r: Any) -> dict[str, Any]:
    return {c.name: _value(getattr(r, c.name)) for c in table.columns if c.name not in _SECRET}


@dataclass
class Archive:
    data: bytes
    counts: dict[str, int]
    missing: list[dict[str, Any]] = field(default_factory=list)


async def collect(conn: Any, customer_id: int) -> dict[str, Any] | None:
    """Everything stored about the customer, as JSON-ready values (None when there is no such customer)."""
    row = (await conn.execute(select(customers).where(customers.c.id == customer_id))).first()
    if row is None:
        return None
    idents = (await conn.execute(select(identities).where(identities.c.customer_id == customer_id)
                                 .order_by(identities.c.id))).all()
    ts = (await conn.execute(select(tickets).where(tickets.c.customer_id == customer_id).order_by(tickets.c.id))).all()
    out_tickets = []
    for t in ts:
        msgs = (await conn.execute(select(messages).where(messages.c.ticket_id == t.id).order_by(messages.c.id))).all()
        ns = (await conn.execute(select(notes).where(notes.c.ticket_id == t.id).order_by(notes.c.id))).all()
        tr = (await conn.execute(select(trace).where(trace.c.ticket_id == t.id).order_by(trace.c.id))).all()
        body = row_json(tickets, t)
        body["messages"] = [row_json(messages, m) for m in msgs]
        body["notes"] = [dict(row_json(notes, n), internal=True) for n in ns]
        body["routing"] = [row_json(trace, x) for x in tr]
        out_tickets.append(body)

    async def rows(table: Table) -> list[dict[str, Any]]:
        res = (await conn.execute(select(table).where(table.c.customer_id == customer_id).order_by(table.c.id))).all()
        return [row_json(table, r) for r in res]

    return {
        "customer": dict(row_json(customers, row), identities=[row_json(identities, i) for i in idents]),
        "tickets": out_tickets,
        "callbacks": await rows(callbacks),
        "surveys": await rows(surveys),
        "followups": await rows(followups),
    }


_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def _file_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._")[:100]
    return cleaned or "attachment"


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False).encode("utf-8")


async def build(data: dict[str, Any], fetch: Fetch, max_bytes: int, *, made_at: datetime, made_by: int) -> Archive:
    """The ZIP of `collect`'s data; attachments are fetched one by one and those that cannot be are listed."""
    buf = io.BytesIO()
    missing: list[dict[str, Any]] = []
    attached = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", README)
        z.writestr("customer.json", _dump(data["customer"]))
        for t in data["tickets"]:
            z.writestr(f"tickets/{t['id']}.json", _dump(t))
            for m in t["messages"]:
                for i, a in enumerate(records.attachments(m["attachments"])):
                    where = {"ticket_id": t["id"], "message_id": m["id"], "index": i, "name": a.name}
                    if not a.ref:
                        missing.append(dict(where, reason="the channel kept no copy"))
                        continue
                    try:
                        blob = await fetch(m["channel"], a.ref, max_bytes)
                    except Exception as exc:  # one unreachable file must not cost the customer the whole copy
                        missing.append(dict(where, reason=str(getattr(exc, "detail", "")) or type(exc).__name__))
                        continue
                    z.writestr(f"attachments/{t['id']}/{m['id']}-{i}-{_file_name(a.name)}", blob)
                    attached += 1
        for name in ("callbacks", "surveys", "followups"):
            z.writestr(f"{name}.json", _dump(data[name]))
        counts = {"tickets": len(data["tickets"]), "messages": sum(len(t["messages"]) for t in data["tickets"]),
                  "notes": sum(len(t["notes"]) for t in data["tickets"]), "callbacks": len(data["callbacks"]),
                  "surveys": len(data["surveys"]), "followups": len(data["followups"]), "attachments": attached}
        z.writestr("manifest.json", _dump({
            "format": 1, "customer_id": data["customer"]["id"], "made_at": made_at.isoformat(), "made_by_agent": made_by,
            "counts": counts, "attachments_missing": missing,
        }))
    return Archive(buf.getvalue(), counts, missing)
