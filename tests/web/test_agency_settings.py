"""GET/PATCH /api/agency on SQLite and PostgreSQL: owners and admins read and change the agency's name and IANA
time zone (audited); a manager or viewer gets 403; a time zone that is not an IANA name, or a blank name, is a 422
problem and nothing is written. Also: a reconnect keeps the time zone (the connect flow upserts the agency)."""

from __future__ import annotations

import asyncio
import zlib

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Tenancy
from web_helpers import KEY

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, sandbox_runtime
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts.model import Role
from onyx_core.catalog import Agency
from onyx_core.ids import AgencyId
from onyx_fanvue.sandbox.sandbox import FanvueSandbox


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _stored(env: Env, agency_id: str) -> Agency | None:
    async def read() -> Agency | None:
        engine = create_engine(env.url)
        try:
            async with env.deps(engine).uow() as uow:
                return await uow.agencies.get(AgencyId(agency_id))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_an_owner_reads_and_sets_the_time_zone_and_it_is_audited(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        before = c.get("/api/agency", headers=owner.headers())
        changed = c.patch("/api/agency", json={"timezone": "Europe/Berlin"}, headers=owner.headers(unsafe=True))
        renamed = c.patch("/api/agency", json={"name": "  Alpha Prime "}, headers=owner.headers(unsafe=True))
        audit = c.get("/api/agency/audit", headers=owner.headers())
        theirs = c.get("/api/agency", headers=t.session(b.owner_email).headers())
    assert before.status_code == 200
    assert before.json() == {"id": a.id, "name": a.name, "timezone": "UTC"}
    assert changed.status_code == 200
    assert changed.json() == {"id": a.id, "name": a.name, "timezone": "Europe/Berlin"}
    assert renamed.json() == {"id": a.id, "name": "Alpha Prime", "timezone": "Europe/Berlin"}
    stored = _stored(env, a.id)
    assert stored is not None
    assert (stored.name, stored.timezone) == ("Alpha Prime", "Europe/Berlin")
    entries = [e for e in audit.json()["entries"] if e["action"] == "agency_settings_changed"]
    assert [e["details"] for e in entries] == [{"name": "Alpha Prime"}, {"timezone": "Europe/Berlin"}]
    assert theirs.json()["id"] == b.id
    assert theirs.json()["timezone"] == "UTC"


def test_an_admin_may_and_a_manager_or_viewer_may_not(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    admin = t.session(t.member(a, Role.ADMIN))
    with client(env.app) as c:
        ok = c.patch("/api/agency", json={"timezone": "Asia/Tokyo"}, headers=admin.headers(unsafe=True))
        assert ok.status_code == 200
        for role in (Role.MANAGER, Role.VIEWER):
            member = t.session(t.member(a, role))
            read = c.get("/api/agency", headers=member.headers())
            write = c.patch("/api/agency", json={"timezone": "UTC"}, headers=member.headers(unsafe=True))
            assert (read.status_code, write.status_code) == (403, 403), role
            assert write.headers["content-type"] == "application/problem+json"
    stored = _stored(env, a.id)
    assert stored is not None
    assert stored.timezone == "Asia/Tokyo"


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": "CET+1"},
        {"timezone": "../../etc/passwd"},
        {"timezone": "localtime"},
        {"timezone": ""},
        {"name": "   ", "timezone": "Europe/Berlin"},
        {"name": "Nul\u0000Agency"},
    ],
)
def test_a_bad_time_zone_or_blank_name_is_422_and_nothing_is_written(env: Env, body: dict[str, str]) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        response = c.patch("/api/agency", json=body, headers=owner.headers(unsafe=True))
        audit = c.get("/api/agency/audit", headers=owner.headers())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "IANA" in response.json()["detail"]
    stored = _stored(env, a.id)
    assert stored is not None
    assert (stored.name, stored.timezone) == (a.name, "UTC")
    assert [e for e in audit.json()["entries"] if e["action"] == "agency_settings_changed"] == []


def test_an_unknown_field_is_a_400_problem(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        response = c.patch("/api/agency", json={"tz": "UTC"}, headers=t.session(a.owner_email).headers(unsafe=True))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_connecting_again_keeps_the_agencys_time_zone(env: Env) -> None:
    """Connecting Fanvue (and reconnecting) upserts the agency with the name it knows: the time zone it set stays."""
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        response = c.patch(
            "/api/agency", json={"timezone": "America/Chicago"}, headers=t.session(a.owner_email).headers(unsafe=True)
        )
    assert response.status_code == 200

    async def connect() -> None:
        # a seed of this test's own: the session's database is shared, and a sandbox agency admin another test
        # connected to its agency would be a grant of another agency here (GrantElsewhereError)
        sandbox = FanvueSandbox(seed=zlib.crc32(a.id.encode()))
        async with sandbox_runtime(sandbox, env.url, FernetCipher([KEY])) as runtime:
            await connect_agency(runtime, sandbox, AgencyId(a.id), a.name)

    asyncio.run(connect())
    stored = _stored(env, a.id)
    assert stored is not None
    assert stored.fanvue_user_uuid is not None  # the connect did upsert the agency
    assert stored.timezone == "America/Chicago"
