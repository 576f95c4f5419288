"""Fanvue & Finance, Social and the creator page over plain HTTP, on SQLite and PostgreSQL: each renders for a role
that may open its section (with its cards, its module and, only for a role that may enter link costs, the cost
inputs' flag); a role the section's rule refuses gets the 403 page; a creator of another agency, one outside the
member's creator scope or an unknown id gets the 404 page, naming nothing of hers."""

from __future__ import annotations

import pytest
from auth_kit import Env, client, make_env
from tenancy_kit import Tenancy, leaks

from onyx_core.accounts import sections
from onyx_core.accounts.model import Role
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.sections import Section

PAGES = {
    "/finance": (
        "cards-finance.js",
        ["revenue-by-source", "category-shares", "top-spenders", "payouts", "tracking-links"],
    ),
    "/social": ("cards-social.js", ["social-creators", "audience-growth", "subscriber-history"]),
}
CREATOR_CARDS = ["creator-stats", "creator-revenue", "creator-sources", "creator-audience", "creator-links"]
COSTS_FLAG = "data-may-enter-link-costs"


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_each_page_renders_for_a_role_that_may_open_it(env: Env) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    luna = t.creator(a, "luna")
    owner = t.session(a.owner_email)
    viewer = t.session(t.member(a, Role.VIEWER))
    manager = t.session(t.member(a, Role.MANAGER, scope=frozenset({luna})))
    with client(env.app) as c:
        for session, may_enter in ((owner, True), (viewer, False), (manager, True)):
            for path, (module, cards) in PAGES.items():
                page = c.get(path, headers=session.headers())
                assert page.status_code == 200, (path, page.text)
                assert page.headers["content-type"].startswith("text/html")
                assert f'data-module="{module}"' in page.text
                assert all(f'id="{card}"' in page.text for card in cards), path
                assert 'id="period"' in page.text
                assert (COSTS_FLAG in page.text) is (may_enter and "tracking-links" in cards), (path, may_enter)
            page = c.get(f"/creators/{luna}", headers=session.headers())
            assert page.status_code == 200, page.text
            assert f'data-creator="{luna}"' in page.text
            assert 'data-module="cards-creator.js"' in page.text
            assert all(f'id="{card}"' in page.text for card in CREATOR_CARDS)
            assert f'data-src="/api/creators/{luna}/stats"' in page.text
            assert (COSTS_FLAG in page.text) is may_enter
            assert "@luna" in page.text


def test_a_role_the_sections_rule_refuses_gets_the_403_page(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # every role may view creators today: make these sections need what a viewer lacks, as a new rule would
    for section in (Section.FINANCE, Section.SOCIAL, Section.CREATORS):
        monkeypatch.setitem(sections.SECTION_PERMISSIONS, section, (frozenset({Permission.READ_AUDIT}),))  # type: ignore[index]
    t = Tenancy(env)
    a = t.agency("Alpha")
    luna = t.creator(a, "luna")
    viewer = t.session(t.member(a, Role.VIEWER))
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        for path in ("/finance", "/social", f"/creators/{luna}"):
            refused = c.get(path, headers=viewer.headers())
            assert refused.status_code == 403, (path, refused.text)
            assert "Not for your role" in refused.text
            assert c.get(path, headers=owner.headers()).status_code == 200, path


def test_a_creator_she_may_not_see_is_the_404_page(env: Env) -> None:
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    luna = t.creator(a, "luna")
    mira = t.creator(a, "mira")
    other = t.creator(b, "bravo-star")
    owner = t.session(a.owner_email)
    scoped = t.session(t.member(a, Role.VIEWER, scope=frozenset({luna})))
    with client(env.app) as c:
        for session, creator in ((owner, other), (owner, "no-such-creator"), (scoped, mira), (scoped, other)):
            page = c.get(f"/creators/{creator}", headers=session.headers())
            assert page.status_code == 404, (creator, page.text)
            assert "Not found" in page.text
            assert "data-creator" not in page.text
            assert leaks(page.text, b) == []
        assert "mira" not in c.get(f"/creators/{mira}", headers=scoped.headers()).text
        assert c.get(f"/creators/{luna}", headers=scoped.headers()).status_code == 200
