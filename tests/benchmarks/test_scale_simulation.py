"""Case 10 (the scale simulation) at its smoke size: real ``onyx worker`` processes on a scratch PostgreSQL sync a
sandbox served over HTTP, and every figure the case reports comes out present and sane. Speed is never asserted."""

from __future__ import annotations

import math

import pytest
from bench.cases import scale_simulation
from bench.harness import Row


@pytest.fixture(scope="module")
def rows(postgres_url: str) -> list[Row]:
    return scale_simulation.run("smoke")


def _row(rows: list[Row], starts: str) -> Row:
    found = [row for row in rows if row.workload.startswith(starts)]
    assert len(found) == 1, [row.workload for row in rows]
    return found[0]


def test_every_creator_is_synced_and_its_staleness_measured(rows: list[Row]) -> None:
    p = scale_simulation.PARAMS["smoke"]
    for name, limit in (("stats staleness", 120.0), ("ledger staleness", 300.0)):
        row = _row(rows, name)
        # a sample per creator at least twice: the window's first and last
        assert row.n >= 2 * p.agencies * p.per_agency, row
        # every creator synced before the window: no creator is "never" (infinite), all within the bound
        assert math.isfinite(row.onyx), row
        assert 0 < row.onyx <= limit, row
        assert row.met, row
        assert "100.0% of samples" in row.workload, row


def test_fanvue_requests_cpu_and_connections_are_counted(rows: list[Row]) -> None:
    requests = _row(rows, "requests/s to Fanvue")
    assert requests.onyx > 0
    assert requests.n > 0
    assert "0 refused 429" in requests.workload  # a handful of syncs stays far inside every bucket
    assert requests.met
    for name in ("worker CPU per creator-sync", "database CPU per creator-sync"):
        cpu = _row(rows, name)
        assert 0 < cpu.onyx < 60_000, cpu  # milliseconds of CPU per sync: some, and not a minute
        assert cpu.n > 0
    connections = _row(rows, "database connections peak")
    # the probe's own connection plus at least one worker's
    assert 2 <= connections.onyx <= 100, connections
    assert "bytes per row" in connections.notes


def test_each_saturation_step_drains_its_burst(rows: list[Row]) -> None:
    p = scale_simulation.PARAMS["smoke"]
    steps = [row for row in rows if row.workload.startswith("saturation")]
    assert len(steps) == len(p.steps)
    for row in steps:
        assert row.n == min(p.burst, p.agencies * p.per_agency), row  # every queued sync ran
        assert row.onyx > 0, row
