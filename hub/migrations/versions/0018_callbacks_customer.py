"""callbacks by customer: a customer's callbacks (the zone of their latest booking, which every survey and follow-up
to them reads; merging and erasing a customer) are found by key instead of by reading every booking

Revision ID: 0018
Revises: 0017
"""
from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_callbacks_customer", "callbacks", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_callbacks_customer", table_name="callbacks")
