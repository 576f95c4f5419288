"""GET /api/creators and /api/creators/{creator_id} on SQLite and PostgreSQL: a member sees her agency's creators
within her creator scope, whether each has her own connection, and nothing of another agency; one creator of
another agency, outside her scope or unknown answers the same 404 problem."""

from __future__ import annotations

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Tenancy, leaks

from onyx_core.accounts.model import Role


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_an_owner_lists_her_agencys_creators_and_who_connected_her_own_account(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    luna, mika = t.creator(a, "luna"), t.creator(a, "mika")
    t.connection(a, mika)
    t.connection(a)  # the agency's own connection is no creator's
    t.creator(b, "zed")
    with client(env.app) as c:
        response = c.get("/api/creators", headers=t.session(a.owner_email).headers())
    assert response.status_code == 200
    listed = {item["id"]: item for item in response.json()}
    assert set(listed) == {luna, mika}
    assert listed[luna]["handle"] == "luna"
    assert listed[luna]["has_own_connection"] is False
    assert listed[luna]["own_connection_status"] is None
    assert listed[mika]["has_own_connection"] is True
    assert listed[mika]["own_connection_status"] == "active"
    assert leaks(response.text, b) == []


def test_a_scoped_viewer_sees_only_her_creators(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    x, y = t.creator(a, "xena"), t.creator(a, "yara")
    viewer = t.session(t.member(a, Role.VIEWER, frozenset({x})))
    with client(env.app) as c:
        listed = c.get("/api/creators", headers=viewer.headers())
        mine = c.get(f"/api/creators/{x}", headers=viewer.headers())
        other = c.get(f"/api/creators/{y}", headers=viewer.headers())
        unknown = c.get("/api/creators/no-such-creator", headers=viewer.headers())
    assert [item["id"] for item in listed.json()] == [x]
    assert mine.status_code == 200
    assert mine.json()["id"] == x
    for response in (other, unknown):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert y not in response.text
        assert "yara" not in response.text
    assert {k: v for k, v in other.json().items() if k != "request_id"} == {
        k: v for k, v in unknown.json().items() if k != "request_id"
    }


def test_another_agencys_creator_is_not_found(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    theirs = t.creator(a, "luna")
    with client(env.app) as c:
        response = c.get(f"/api/creators/{theirs}", headers=t.session(b.owner_email).headers())
    assert response.status_code == 404
    assert leaks(response.text, a) == []
