"""A2 over HTTP: one valid TOTP code, submitted 50 times at once from 50 half-logged-in sessions of its member,
finishes exactly one login; the code is then refused on every re-submission within its window. On SQLite and
PostgreSQL (the app's own database, concurrent requests in one event loop, as a server runs them)."""

from __future__ import annotations

import asyncio

import pytest
from auth_kit import Env, as_session, client, login, make_env, set_cookie_secret
from litestar.testing import AsyncTestClient

SUBMISSIONS = 50


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_fifty_concurrent_submissions_of_one_code_finish_one_login(env: Env) -> None:
    owner = env.owner(totp=True)
    with client(env.app) as c:
        halves = []
        for _ in range(SUBMISSIONS):
            step = login(c, owner.email)
            assert step.status_code == 200, step.text
            halves.append((set_cookie_secret(step), step.json()["csrf_token"]))
    env.clock.advance(30)  # the enrolment used this step's code: the next step's is fresh
    code = env.code(owner)

    async def race() -> list[int]:
        async with AsyncTestClient(env.app, base_url="https://testserver.local") as ac:

            async def submit(secret: str, csrf: str) -> int:
                answer = await ac.post("/api/auth/totp", json={"code": code}, headers=as_session(secret, csrf))
                return answer.status_code

            return list(await asyncio.gather(*(submit(secret, csrf) for secret, csrf in halves)))

    statuses = asyncio.run(race())
    assert statuses.count(200) == 1, statuses
    assert set(statuses) - {200} <= {401, 429}, statuses  # refused as a replay (or, after 5, the step's lock)

    # and again later within the code's window: still refused
    env.clock.advance(10)
    with client(env.app) as c:
        step = login(c, owner.email)
        again = c.post(
            "/api/auth/totp",
            json={"code": code},
            headers=as_session(set_cookie_secret(step), step.json()["csrf_token"]),
        )
    assert again.status_code in {401, 429}, again.text
