"""Durable cursors for channels (Telegram offset, IMAP UIDVALIDITY/UID) in the `checkpoints` table."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.clock import Clock
from hub.store.db import Database
from hub.store.schema import checkpoints


class DbCheckpoints:
    def __init__(self, db: Database, clock: Clock, prefix: str) -> None:
        self.db, self.clock, self.prefix = db, clock, prefix

    async def get(self, key: str) -> str | None:
        async with self.db.read() as conn:
            return (await conn.execute(select(checkpoints.c.value).where(checkpoints.c.key == self.prefix + key))).scalar()

    async def set(self, key: str, value: str) -> None:
        ins = (sqlite_insert if self.db.is_sqlite else pg_insert)(checkpoints)
        stmt = ins.values(key=self.prefix + key, value=value, updated_at=self.clock.now())
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at})
        async with self.db.write() as conn:
            await conn.execute(stmt)


__all__ = ["DbCheckpoints"]
