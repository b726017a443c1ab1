"""callbacks: reminder/escalation marks, manage token, booking idempotency key

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("manage_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("request_key", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_callbacks_request_key", ["request_key"], unique=True)
        batch_op.create_index("ix_callbacks_slot_status", ["slot_start", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_slot_status")
        batch_op.drop_index("ix_callbacks_request_key")
        batch_op.drop_column("request_key")
        batch_op.drop_column("manage_hash")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("reminded_at")
