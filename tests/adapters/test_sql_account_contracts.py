"""The accounts storage contract suite on SQLite and PostgreSQL, and what only the SQL adapter can show: the TOTP
seed and the PKCE verifier are stored encrypted, never in clear."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.runtime import Runtime
from onyx_adapters.sql.accounts import sql_accounts_unit_of_work_factory
from onyx_adapters.sql.schema import oauth_attempts, totp_enrolments
from onyx_core.accounts.model import Member, OAuthAttempt, Role, TotpEnrolment
from onyx_core.accounts.tokens import digest, new_secret
from onyx_core.catalog import Agency
from onyx_core.ids import AgencyId, MemberId
from onyx_core.testing._rows import T0, uid
from onyx_core.testing.account_contracts import ALL_ACCOUNT_CONTRACTS, AccountsContract
from onyx_core.testing.fakes import ReversibleCipher
from onyx_fanvue.oauth import AsyncOAuthClient


@pytest.mark.parametrize("contract", ALL_ACCOUNT_CONTRACTS, ids=lambda c: c.__name__)
async def test_sql_accounts_unit_of_work_meets_the_contract(engine: AsyncEngine, contract: AccountsContract) -> None:
    await contract(sql_accounts_unit_of_work_factory(engine, ReversibleCipher()))


async def _raw(engine: AsyncEngine, table: Table, column: str, key: str) -> bytes:
    """Every column of the row, as the bytes the database holds."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(table).where(table.c[column] == key))).one()
    return b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row._mapping.values())


async def test_totp_seed_and_pkce_verifier_are_stored_only_encrypted(engine: AsyncEngine) -> None:
    factory = sql_accounts_unit_of_work_factory(engine, ReversibleCipher())
    agency_id = AgencyId(uid("agency"))
    member = Member(MemberId(uid("member")), agency_id, f"{uid('m')}@example.com", "M", Role.OWNER, T0)
    seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    enrolment = TotpEnrolment(member.id, seed, active=True, created_at=T0, last_step=7)
    verifier = new_secret()
    attempt = OAuthAttempt(digest(new_secret()), digest(new_secret()), agency_id, member.id, verifier, T0)
    async with factory() as uow:
        await uow.agencies.upsert(Agency(agency_id, "Encrypted"))
        await uow.members.add(member, "argon2-hash")
        await uow.totp.save(enrolment)
        await uow.oauth_attempts.add(attempt)
        await uow.commit()
    stored_totp = await _raw(engine, totp_enrolments, "member_id", member.id)
    stored_attempt = await _raw(engine, oauth_attempts, "state_digest", attempt.state_digest)
    assert seed.encode() not in stored_totp
    assert seed.lower().encode() not in stored_totp
    assert verifier.encode() not in stored_attempt
    async with factory() as uow:  # and both decrypt back
        assert await uow.totp.get(member.id) == enrolment
        assert await uow.oauth_attempts.take(attempt.state_digest) == attempt


async def test_the_runtime_offers_accounts_units_on_its_engine_and_cipher(engine: AsyncEngine) -> None:
    cipher = ReversibleCipher()
    agency_id = AgencyId(uid("agency"))
    member = Member(MemberId(uid("member")), agency_id, f"{uid('m')}@example.com", "M", Role.OWNER, T0)
    async with (
        AsyncOAuthClient("client", "secret", "https://onyx.example/cb") as oauth,
        Runtime.open(engine, cipher, oauth) as runtime,
        runtime.accounts() as uow,
    ):
        await uow.agencies.upsert(Agency(agency_id, "Runtime"))
        await uow.members.add(member, "hash")
        await uow.totp.save(TotpEnrolment(member.id, "SEED", active=False, created_at=T0))
        await uow.commit()
    async with sql_accounts_unit_of_work_factory(engine, cipher)() as uow:
        assert await uow.members.get(member.id) == member
        enrolment = await uow.totp.get(member.id)  # decrypts with the same cipher
        assert enrolment is not None
        assert enrolment.secret == "SEED"
