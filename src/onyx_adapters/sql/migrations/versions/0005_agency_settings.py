"""Agency settings for analytics: each agency's IANA time zone (``agencies.timezone``, 'UTC' until set), the cost
the agency entered for a tracking link (``tracking_link_costs``, apart from ``tracking_links``, whose rows every
sync rewrites), and Fanvue's chatter leaderboard per UTC day (``chatter_days``: the PPV unlock rate's source).

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
    op.create_table(
        "chatter_days",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("chatter_id", sa.String(length=64), nullable=False),
        sa.Column("chatter_name", sa.String(length=200), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("ppvs_sent", sa.BigInteger(), nullable=False),
        sa.Column("ppvs_unlocked", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_chatter_days_agency_id_agencies")),
        sa.PrimaryKeyConstraint("agency_id", "day", "chatter_id", name=op.f("pk_chatter_days")),
    )


def downgrade() -> None:
    op.drop_table("chatter_days")
    op.drop_table("tracking_link_costs")
    # a plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch would copy the table, and dropping the old
    # agencies table fails the foreign keys that point at it
    op.drop_column("agencies", "timezone")
