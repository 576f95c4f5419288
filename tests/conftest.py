"""Shared fixtures. PostgreSQL tests skip on a laptop without a server and fail in CI (CI=true)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs the full budgets deterministically; a laptop may set HYPOTHESIS_PROFILE=dev for quicker runs.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=50)
settings.register_profile("default", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

POSTGRES_URL = os.environ.get("ONYX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

LONGEST_FIRST = (
    "tests/web/test_schemathesis.py",
    "tests/sync/test_token_cadence.py",
    "tests/sync/test_sigkill_resume.py",
    "tests/adapters/test_token_stateful.py",
    "tests/sync/test_rate_budget.py",
    "tests/web/test_log_secrets.py",
    "tests/web/browser/test_browser_demo.py",
    "tests/web/test_e2e_serve.py",
    "tests/web/test_exports_memory.py",
)
"""Modules whose tests take a minute or more each: run first, so the workers share them out while the many short
tests fill the gaps, instead of one worker finishing them alone at the end (most sit late in the alphabet)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: place for place, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest keep order


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A reachable PostgreSQL URL: skipped without a server on a laptop, an error in CI."""
    import psycopg  # noqa: PLC0415 - only the PostgreSQL tests need the driver

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs PostgreSQL at {POSTGRES_URL}: {error}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}")
    return POSTGRES_URL
