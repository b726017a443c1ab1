"""report_blocks: each UTC day's report rows per source, packed, built by the reports; and the triggers that drop
the blocks whose rows change (hub/reports/blocktriggers.py, which reports also use to restore them, e.g. after a
migration that copies a table)

Revision ID: 0017
Revises: 0016
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_blocks",
        sa.Column("source", sa.String(20), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("calendar", sa.String(40), nullable=False),
        sa.Column("strings", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("questions", sa.LargeBinary, nullable=False),
    )
    # Created here, before the hub serves, so that no report has to take the tables' locks for it under load.
    from hub.reports import blocktriggers

    bind = op.get_bind()
    blocktriggers.create(bind.exec_driver_sql, bind.dialect.name)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        listed = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rb_%'"
        for row in bind.exec_driver_sql(listed).all():
            bind.exec_driver_sql(f"DROP TRIGGER {row[0]}")
    else:
        for row in bind.exec_driver_sql("SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                                        "WHERE tgname LIKE 'rb_%' AND NOT tgisinternal").all():
            bind.exec_driver_sql(f"DROP TRIGGER {row[0]} ON {row[1]}")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {row[0]}()")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS rb_drop(text, integer)")
    op.drop_table("report_blocks")
