"""report_blocks: each UTC day's report rows per source, packed, built by reports on SQLite (the triggers that drop
stale blocks are created by hub.reports.blocks.ensure_triggers, which also restores them after a migration that
copies a table)

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


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for row in op.get_bind().exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rb_%'").all():
            op.execute(f"DROP TRIGGER {row[0]}")
    op.drop_table("report_blocks")
