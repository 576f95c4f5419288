"""Webhooks: each agency's Fanvue signing secret (encrypted with the Cipher) and the payments webhooks announced
(one row per delivered payment, pointing at the ledger row that stands for it: provisional, then polled).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_secrets",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("set_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_webhook_secrets_agency_id_agencies")),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_webhook_secrets")),
    )
    op.create_table(
        "webhook_payments",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_key", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("ledger_key", sa.String(length=128), nullable=False),
        sa.Column("received_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_webhook_payments_creator_id_creators")),
        sa.PrimaryKeyConstraint("creator_id", "delivery_key", name=op.f("pk_webhook_payments")),
    )
    with op.batch_alter_table("webhook_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_payments_creator_id_ledger_key"), ["creator_id", "ledger_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_payments_creator_id_ledger_key"))
    op.drop_table("webhook_payments")
    op.drop_table("webhook_secrets")
