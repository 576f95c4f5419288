"""``creator_stats.latest_at``: the record's newest merged observation time in a column of its own, so the heartbeat
reads every creator's last stats attempt with one ``MAX … GROUP BY`` instead of parsing each record's JSON.

Existing rows are filled from their ``record`` (a format-1 record without the field stays ``NULL``, as it reads).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:20:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import onyx_adapters.sql.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column(
        "creator_stats", sa.Column("latest_at", onyx_adapters.sql.types.UtcDateTime(timezone=True), nullable=True)
    )
    stats = sa.table(
        "creator_stats",
        sa.column("creator_id", sa.String()),
        sa.column("metric", sa.String()),
        sa.column("record", sa.Text()),
        sa.column("latest_at", onyx_adapters.sql.types.UtcDateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(stats.c.creator_id, stats.c.metric, stats.c.record)).all()
    filled = []
    for row in rows:
        text = json.loads(row.record).get("latest_at")
        if text is not None:
            at = datetime.fromisoformat(text).astimezone(UTC)
            filled.append({"c": row.creator_id, "m": row.metric, "at": at})
    update = (
        sa.update(stats)
        .where(stats.c.creator_id == sa.bindparam("c"), stats.c.metric == sa.bindparam("m"))
        .values(latest_at=sa.bindparam("at", type_=onyx_adapters.sql.types.UtcDateTime(timezone=True)))
    )
    for start in range(0, len(filled), BATCH):
        bind.execute(update, filled[start : start + BATCH])


def downgrade() -> None:
    op.drop_column("creator_stats", "latest_at")
