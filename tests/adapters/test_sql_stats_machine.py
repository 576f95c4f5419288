"""The core's public "stats never regress" machine, run against the SQL unit of work on both engines.

Each run gets its own creator (seeded first: ``creator_stats`` has a foreign key to ``creators``) and its own
engine, disposed at teardown, since the machine drives each run on a new event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency, Creator
from onyx_core.ids import AgencyId
from onyx_core.ports import UnitOfWorkFactory
from onyx_core.testing.fakes import ReversibleCipher
from onyx_core.testing.machines import stats_machine

MACHINE_SETTINGS = settings(max_examples=20, stateful_step_count=40, deadline=None)


def sql_machine(database_url: str) -> type[RuleBasedStateMachine]:
    engines: list[AsyncEngine] = []

    def make_uow_factory() -> UnitOfWorkFactory:
        engines.append(create_engine(database_url))
        return sql_unit_of_work_factory(engines[-1], ReversibleCipher())

    base = stats_machine(make_uow_factory)

    class StatsNeverRegressOnSql(base):
        def __init__(self) -> None:
            super().__init__()
            self.engine = engines.pop()
            self._run(self._seed())

        def teardown(self) -> None:
            self._run(self.engine.dispose())
            super().teardown()

        async def _seed(self) -> None:
            agency_id = AgencyId(f"agency-{uuid4().hex}")
            async with self.uow() as uow:
                await uow.agencies.upsert(Agency(agency_id, "Machine Agency"))
                await uow.creators.upsert(Creator(self.creator, agency_id, "machine", "Machine", datetime.now(UTC)))
                await uow.commit()

    return StatsNeverRegressOnSql


def test_stats_never_regress_on_sql(database_url: str) -> None:
    run_state_machine_as_test(sql_machine(database_url), settings=MACHINE_SETTINGS)
