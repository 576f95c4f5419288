"""The public "stats never regress" machine, run against the in-memory fakes (and later every SQL adapter)."""

from __future__ import annotations

from hypothesis import settings

from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork
from onyx_core.testing.machines import stats_machine


def in_memory_factory():
    store = InMemoryStore()
    return lambda: InMemoryUnitOfWork(store)


StatsOnFakes = stats_machine(in_memory_factory)
StatsOnFakes.TestCase.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)
TestStatsNeverRegressOnFakes = StatsOnFakes.TestCase
