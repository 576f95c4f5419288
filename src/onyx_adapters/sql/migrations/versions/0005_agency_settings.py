"""Agency settings for analytics: each agency's IANA time zone (``agencies.timezone``, 'UTC' until set), and the
cost the agency entered for a tracking link (``tracking_link_costs``, apart from ``tracking_links``, whose rows
every sync rewrites).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))
    op.create_table(
        "tracking_link_costs",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("set_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["tracking_links.id"], name=op.f("fk_tracking_link_costs_link_id_tracking_links")
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_tracking_link_costs")),
    )


def downgrade() -> None:
    op.drop_table("tracking_link_costs")
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("timezone")
