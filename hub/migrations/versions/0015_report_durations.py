"""report_durations: tickets' business-hours durations kept for the Reports tab, filled at report time

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_durations",
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("department", sa.String(100)),
        sa.Column("calendar", sa.String(40), nullable=False),
        sa.Column("first_response_bs", sa.Float),
        sa.Column("resolution_bs", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("report_durations")
