"""identities.verified: addresses someone typed (chat hello email, callback phone) are display data, not identities

Only verified identities are unique per (channel, external id); unverified ones may repeat across customers.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as b:
        b.add_column(sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.true()))
        b.drop_constraint("uq_identities_channel_external", type_="unique")
    # Claims recorded as identities before this revision: an email that was never the address a ticket was written
    # from came from a chat hello; a phone on a customer who has no Telegram chat (whose shared contact would have
    # proven it) came from a callback form.
    op.execute(
        "UPDATE identities SET verified = false WHERE channel = 'email' AND id NOT IN "
        "(SELECT identity_id FROM tickets WHERE identity_id IS NOT NULL)"
    )
    op.execute(
        "UPDATE identities SET verified = false WHERE channel = 'phone' AND customer_id NOT IN "
        "(SELECT customer_id FROM identities WHERE channel = 'telegram')"
    )
    op.create_index("uq_identities_verified", "identities", ["channel", "external_id"], unique=True,
                    sqlite_where=sa.text("verified"), postgresql_where=sa.text("verified"))
    op.create_index("ix_identities_channel_external", "identities", ["channel", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_identities_channel_external", table_name="identities")
    op.drop_index("uq_identities_verified", table_name="identities")
    op.execute("DELETE FROM identities WHERE NOT verified AND id NOT IN "
               "(SELECT identity_id FROM tickets WHERE identity_id IS NOT NULL)")
    with op.batch_alter_table("identities") as b:
        b.create_unique_constraint("uq_identities_channel_external", ["channel", "external_id"])
        b.drop_column("verified")
