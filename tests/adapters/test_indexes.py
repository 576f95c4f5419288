"""Each index of the schema is there for a query: PostgreSQL's plan for that query uses it. (The ledger's analytics
indexes are checked with the analytics queries in ``test_sql_analytics.py``.)"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from onyx_adapters.sql.engine import sync_url
from onyx_adapters.sql.schema import metadata

# index name -> the query that needs it (parameters as PostgreSQL placeholders)
QUERIES = {
    "ix_creators_agency_id_id": "SELECT id FROM creators WHERE agency_id = %s ORDER BY id",
    "ix_connections_agency_id_kind": "SELECT id FROM connections WHERE agency_id = %s AND kind = %s",
    "ix_connections_creator_id": "SELECT id FROM connections WHERE creator_id = %s",
    "ix_stats_events_creator_id_metric_id": (
        "SELECT kind, at FROM stats_events WHERE creator_id = %s AND metric = %s ORDER BY id"
    ),
    "ix_tracking_links_creator_id": "SELECT id, name FROM tracking_links WHERE creator_id = %s",
    "ix_ledger_entries_creator_id_currency": (
        "SELECT key, currency FROM ledger_entries WHERE creator_id = %s AND currency <> %s LIMIT 1"
    ),
    "ix_members_agency_id_created_at": "SELECT id FROM members WHERE agency_id = %s ORDER BY created_at, id",
    "ix_web_sessions_member_id": "DELETE FROM web_sessions WHERE member_id = %s",
    "ix_recovery_codes_member_id": "SELECT id FROM recovery_codes WHERE member_id = %s AND used_at IS NULL",
    "ix_invites_agency_id_created_at": "SELECT id FROM invites WHERE agency_id = %s ORDER BY created_at, id",
    "ix_api_tokens_member_id_created_at": "SELECT id FROM api_tokens WHERE member_id = %s ORDER BY created_at, id",
    "ix_oauth_attempts_created_at": "DELETE FROM oauth_attempts WHERE created_at < now() - interval '10 minutes'",
    "ix_audit_log_agency_id_id": "SELECT id FROM audit_log WHERE agency_id = %s AND id < 9 ORDER BY id DESC LIMIT 100",
    # settling a webhook's provisional entry: the polled rows a delivery already stands for
    "ix_webhook_payments_creator_id_ledger_key": (
        "SELECT ledger_key FROM webhook_payments WHERE creator_id = %s AND ledger_key IN (%s, %s)"
    ),
    "ix_ledger_entries_creator_id_occurred_at": (
        "SELECT key FROM ledger_entries WHERE creator_id = %s AND occurred_at >= now() - interval '30 days' "
        "ORDER BY occurred_at"
    ),
}


def _plan(url: str, query: str, params: tuple[str, ...]) -> str:
    dsn = sync_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("SET LOCAL enable_seqscan = off")  # a near-empty table would otherwise be scanned
        rows = conn.execute(f"EXPLAIN {query}", params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


@pytest.mark.parametrize(("index", "query"), sorted(QUERIES.items()))
def test_the_query_uses_its_index(postgresql_database: str, index: str, query: str) -> None:
    params = tuple("x" for _ in range(query.count("%s")))
    assert index in _plan(postgresql_database, query, params)


def test_every_index_is_justified() -> None:
    named = {ix.name for table in metadata.tables.values() for ix in table.indexes}
    analytics = {"ix_ledger_entries_creator_id_source_occurred_at", "ix_ledger_entries_creator_id_fan_id"}
    assert named - analytics == set(QUERIES)


def test_the_database_has_every_index(postgresql_database: str) -> None:
    engine = create_engine(sync_url(postgresql_database))
    inspector = inspect(engine)
    found = {ix["name"] for table in metadata.tables for ix in inspector.get_indexes(table)}
    engine.dispose()
    assert {ix.name for table in metadata.tables.values() for ix in table.indexes} <= found
