"""A3 over HTTP: 5 wrong TOTP codes lock the second-factor step for 15 minutes (the 6th, correct, code gets 429
with Retry-After), and 100 consecutive failures lock the account (423) until a recovery code is used. On SQLite
and PostgreSQL, on a moved clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from auth_kit import Env, Owner, as_session, client, login, make_env, set_cookie_secret

LOCK = timedelta(minutes=15)


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _half(c: Any, owner: Owner) -> dict[str, str]:
    """A fresh session that passed the password and owes its code: its headers."""
    step = login(c, owner.email)
    assert step.status_code == 200, step.text
    assert step.json()["second_factor_due"] is True
    return as_session(set_cookie_secret(step), step.json()["csrf_token"])


def _wrong(env: Env, owner: Owner) -> str:
    return env.code(owner, steps_ahead=5)  # a real code of another time: outside the ±1 step window


def test_five_wrong_codes_lock_the_step_for_fifteen_minutes(env: Env) -> None:
    owner = env.owner(totp=True)
    env.clock.advance(30)  # past the step the enrolment used
    with client(env.app) as c:
        headers = _half(c, owner)
        wrong = [c.post("/api/auth/totp", json={"code": _wrong(env, owner)}, headers=headers) for _ in range(5)]
        assert [w.status_code for w in wrong[:4]] == [401] * 4
        assert wrong[4].status_code in {401, 429}  # the 5th failure locks: its own answer may say so already
        locked = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=headers)
        assert locked.status_code == 429, locked.text
        assert 0 < int(locked.headers["retry-after"]) <= LOCK.total_seconds()
        env.clock.advance(LOCK - timedelta(seconds=1))
        still = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=_half(c, owner))
        assert still.status_code == 429
        env.clock.advance(timedelta(seconds=31))  # the lock is over (and a new step: a fresh code)
        done = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=_half(c, owner))
        assert done.status_code == 200, done.text


def test_a_hundred_consecutive_failures_lock_the_account_until_a_recovery_code(env: Env) -> None:
    owner = env.owner(totp=True)
    env.clock.advance(30)
    with client(env.app) as c:
        statuses: list[int] = []
        for _ in range(20):  # 20 rounds of 5 wrong codes, each round after the previous one's 15-minute lock
            headers = _half(c, owner)
            statuses += [
                c.post("/api/auth/totp", json={"code": _wrong(env, owner)}, headers=headers).status_code
                for _ in range(5)
            ]
            env.clock.advance(LOCK + timedelta(seconds=1))
        # each failure counted, none refused by a lock first (the 5th of a round locks, and may say so)
        rounds = [statuses[i : i + 5] for i in range(0, 100, 5)]
        assert all(r[:4] == [401] * 4 and r[4] in {401, 429, 423} for r in rounds), statuses
        locked = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=_half(c, owner))
        assert locked.status_code == 423, locked.text
        env.clock.advance(timedelta(days=1))  # no wait ends it
        assert c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=_half(c, owner)).status_code == 423
        recovered = c.post("/api/auth/recovery", json={"code": owner.recovery_codes[0]}, headers=_half(c, owner))
        assert recovered.status_code == 200, recovered.text
        env.clock.advance(timedelta(seconds=30))
        again = c.post("/api/auth/totp", json={"code": env.code(owner)}, headers=_half(c, owner))
        assert again.status_code == 200, again.text  # the recovery code unlocked the codes too
