"""The login ``onyx demo`` prints (``demo_owner``), on each engine: the first run creates the demo agency's owner
with ``create_owner``, a re-run resets her with a new password (the old one refused), and an agency with members of
its own, or the demo's email in another agency, is left alone (no login printed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from auth_kit import HASHER
from sqlalchemy.ext.asyncio import AsyncEngine
from web_helpers import KEY

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.cli.live_demo import demo_owner
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import agencies
from onyx_core.accounts import AccountsDeps, create_owner, login_password
from onyx_core.accounts.errors import InvalidCredentials
from onyx_core.accounts.model import Role, SessionStage
from onyx_core.ids import AgencyId

WEB = "http://127.0.0.1:8000"
OTHER_PASSWORD = "someone else's passphrase"  # pragma: allowlist secret


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def deps(engine: AsyncEngine) -> AccountsDeps:
    return accounts_deps(engine, FernetCipher([KEY]), hasher=HASHER)  # cheap hashes: the rules are the same


async def _synced_agency(engine: AsyncEngine) -> AgencyId:
    """An agency as `onyx demo` leaves it after its sync: nobody in it yet."""
    agency_id = AgencyId(f"sandbox-{uuid.uuid4().hex[:8]}")
    async with engine.begin() as conn:
        await conn.execute(agencies.insert().values(id=agency_id, name="Sandbox Talent"))
    return agency_id


async def _stage(deps: AccountsDeps, email: str, password: str) -> SessionStage:
    return (await login_password(deps, email=email, password=password)).session.stage


async def test_a_first_run_creates_the_owner_and_a_rerun_resets_her(engine: AsyncEngine, deps: AccountsDeps) -> None:
    agency_id = await _synced_agency(engine)
    email = f"demo-{uuid.uuid4().hex[:8]}@onyx.test"
    first = await demo_owner(deps, WEB, agency_id=agency_id, email=email)
    assert first is not None
    assert (first.url, first.email, first.created) == (f"{WEB}/", email, True)
    assert await _stage(deps, email, first.password) is SessionStage.COMPLETE
    async with deps.uow() as uow:
        [owner] = await uow.members.for_agency(agency_id)
    assert (owner.email, owner.role) == (email, Role.OWNER)

    again = await demo_owner(deps, WEB, agency_id=agency_id, email=email)
    assert again is not None
    assert (again.email, again.created) == (email, False)
    assert again.password != first.password
    assert await _stage(deps, email, again.password) is SessionStage.COMPLETE
    with pytest.raises(InvalidCredentials):
        await login_password(deps, email=email, password=first.password)
    async with deps.uow() as uow:
        assert [m.id for m in await uow.members.for_agency(agency_id)] == [owner.id]  # the same owner, no other
    assert first.password not in repr(first)


async def test_an_agency_with_members_of_its_own_or_an_email_taken_elsewhere_is_left_alone(
    engine: AsyncEngine, deps: AccountsDeps
) -> None:
    agency_id = await _synced_agency(engine)
    own = f"olga-{uuid.uuid4().hex[:8]}@agency.test"
    await create_owner(
        deps, agency_name="", email=own, display_name="Olga", password=OTHER_PASSWORD, agency_id=agency_id
    )
    assert await demo_owner(deps, WEB, agency_id=agency_id, email=f"demo-{uuid.uuid4().hex[:8]}@onyx.test") is None
    elsewhere = await _synced_agency(engine)
    assert await demo_owner(deps, WEB, agency_id=elsewhere, email=own) is None  # her email, in another agency
    assert await _stage(deps, own, OTHER_PASSWORD) is SessionStage.COMPLETE  # untouched
    async with deps.uow() as uow:
        assert await uow.members.for_agency(elsewhere) == []
