"""W2: schemathesis over the app's own OpenAPI document (``/schema/openapi.json``, loaded in-process over ASGI), on
SQLite and PostgreSQL: every operation of the document, up to 100 generated examples each (valid and invalid
requests), authenticated as an agency owner by an API token (Bearer), with the checks ``not_a_server_error``
(no 5xx), ``response_schema_conformance`` (every answer matches the schema declared for its status and media
type), ``ignored_auth`` (an operation that declares security answers no 2xx without credentials or with made-up
ones) and ``status_code_conformance`` (every status answered is declared): 0 failures.

The operations come from the document, which comes from the route table: a route added later is fuzzed without
anyone listing it. One test per operation and engine (parametrised from the document at collection, and checked
against the document the app serves), so xdist's workers share them out and every failing operation is its own
red test; each example is shrunk to its smallest failing form.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from web_helpers import web_settings

from onyx_web.app import create_app

EXAMPLES = 100
"""Examples per operation (hypothesis stops earlier only when an operation has fewer distinct requests)."""
CHECKS = [not_a_server_error, response_schema_conformance, ignored_auth, status_code_conformance]


@dataclass
class Fuzzed:
    """The app of one engine as schemathesis sees it, with the agency owner's API token."""

    env: Env
    schema: Any
    headers: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(request: pytest.FixtureRequest) -> Iterator[Fuzzed]:
    """One app, agency and loaded document per engine, shared by the operations' tests of a worker (as when one
    test fuzzed them all): an agency with creators, one with her own connection, so the lists hold some."""
    env = make_env(str(request.getfixturevalue(f"{request.param}_database")))
    try:
        t = Tenancy(env)
        agency = t.agency("Fuzz")
        t.creator(agency)
        t.connection(agency, t.creator(agency))
        _, token = t.api_token(agency.owner_email)
        schema = schemathesis.openapi.from_asgi("/schema/openapi.json", env.app)
        yield Fuzzed(env, schema, {"Authorization": f"Bearer {token}"})
    finally:
        asgi.shutdown_lifespans()  # schemathesis runs the app's lifespan in its own thread: close the database


METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _operations() -> list[str]:
    """The label (``METHOD /path``) of every operation of the document, read from the app at collection (no
    lifespan, no database): a route added later gets its own test without anyone listing it."""
    document = create_app(web_settings("sqlite+aiosqlite:///collection-only.db")).openapi_schema.to_schema()
    return [
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if method in METHODS
    ]


OPERATIONS = _operations()


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


def _operations_of(schema: Any) -> dict[str, Any]:
    return {operation.label: operation for operation in (result.ok() for result in schema.get_all_operations())}


def test_schemathesis_fuzzes_every_operation_of_the_document(fuzzed: Fuzzed) -> None:
    """The operations parametrised at collection are those of the document the app serves, all of them."""
    assert sorted(_operations_of(fuzzed.schema)) == sorted(OPERATIONS)
    assert len(OPERATIONS) >= 8


@pytest.mark.parametrize("label", OPERATIONS)
def test_schemathesis_finds_no_failure(label: str, fuzzed: Fuzzed, record_property: pytest.RecordProperty) -> None:
    """One operation: its examples, shrunk to the smallest failing one (one test per operation, so the workers
    share them out)."""
    operation = _operations_of(fuzzed.schema)[label]
    counts = {label: 0}
    started = time.monotonic()
    _runner(operation, fuzzed.headers, counts)()
    seconds = time.monotonic() - started
    assert counts[label] > 0
    record_property("W2", f" {label}: {counts[label]} examples (max {EXAMPLES}), 0 failures, {seconds:.1f} s")
