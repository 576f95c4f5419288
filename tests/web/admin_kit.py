"""Helpers of the admin tests: members of each role and creators made through the core, and sessions by login
over HTTP (headers carrying the cookie and the CSRF token)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from auth_kit import PASSWORD, Env, Owner, as_session, login, set_cookie_secret
from litestar import Litestar
from litestar.testing import TestClient

from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import accept_invite, authenticate_session, invite_member, login_password
from onyx_core.accounts.model import Role
from onyx_core.catalog import Creator
from onyx_core.ids import AgencyId, CreatorId


def new_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@agency.test"


def member(env: Env, owner: Owner, role: Role, scope: Iterable[str] | None = None) -> str:
    """A member of ``owner``'s agency with ``role`` (and creator scope), invited and accepted through the core:
    her email (the password is :data:`auth_kit.PASSWORD`)."""
    return asyncio.run(_member(env, owner, role, None if scope is None else [CreatorId(c) for c in scope]))


async def _member(env: Env, owner: Owner, role: Role, scope: list[CreatorId] | None) -> str:
    email = new_email(role.value)
    engine = create_engine(env.url)
    try:
        deps = env.deps(engine)
        issued = await login_password(deps, email=owner.email, password=PASSWORD)
        principal = await authenticate_session(deps, issued.secret)
        invite = await invite_member(deps, principal, role=role, creator_scope=scope)
        await accept_invite(deps, secret=invite.secret, email=email, display_name=role.value.title(), password=PASSWORD)
        return email
    finally:
        await engine.dispose()


def agency_of(env: Env, owner: Owner) -> AgencyId:
    return asyncio.run(_agency_of(env, owner))


async def _agency_of(env: Env, owner: Owner) -> AgencyId:
    engine = create_engine(env.url)
    try:
        async with env.deps(engine).uow() as uow:
            found = await uow.members.by_email(owner.email)
            assert found is not None
            return found.agency_id
    finally:
        await engine.dispose()


def creator(env: Env, agency_id: AgencyId, name: str) -> str:
    """A creator of the agency (as an import would store it): its id."""
    creator_id = f"{name}-{uuid.uuid4().hex[:8]}"
    asyncio.run(_creator(env, Creator(CreatorId(creator_id), agency_id, name, name.title(), datetime.now(UTC))))
    return creator_id


async def _creator(env: Env, made: Creator) -> None:
    engine = create_engine(env.url)
    try:
        async with env.deps(engine).uow() as uow:
            await uow.creators.upsert(made)
            await uow.commit()
    finally:
        await engine.dispose()


def session(c: TestClient[Litestar], email: str) -> dict[str, str]:
    """Log ``email`` in over HTTP (no 2FA): the headers of her session, CSRF token included."""
    response = login(c, email)
    assert response.status_code == 200, response.text
    return as_session(set_cookie_secret(response), response.json()["csrf_token"])


def full_session(c: TestClient[Litestar], env: Env, owner: Owner) -> dict[str, str]:
    """Log in an owner who has TOTP on: password, then the current code (her session headers)."""
    first = login(c, owner.email)
    assert first.status_code == 200, first.text
    step = as_session(set_cookie_secret(first), first.json()["csrf_token"])
    done = c.post("/api/auth/totp", headers=step, json={"code": env.code(owner)})
    c.cookies.clear()
    assert done.status_code == 200, done.text
    return as_session(set_cookie_secret(done), done.json()["csrf_token"])
