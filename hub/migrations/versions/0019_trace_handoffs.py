"""trace lines in the reports' index only when they are handoffs: the full (what, ticket_id) index took a write at
each routing word's place for every new ticket, and the reports look up only the handed-off tickets

Revision ID: 0019
Revises: 0018
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# As hub.store.schema.HANDOFF_LIST when this was written: a migration keeps its own copy.
_WHERE = "what IN ('handoff', 'escalated')"


def upgrade() -> None:
    op.drop_index("ix_trace_what_ticket", table_name="trace")
    op.create_index("ix_trace_handoffs", "trace", ["ticket_id"], sqlite_where=sa.text(_WHERE),
                    postgresql_where=sa.text(_WHERE))


def downgrade() -> None:
    op.drop_index("ix_trace_handoffs", table_name="trace")
    op.create_index("ix_trace_what_ticket", "trace", ["what", "ticket_id"])
