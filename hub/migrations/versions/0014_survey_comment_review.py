"""surveys.comment_pending: a stored comment the complaint classifier has not read yet

Set in the transaction that stores a new comment and cleared in the one that opens its complaint follow-up or
decides none is needed, so the survey sweep finds a comment whose review a stopped process never finished.

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and NULL for every existing row: comments stored before this revision count as reviewed.
    op.add_column("surveys", sa.Column("comment_pending", sa.Boolean()))
    # Partial: almost every row is reviewed, the sweep reads only the few that are not.
    op.create_index("ix_surveys_comment_pending", "surveys", ["updated_at"],
                    postgresql_where=sa.text("comment_pending"), sqlite_where=sa.text("comment_pending"))


def downgrade() -> None:
    op.drop_index("ix_surveys_comment_pending", table_name="surveys")
    op.drop_column("surveys", "comment_pending")
