"""Data versions: ``creators.data_version`` and ``agencies.data_version``, counters bumped in the same transaction by
every write of the data the dashboard reads, so the response cache has a cheap stamp that moves with them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agencies", sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("creators", sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    # a plain drop on both engines (SQLite >= 3.35): a batch copy of agencies would break the foreign keys
    op.drop_column("creators", "data_version")
    op.drop_column("agencies", "data_version")
