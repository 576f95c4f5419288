"""The public test kit catches broken storage, and says which rule broke.

Every breakage of ``broken_storage`` must fail the contracts it names with the message it names, and, when a
sequential run can see it, the stats machine too. Together the breakages make every contract fail. The correct
fakes pass everything (``test_fakes.py``, ``test_stats_machine.py``), and so does the SQL unit of work on both
engines (``tests/adapters/test_sql_contracts.py``, ``tests/adapters/test_sql_stats_machine.py``).
"""

from __future__ import annotations

import re

import pytest
from broken_storage import BREAKAGES, HUNT, Breakage
from hypothesis.stateful import run_state_machine_as_test

from onyx_core.ports import UnitOfWork
from onyx_core.testing._footprint import Footprint
from onyx_core.testing.contracts import ALL_CONTRACTS, Contract, ContractViolation
from onyx_core.testing.fakes import InMemoryStore, InMemoryUnitOfWork
from onyx_core.testing.machines import stats_machine

THE_ISSUES_THREE = {"stats written outside the transaction", "events dropped when no record changed",
                    "identical events deduplicated"}  # fmt: skip


async def _violations(breakage: Breakage) -> dict[Contract, str]:
    found: dict[Contract, str] = {}
    for contract in ALL_CONTRACTS:
        try:
            await contract(breakage.factory())
        except ContractViolation as violation:
            found[contract] = str(violation)
    return found


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
async def test_the_contracts_catch_the_breakage_by_its_rule(breakage: Breakage) -> None:
    violations = await _violations(breakage)
    for contract, rule in breakage.contracts.items():
        assert contract in violations, f"{contract.__name__} passed storage with {breakage.name}"
        assert re.search(rule, violations[contract]), f"{contract.__name__} said: {violations[contract]}"


@pytest.mark.parametrize("breakage", [b for b in BREAKAGES if b.machine], ids=lambda b: b.name)
def test_the_stats_machine_catches_the_breakage_by_its_rule(breakage: Breakage) -> None:
    assert breakage.machine is not None
    with pytest.raises(ContractViolation, match=breakage.machine):
        run_state_machine_as_test(stats_machine(breakage.factory), settings=HUNT)


def test_every_contract_fails_for_some_breakage() -> None:
    caught = {contract for breakage in BREAKAGES for contract in breakage.contracts}
    assert [c.__name__ for c in ALL_CONTRACTS if c not in caught] == []


def test_the_machine_and_the_contracts_both_catch_the_breakages_the_adversarial_run_found() -> None:
    both = {b.name for b in BREAKAGES if b.contracts and b.machine}
    assert both >= THE_ISSUES_THREE


async def test_the_transaction_contracts_cover_every_repository_a_unit_of_work_hands_out() -> None:
    """A repository added to the port must join the footprint the rollback and isolation contracts write."""
    async with InMemoryUnitOfWork(InMemoryStore()) as uow:
        read = await Footprint.fresh().read(uow)
    covered = {repository.split()[0] for repository in read}
    assert covered == set(UnitOfWork.__annotations__)
