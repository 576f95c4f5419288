"""Refresh runs: a stats refresh of one creator or of an agency, its progress, and the lock key that allows one
active run per key (one refresh-all per agency) across processes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lock_key", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_refresh_runs_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_runs")),
        sa.UniqueConstraint("lock_key", name=op.f("uq_refresh_runs_lock_key")),
    )


def downgrade() -> None:
    op.drop_table("refresh_runs")
