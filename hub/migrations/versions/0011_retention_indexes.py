"""Partial indexes for the retention job: finished tickets not yet anonymised, messages still holding raw data

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_retention", "tickets", ["status", "updated_at"],
                    sqlite_where=sa.text("anonymised_at IS NULL"), postgresql_where=sa.text("anonymised_at IS NULL"))
    op.create_index("ix_messages_raw", "messages", ["created_at"],
                    sqlite_where=sa.text("raw IS NOT NULL"), postgresql_where=sa.text("raw IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_messages_raw", table_name="messages")
    op.drop_index("ix_tickets_retention", table_name="tickets")
