"""Connection health when the stored tokens cannot be decrypted (ONYX_CIPHER_KEYS lost the key they were stored
with): a 503 problem saying the server's keys are the matter, never a 500. On SQLite and PostgreSQL, each on a
database of its own: a row no key reads makes every `onyx` command on that database refuse to run, as it should."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from auth_kit import PASSWORD, Env, as_session, client, login, make_env, set_cookie_secret
from web_helpers import drop_postgresql_database, new_postgresql_database, sqlite_url

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.accounts import authenticate_session, login_password
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.tokens import TokenSet


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        upgrade(url)
        yield url
        return
    postgres_url = str(request.getfixturevalue("postgres_url"))
    url = new_postgresql_database(postgres_url)
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgresql_database(postgres_url, url)


@pytest.fixture
def env(own_database: str) -> Env:
    return make_env(own_database)


async def _unreadable_connection(env: Env, email: str) -> str:
    engine = create_engine(env.url)
    try:
        issued = await login_password(env.deps(engine), email=email, password=PASSWORD)
        agency = AgencyId((await authenticate_session(env.deps(engine), issued.secret)).member.agency_id)
        other_key = sql_unit_of_work_factory(engine, FernetCipher([FernetCipher.generate_key()]))
        now = datetime.now(UTC)
        tokens = TokenSet("lost-access", "lost-refresh", now, frozenset({"read:self"}))
        row = Connection(
            ConnectionId(f"agency-{uuid.uuid4()}"), ConnectionKind.AGENCY, agency, None,
            str(uuid.uuid4()), ConnectionStatus.ACTIVE, None,
        )  # fmt: skip
        async with other_key() as uow:
            await uow.connections.save(row.with_tokens(tokens, now))
            await uow.commit()
        return row.id
    finally:
        await engine.dispose()


def test_connections_stored_under_a_lost_key_answer_503(env: Env) -> None:
    owner, neighbour = env.owner(), env.owner()
    connection_id = asyncio.run(_unreadable_connection(env, owner.email))
    with client(env.app) as c:
        # another agency's health never reads (nor fails on) this agency's rows
        theirs = c.get("/api/connections", headers=as_session(set_cookie_secret(login(c, neighbour.email))))
        assert theirs.status_code == 200, theirs.text
        session = as_session(set_cookie_secret(login(c, owner.email)))
        for path in ("/api/connections", f"/api/connections/{connection_id}"):
            answer = c.get(path, headers=session)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert "ONYX_CIPHER_KEYS" in answer.json()["detail"]
            assert "lost-" not in answer.text
