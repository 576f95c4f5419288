"""Initial schema: agencies, creators, connections, stats and their events, the ledger, subscriber days, top
spenders, tracking links and sync cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:07:27.670986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("fanvue_user_uuid", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
    )
    op.create_table(
        "top_spenders",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("gross_cents", sa.BigInteger(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=True),
        sa.Column("last_seen_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("as_of", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "rank", name=op.f("pk_top_spenders")),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=True),
        sa.Column("fanvue_user_uuid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tokens", sa.LargeBinary(), nullable=True),
        sa.Column("token_version", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_refreshed_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_connections_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connections_agency_id_kind"), ["agency_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_connections_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "creators",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("handle", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("imported_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_creators_agency_id_agencies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creators")),
    )
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creators_agency_id_id"), ["agency_id", "id"], unique=False)

    op.create_table(
        "creator_stats",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("observed_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("stale_since", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("pending_value", sa.BigInteger(), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("recorded_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_creator_stats_creator_id_creators")),
        sa.PrimaryKeyConstraint("creator_id", "metric", name=op.f("pk_creator_stats")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("gross_cents", sa.BigInteger(), nullable=False),
        sa.Column("net_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("original_currency", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_ledger_entries_creator_id_creators")),
        sa.PrimaryKeyConstraint("creator_id", "key", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_creator_id_fan_id"), ["creator_id", "fan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_creator_id_occurred_at"), ["creator_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_creator_id_source_occurred_at"),
            ["creator_id", "source", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "stats_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.BigInteger(), nullable=True),
        sa.Column("new_value", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("recorded_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_stats_events_creator_id_creators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_events")),
    )
    with op.batch_alter_table("stats_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stats_events_creator_id_metric_id"), ["creator_id", "metric", "id"], unique=False
        )

    op.create_table(
        "subscriber_days",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_subscriber_days_creator_id_creators")),
        sa.PrimaryKeyConstraint("creator_id", "day", name=op.f("pk_subscriber_days")),
    )
    op.create_table(
        "sync_cursors",
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("synced_through", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.Column("window_start", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("window_end", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("page_cursor", sa.Text(), nullable=True),
        sa.Column("updated_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_sync_cursors_creator_id_creators")),
        sa.PrimaryKeyConstraint("creator_id", "stream", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "tracking_links",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("created_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("acquired_subscribers", sa.BigInteger(), nullable=False),
        sa.Column("acquired_followers", sa.BigInteger(), nullable=False),
        sa.Column("earnings_gross_cents", sa.BigInteger(), nullable=True),
        sa.Column("earnings_net_cents", sa.BigInteger(), nullable=True),
        sa.Column("earnings_currency", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(["creator_id"], ["creators.id"], name=op.f("fk_tracking_links_creator_id_creators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_links")),
    )
    with op.batch_alter_table("tracking_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracking_links_creator_id"), ["creator_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tracking_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracking_links_creator_id"))

    op.drop_table("tracking_links")
    op.drop_table("sync_cursors")
    op.drop_table("subscriber_days")
    with op.batch_alter_table("stats_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stats_events_creator_id_metric_id"))

    op.drop_table("stats_events")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_creator_id_source_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_creator_id_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_creator_id_fan_id"))

    op.drop_table("ledger_entries")
    op.drop_table("creator_stats")
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creators_agency_id_id"))

    op.drop_table("creators")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_creator_id"))
        batch_op.drop_index(batch_op.f("ix_connections_agency_id_kind"))

    op.drop_table("connections")
    op.drop_table("top_spenders")
    op.drop_table("agencies")
