"""The PostgreSQL the repository tests run against is there and is a version we support."""

from __future__ import annotations

import psycopg


def test_postgres_answers_and_is_recent_enough(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    assert int(row[0]) >= 140000, "Onyx supports PostgreSQL 14 and newer"
