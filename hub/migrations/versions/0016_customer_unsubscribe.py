"""customers.unsubscribed_at: the customer opted out of win-back and proactive follow-up messages

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("unsubscribed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("customers", "unsubscribed_at")
