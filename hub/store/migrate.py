"""Apply the Alembic migrations shipped in hub/migrations (on `hub migrate` and at `hub serve` start)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

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


def _at(sync_conn: Any, revision: str) -> bool:
    """Whether the database is already at `revision` ("head": the newest)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = set(MigrationContext.configure(sync_conn).get_current_heads())
    script = ScriptDirectory.from_config(alembic_config())
    wanted = set(script.get_heads()) if revision == "head" else {script.get_revision(revision).revision}
    return current == wanted


MIGRATE_LOCK = 0x48554221  # pg_advisory_xact_lock key: one migrating process at a time


async def migrate(db: Database, revision: str = "head") -> None:
    def upgrade(sync_conn: Any) -> None:
        if sync_conn.dialect.name == "postgresql":
            # Several processes starting together on a fresh database would all create the same tables; the others
            # wait here, then find the schema at head and do nothing.
            sync_conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
            command.upgrade(alembic_config(connection=sync_conn), revision)
            return
        if _at(sync_conn, revision):
            return
        # SQLite alters a table by copying it, dropping the original and renaming the copy, and that rename fails
        # while another table's trigger names the table: the report-block triggers are dropped around the upgrade.
        from hub.reports import blocktriggers

        blocktriggers.around_copies(sync_conn, lambda: command.upgrade(alembic_config(connection=sync_conn), revision))

    # Foreign keys off on SQLite: a migration that copies a table must not fire ON DELETE on the rows pointing at it.
    await db.run_sync(upgrade, foreign_keys=False)
