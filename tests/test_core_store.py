"""Storage: migrations match the schema; intake is idempotent on both databases."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.domain import Identity, Inbound
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.schema import metadata
from tests.hubtest import hub_config, running_hub


async def test_migrations_match_schema(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate(db)
        diff = await db.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        # Type-affinity noise aside, the migrated database has every table, column and index of the schema.
        structural = [d for d in diff if isinstance(d, tuple) and d[0] in ("add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")]
        assert structural == []
    finally:
        await db.close()


def _inbound(pid: str, text: str = "hello", ext: str = "u1") -> Inbound:
    return Inbound(channel="webchat", provider_id=pid, sender=Identity("webchat", ext), text=text, received_at=datetime.now(timezone.utc))


async def test_concurrent_redelivery_stores_once(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        results = await asyncio.gather(*(h.hub.intake.deliver(_inbound("same-id")) for _ in range(8)))
        assert len({r.message_id for r in results}) == 1
        assert sum(not r.duplicate for r in results) == 1
        many = await asyncio.gather(*(h.hub.intake.deliver(_inbound(f"id-{i}", ext=f"cust-{i % 3}")) for i in range(30)))
        assert len({r.message_id for r in many}) == 30
        assert len({r.customer_id for r in many}) == 3
        assert len({r.ticket_id for r in many}) == 3


async def test_edit_updates_original(hub) -> None:
    first = await hub.hub.intake.deliver(_inbound("m1", "helo"))
    edit = Inbound(channel="webchat", provider_id="m1:edit:1", sender=Identity("webchat", "u1"), text="hello", received_at=datetime.now(timezone.utc), edit_of="m1")
    again = await hub.hub.intake.deliver(edit)
    assert again.message_id == first.message_id
    assert (await hub.hub.intake.deliver(edit)).duplicate
    a = await hub.agent("a@example.com")
    _, t = await hub.api("GET", f"/api/tickets/{first.ticket_id}", a)
    assert [m["text"] for m in t["messages"]] == ["hello"] and t["messages"][0]["edited_at"]


async def test_a_guarded_ticket_update_changes_the_ticket_once(db_url: str) -> None:
    """`update_ticket` builds each statement once per columns and guard; the guards still decide, on both
    databases: the escalation's (not yet a complaint), the title's (none yet) and the kind's (still the one read)."""
    from hub.store.tickets import update_ticket

    async with running_hub(hub_config(db_url)) as h:
        tid = (await h.hub.intake.deliver(_inbound("g-1", "where is my parcel"))).ticket_id
        now = datetime.now(timezone.utc)
        async with h.hub.db.write() as conn:
            kind = (await update_ticket(conn, tid, {"updated_at": now})).kind
            assert await update_ticket(conn, tid, {"kind": "sales"}, guard="kind", kind="feedback") is None
            assert (await update_ticket(conn, tid, {"kind": "sales"}, guard="kind", kind=kind)).kind == "sales"
            raised = await update_ticket(conn, tid, {"kind": "complaint", "priority": "high"}, guard="not_complaint")
            assert (raised.kind, raised.priority) == ("complaint", "high")
            assert await update_ticket(conn, tid, {"kind": "complaint", "priority": "urgent"}, guard="not_complaint") is None
            await update_ticket(conn, tid, {"subject": None})
            assert (await update_ticket(conn, tid, {"subject": "Parcel"}, guard="untitled")).subject == "Parcel"
            assert await update_ticket(conn, tid, {"subject": "Other"}, guard="untitled") is None
            assert (await update_ticket(conn, tid, {"tags": ["vip", "ไทย"]}, returning=False)).rowcount == 1
        async with h.hub.db.read() as conn:
            row = await _ticket_row(conn, tid)
        assert (row.kind, row.priority, row.subject, list(row.tags)) == ("complaint", "high", "Parcel", ["vip", "ไทย"])


async def _ticket_row(conn: Any, tid: int) -> Any:
    from sqlalchemy import select

    from hub.store.schema import tickets

    return (await conn.execute(select(tickets).where(tickets.c.id == tid))).one()
