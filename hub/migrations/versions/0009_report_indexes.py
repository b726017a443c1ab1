"""Indexes for the Reports tab: tickets by creation time, trace lines by what happened

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_created", "tickets", ["created_at"])
    op.create_index("ix_trace_what_ticket", "trace", ["what", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_trace_what_ticket", table_name="trace")
    op.drop_index("ix_tickets_created", table_name="tickets")
