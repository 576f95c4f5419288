"""Properties of the use cases over random sequences: the login throttle against its specification, and role
changes that never leave an agency without an owner nor let a non-owner make one."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

import pytest
from accounts_kit import PASSWORD, Kit
from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.accounts import (
    InvalidCredentials,
    NotPermitted,
    Principal,
    Throttled,
    change_role,
    login_password,
    remove_member,
)
from onyx_core.accounts.model import Role

waits = st.one_of(st.integers(0, 20), st.integers(0, 120), st.integers(0, 1200))
"""Bursts, steady tries and pauses beyond the window."""
attempts = st.lists(st.tuples(waits, st.sampled_from([False, False, False, False, True])), min_size=15, max_size=60)


@settings(max_examples=100)
@given(attempts=attempts, known=st.booleans())
def test_the_login_throttle_follows_its_specification(attempts: list[tuple[int, bool]], known: bool) -> None:
    """Model: the first failure opens a 15-minute window; its 10th failure refuses every login until the window
    ends; a success (only possible for a known email) forgets the failures."""

    async def run() -> None:
        kit = Kit()
        await kit.owner()
        email = "olga@agency.test" if known else "nobody@agency.test"
        start, failures, locked_until = None, 0, None
        for wait, right in attempts:
            now = kit.clock.advance(wait)
            password = PASSWORD if right else "wrong password!"
            if locked_until is not None and now < locked_until:
                with pytest.raises(Throttled) as refused:
                    await login_password(kit.deps, email=email, password=password)
                assert refused.value.retry_after == math.ceil((locked_until - now).total_seconds())
                continue
            if right and known:
                await login_password(kit.deps, email=email, password=password)
                start, failures, locked_until = None, 0, None
                continue
            with pytest.raises(InvalidCredentials):
                await login_password(kit.deps, email=email, password=password)
            if start is None or now >= start + timedelta(minutes=15):
                start, failures = now, 0
            failures += 1
            if failures >= 10:
                locked_until = start + timedelta(minutes=15)

    asyncio.run(run())


operations = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 4), st.sampled_from([*Role, "remove"])), min_size=1, max_size=25
)


@settings(max_examples=60)
@given(operations=operations)
def test_role_changes_keep_an_owner_and_only_owners_make_owners(operations) -> None:
    async def run() -> None:
        kit = Kit()
        owner = await kit.owner()
        _, owner_principal = await kit.login(owner.email)
        ids = [owner.id]
        for role in (Role.ADMIN, Role.ADMIN, Role.MANAGER, Role.VIEWER):
            member, _ = await kit.member(owner_principal, role)
            ids.append(member.id)
        for actor_index, target_index, change in operations:
            actor = kit.store.members[ids[actor_index]]
            if actor.disabled:
                continue
            principal = Principal(actor)
            before = kit.store.members[ids[target_index]]
            try:
                if change == "remove":
                    await remove_member(kit.deps, principal, before.id)
                else:
                    await change_role(kit.deps, principal, before.id, Role(change))
            except NotPermitted:
                assert kit.store.members[before.id] == before
                continue
            after = kit.store.members[before.id]
            if (Role.OWNER in (before.role, after.role) and before.role != after.role) or (
                before.role is Role.OWNER and after.disabled
            ):
                assert actor.role is Role.OWNER
            owners = [m for m in kit.store.members.values() if m.role is Role.OWNER and not m.disabled]
            assert owners

    asyncio.run(run())
