"""Fixtures of the accounts tests, over :mod:`accounts_kit`."""

from __future__ import annotations

import pytest
from accounts_kit import Kit

from onyx_core.accounts import Principal
from onyx_core.accounts.model import Member


@pytest.fixture
def kit() -> Kit:
    return Kit()


@pytest.fixture
async def owner(kit: Kit) -> tuple[Member, Principal]:
    member = await kit.owner()
    _, principal = await kit.login(member.email)
    return member, principal
