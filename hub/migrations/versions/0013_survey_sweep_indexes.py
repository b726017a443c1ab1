"""surveys: (state, due_at) for the sweep that sends due surveys and expires unanswered ones

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_surveys_state_due", "surveys", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_surveys_state_due", table_name="surveys")
