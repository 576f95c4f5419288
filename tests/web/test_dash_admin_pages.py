"""The agency's admin pages over HTTP (Creators, Connections, Team, Security, Audit log, Exports), on SQLite and
PostgreSQL: each renders for the roles whose permissions open it and answers the 403 page to the others (the
core's sections rule); what a page offers follows the role (Refresh All only with refresh_stats, the 2FA rule
only for owners); the Security page says the member's own 2FA state; /connections stays the public shell for a
visitor without a session (a creator back from connecting her own Fanvue account)."""

from __future__ import annotations

import pytest
from admin_kit import full_session, member, session
from auth_kit import Env, client, make_env
from test_pages import inline_code

from onyx_core.accounts.model import Role

PAGES = ("/creators", "/connections", "/team", "/security", "/audit", "/exports")
OPENS = {
    Role.OWNER: set(PAGES),
    Role.ADMIN: set(PAGES) - {"/audit"},
    Role.MANAGER: {"/creators", "/connections", "/security", "/exports"},
    Role.VIEWER: {"/creators", "/security"},
}


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


@pytest.mark.parametrize("role", list(OPENS), ids=lambda r: r.value)
def test_each_page_renders_for_the_roles_it_opens_to_and_is_403_for_the_others(env: Env, role: Role) -> None:
    owner = env.owner()
    email = owner.email if role is Role.OWNER else member(env, owner, role)
    with client(env.app) as c:
        headers = session(c, email)
        for path in PAGES:
            answer = c.get(path, headers=headers)
            assert answer.headers["content-type"] == "text/html; charset=utf-8", path
            assert inline_code(answer.text) == [], path
            if path in OPENS[role]:
                assert answer.status_code == 200, (role, path)
                assert 'aria-current="page"' in answer.text, path  # the dashboard's frame, this tab current
            else:
                assert answer.status_code == 403, (role, path)
                assert "Not for your role" in answer.text, path
            # the navigation lists exactly the sections the role opens
            for other in PAGES:
                assert (f'<a href="{other}"' in answer.text) == (other in OPENS[role]), (role, path, other)
        creators = c.get("/creators", headers=headers).text
        assert ('id="refresh-all"' in creators) == (role is not Role.VIEWER)
        assert 'data-module="cards-creators.js"' in creators
        security = c.get("/security", headers=headers).text
        assert ('id="policy-form"' in security) == (role is Role.OWNER)


def test_the_security_page_says_whether_two_factor_is_on(env: Env) -> None:
    plain, enrolled = env.owner(), env.owner(totp=True)
    env.clock.advance(30)  # the enrolment used this step's code
    with client(env.app) as c:
        off = c.get("/security", headers=session(c, plain.email)).text
        on = c.get("/security", headers=full_session(c, env, enrolled)).text
    assert 'id="two-factor-state">Off' in off
    assert 'href="/account/2fa"' in off
    assert 'id="reauth-form"' not in off
    assert 'id="two-factor-state">On since' in on
    assert 'id="reauth-form"' in on


def test_the_security_page_shows_the_agency_rule_as_stored(env: Env) -> None:
    owner = env.owner(totp=True)
    env.clock.advance(30)
    with client(env.app) as c:
        headers = full_session(c, env, owner)
        assert ' id="require-2fa">' in c.get("/security", headers=headers).text  # unchecked
        assert c.put("/api/agency/two-factor-policy", headers=headers, json={"required": True}).status_code == 204
        assert ' id="require-2fa" checked>' in c.get("/security", headers=headers).text


def test_connections_without_a_session_is_the_public_shell(env: Env) -> None:
    with client(env.app) as c:
        answer = c.get("/connections")
    assert answer.status_code == 200
    assert 'data-page="connections"' in answer.text
    assert 'class="tabs"' not in answer.text  # no member, no sections
    assert 'id="creator-connected"' in answer.text
