"""Apply the Alembic migrations shipped in hub/migrations (on `hub migrate` and at `hub serve` start)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig

from hub.store.db import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None, connection: Any = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def migrate(db: Database, revision: str = "head") -> None:
    await db.run_sync(lambda sync_conn: command.upgrade(alembic_config(connection=sync_conn), revision))
