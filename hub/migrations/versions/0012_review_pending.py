"""Customer messages waiting for the language review: reviewed after a restart if the hub stopped first

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and NULL for every existing row: messages stored before this revision count as reviewed.
    op.add_column("messages", sa.Column("review_pending", sa.Boolean()))
    op.create_index("ix_messages_review_pending", "messages", ["id"],
                    sqlite_where=sa.text("review_pending"), postgresql_where=sa.text("review_pending"))


def downgrade() -> None:
    op.drop_index("ix_messages_review_pending", table_name="messages")
    op.drop_column("messages", "review_pending")
