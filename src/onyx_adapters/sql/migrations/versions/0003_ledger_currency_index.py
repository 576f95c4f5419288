"""Ledger: an index on (creator_id, currency) for the analytics' one-currency check.

Every analytics read first asks whether the creator has an entry in another currency; without this index that
question scans the creator's whole history, more work than most figures themselves.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_ledger_entries_creator_id_currency"), "ledger_entries", ["creator_id", "currency"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_entries_creator_id_currency"), table_name="ledger_entries")
