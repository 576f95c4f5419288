"""Operations: the ``ops_leases`` table, a lease row per exclusive operation (the heartbeat endpoint's tick), so
concurrent callers in any number of processes run it at most once at a time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("started_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("available_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_leases")),
    )


def downgrade() -> None:
    op.drop_table("ops_leases")
