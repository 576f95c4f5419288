"""W2: schemathesis over the app's own OpenAPI document (``/schema/openapi.json``, loaded in-process over ASGI), on
SQLite and PostgreSQL: every operation of the document, up to 100 generated examples each (valid and invalid
requests), authenticated as an agency owner by an API token (Bearer), with the checks ``not_a_server_error``
(no 5xx), ``response_schema_conformance`` (every answer matches the schema declared for its status and media
type), ``ignored_auth`` (an operation that declares security answers no 2xx without credentials or with made-up
ones) and ``status_code_conformance`` (every status answered is declared): 0 failures.

The operations come from the document, which comes from the route table: a route added later is fuzzed without
anyone listing it. Each example is shrunk to its smallest failing form; the failures of every operation are
collected before the test fails, so one report names them all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from auth_kit import Env, make_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance, status_code_conformance
from tenancy_kit import Tenancy

EXAMPLES = 100
"""Examples per operation (hypothesis stops earlier only when an operation has fewer distinct requests)."""
CHECKS = [not_a_server_error, response_schema_conformance, ignored_auth, status_code_conformance]


@pytest.fixture
def env(database_url: str) -> Iterator[Env]:
    yield make_env(database_url)
    asgi.shutdown_lifespans()  # schemathesis runs the app's lifespan in its own thread: close the database


def fuzz(schema: Any, headers: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Every operation of ``schema``: examples run per operation, and each failure (operation and message)."""
    counts: dict[str, int] = {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        counts[label] = 0
        run = _runner(operation, headers, counts)
        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # every operation is reported, not only the first
            failures.append(f"{label}: {' '.join(str(failure).split())[:1500]}")
    return counts, failures


def _runner(operation: Any, headers: dict[str, str], counts: dict[str, int]) -> Any:
    strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        counts[operation.label] += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    return run


def test_schemathesis_finds_no_failure(env: Env, record_property: pytest.RecordProperty) -> None:
    t = Tenancy(env)
    agency = t.agency("Fuzz")
    t.creator(agency)
    t.connection(agency, t.creator(agency))  # so the lists hold creators, one with her own connection
    _, token = t.api_token(agency.owner_email)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", env.app)
    started = time.monotonic()
    counts, failures = fuzz(schema, {"Authorization": f"Bearer {token}"})
    seconds = time.monotonic() - started
    assert failures == [], "\n".join(failures)
    assert len(counts) >= 8
    record_property(
        "W2",
        f" {len(counts)} operations, {sum(counts.values())} examples (max {EXAMPLES} each, fewest "
        f"{min(counts.values())}), 0 failures, {seconds:.0f} s",
    )
    print(f"W2: {counts} in {seconds:.1f} s")  # noqa: T201 - the figure, with -s
