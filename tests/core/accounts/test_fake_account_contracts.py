"""The in-memory accounts fakes meet the same storage contract as the SQL adapter (tests/adapters), so tests of
the use cases on the fakes say something about production."""

from __future__ import annotations

import pytest

from onyx_core.testing.account_contracts import ALL_ACCOUNT_CONTRACTS, AccountsContract
from onyx_core.testing.accounts_fakes import InMemoryAccountsStore


@pytest.mark.parametrize("contract", ALL_ACCOUNT_CONTRACTS, ids=lambda c: c.__name__)
async def test_in_memory_accounts_unit_of_work_meets_the_contract(contract: AccountsContract) -> None:
    await contract(InMemoryAccountsStore().uow)
