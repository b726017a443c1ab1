"""Alembic environment.  `hub migrate` hands over a live connection; the alembic CLI builds its own engine."""
from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from hub.store.schema import metadata

config = context.config


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "sqlite+aiosqlite:///hub.db")
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if (conn := config.attributes.get("connection")) is not None:
    _run(conn)
else:
    asyncio.run(_online())
