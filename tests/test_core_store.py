"""Storage: migrations match the schema; intake is idempotent on both databases."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

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
