"""Agency members over HTTP on SQLite and PostgreSQL: who may list, change and remove members (the role matrix),
the last owner (409), role and scope changed together or not at all, removal signing the member out, and agency B's
owner on agency A's member and invitation ids (404, none of A's data)."""

from __future__ import annotations

import pytest
from admin_kit import agency_of, creator, member, session
from auth_kit import Env, Owner, client, login, make_env

import onyx_web.app  # noqa: F401 (every domain's errors mapped)
from onyx_core.accounts import LastOwnerError, NotPermitted
from onyx_core.accounts.model import Role
from onyx_web.errors import DOMAIN_ERRORS, domain_status


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _ids(c, headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    listed = c.get("/api/agency/members", headers=headers)
    assert listed.status_code == 200, listed.text
    return {m["email"]: m["id"] for m in listed.json()}


def test_only_owners_and_admins_manage_members_and_admins_never_touch_owners(env: Env) -> None:
    owner = env.owner()
    emails = {role: member(env, owner, role) for role in (Role.ADMIN, Role.MANAGER, Role.VIEWER)}
    with client(env.app) as c:
        as_owner, as_admin = session(c, owner.email), session(c, emails[Role.ADMIN])
        as_manager, as_viewer = session(c, emails[Role.MANAGER]), session(c, emails[Role.VIEWER])
        ids = _ids(c, as_owner)
        owner_id, viewer_id = ids[owner.email], ids[emails[Role.VIEWER]]
        answers = {
            "manager lists": c.get("/api/agency/members", headers=as_manager).status_code,
            "viewer lists": c.get("/api/agency/members", headers=as_viewer).status_code,
            "manager changes": c.patch(f"/api/agency/members/{viewer_id}", headers=as_manager,
                                       json={"role": "manager"}).status_code,
            "viewer promotes herself": c.patch(f"/api/agency/members/{viewer_id}", headers=as_viewer,
                                               json={"role": "owner"}).status_code,
            "manager removes": c.delete(f"/api/agency/members/{viewer_id}", headers=as_manager).status_code,
            "admin makes an owner": c.patch(f"/api/agency/members/{viewer_id}", headers=as_admin,
                                            json={"role": "owner"}).status_code,
            "admin demotes the owner": c.patch(f"/api/agency/members/{owner_id}", headers=as_admin,
                                               json={"role": "viewer"}).status_code,
            "admin removes the owner": c.delete(f"/api/agency/members/{owner_id}", headers=as_admin).status_code,
            "manager invites": c.post("/api/agency/invites", headers=as_manager, json={"role": "viewer"}).status_code,
            "viewer lists invites": c.get("/api/agency/invites", headers=as_viewer).status_code,
            "admin invites an owner": c.post("/api/agency/invites", headers=as_admin,
                                             json={"role": "owner"}).status_code,
            "manager makes a creator link": c.post("/api/agency/creator-invites", headers=as_manager).status_code,
            "admin sets the 2FA policy": c.put("/api/agency/two-factor-policy", headers=as_admin,
                                               json={"required": True}).status_code,
        }  # fmt: skip
        assert answers == dict.fromkeys(answers, 403)
        admin_lists = c.get("/api/agency/members", headers=as_admin)
        promoted = c.patch(f"/api/agency/members/{viewer_id}", headers=as_admin, json={"role": "manager"})
        admin_invites = c.post("/api/agency/invites", headers=as_admin, json={"role": "admin"})
        owner_makes_owner = c.patch(f"/api/agency/members/{viewer_id}", headers=as_owner, json={"role": "owner"})
    assert admin_lists.status_code == 200
    assert {m["email"] for m in admin_lists.json()} == {owner.email, *emails.values()}
    assert (promoted.status_code, promoted.json()["role"]) == (200, "manager")
    assert admin_invites.status_code == 201
    assert (owner_makes_owner.status_code, owner_makes_owner.json()["role"]) == (200, "owner")


def test_the_last_owner_can_be_neither_demoted_nor_removed(env: Env) -> None:
    owner = env.owner()
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        owner_id = _ids(c, as_owner)[owner.email]
        demoted = c.patch(f"/api/agency/members/{owner_id}", headers=as_owner, json={"role": "admin"})
        removed = c.delete(f"/api/agency/members/{owner_id}", headers=as_owner)
        still = c.get("/api/auth/me", headers=as_owner)
    assert (demoted.status_code, removed.status_code) == (409, 409)
    assert demoted.headers["content-type"] == "application/problem+json"
    assert demoted.json()["title"] == "Conflict"
    assert still.json()["role"] == "owner"


def test_a_role_and_a_scope_change_together_or_not_at_all(env: Env) -> None:
    owner = env.owner()
    agency = agency_of(env, owner)
    luna, mika = creator(env, agency, "luna"), creator(env, agency, "mika")
    foreign = creator(env, agency_of(env, env.owner()), "zed")
    admin_email = member(env, owner, Role.ADMIN)
    with client(env.app) as c:
        as_owner = session(c, owner.email)
        admin_id = _ids(c, as_owner)[admin_email]
        url = f"/api/agency/members/{admin_id}"
        foreign_scope = c.patch(url, headers=as_owner, json={"role": "viewer", "creator_ids": [luna, foreign]})
        admin_scope = c.patch(url, headers=as_owner, json={"creator_ids": [luna]})
        unchanged = {m["id"]: m for m in c.get("/api/agency/members", headers=as_owner).json()}[admin_id]
        limited = c.patch(url, headers=as_owner, json={"role": "viewer", "creator_ids": [luna]})
        widened = c.patch(url, headers=as_owner, json={"creator_ids": [luna, mika]})
        role_only = c.patch(url, headers=as_owner, json={"role": "manager"})
        everything = c.patch(url, headers=as_owner, json={"creator_ids": None})
        unknown_field = c.patch(url, headers=as_owner, json={"role": "viewer", "disabled": False})
    assert foreign_scope.status_code == 404
    assert foreign not in foreign_scope.text
    assert admin_scope.status_code == 422
    assert (unchanged["role"], unchanged["creator_ids"]) == ("admin", None)
    assert (limited.status_code, limited.json()["role"], limited.json()["creator_ids"]) == (200, "viewer", [luna])
    assert widened.json()["creator_ids"] == sorted([luna, mika])
    assert (role_only.json()["role"], role_only.json()["creator_ids"]) == ("manager", sorted([luna, mika]))
    assert everything.json()["creator_ids"] is None
    assert unknown_field.status_code == 400


def test_a_removed_member_is_signed_out_and_cannot_log_in(env: Env) -> None:
    owner = env.owner()
    viewer_email = member(env, owner, Role.VIEWER)
    with client(env.app) as c:
        as_owner, as_viewer = session(c, owner.email), session(c, viewer_email)
        viewer_id = _ids(c, as_owner)[viewer_email]
        removed = c.delete(f"/api/agency/members/{viewer_id}", headers=as_owner)
        her_session = c.get("/api/auth/me", headers=as_viewer)
        again = login(c, viewer_email)
        listed = {m["id"]: m for m in c.get("/api/agency/members", headers=as_owner).json()}
    assert removed.status_code == 204
    assert her_session.status_code == 401
    assert again.status_code == 401
    assert listed[viewer_id]["disabled"] is True


def _owner_of_a(env: Env) -> tuple[Owner, str]:
    owner = env.owner()
    return owner, member(env, owner, Role.VIEWER)


def test_agency_b_gets_404_and_none_of_a_s_data_on_a_s_members_and_invites(env: Env) -> None:
    owner_a, viewer_a = _owner_of_a(env)
    owner_b = env.owner()
    with client(env.app) as c:
        as_a, as_b = session(c, owner_a.email), session(c, owner_b.email)
        ids_a = _ids(c, as_a)
        invite_a = c.post("/api/agency/invites", headers=as_a, json={"role": "viewer"}).json()["id"]
        answers = [
            c.patch(f"/api/agency/members/{ids_a[viewer_a]}", headers=as_b, json={"role": "manager"}),
            c.patch(f"/api/agency/members/{ids_a[owner_a.email]}", headers=as_b, json={"creator_ids": None}),
            c.delete(f"/api/agency/members/{ids_a[viewer_a]}", headers=as_b),
            c.delete(f"/api/agency/invites/{invite_a}", headers=as_b),
        ]
        b_members = c.get("/api/agency/members", headers=as_b).text
        b_invites = c.get("/api/agency/invites", headers=as_b).text
        after = c.get("/api/agency/members", headers=as_a).json()
        invites_a = c.get("/api/agency/invites", headers=as_a).json()
    assert [a.status_code for a in answers] == [404] * 4
    a_data = [viewer_a, owner_a.email, *ids_a.values(), invite_a]
    for text in [a.text for a in answers] + [b_members, b_invites]:
        assert not [value for value in a_data if value in text]
    assert {m["email"]: (m["role"], m["disabled"]) for m in after} == {
        owner_a.email: ("owner", False),
        viewer_a: ("viewer", False),
    }
    assert sorted(i["status"] for i in invites_a) == ["pending", "used"]  # the viewer's, and the one B tried


def test_the_last_owner_error_answers_409_whatever_order_the_errors_were_mapped_in() -> None:
    """``LastOwnerError`` is a ``NotPermitted`` (403): its own status wins, whichever domain mapped first."""
    mapped = dict(DOMAIN_ERRORS)
    try:
        DOMAIN_ERRORS.clear()
        DOMAIN_ERRORS.update({NotPermitted: mapped[NotPermitted], **mapped})  # the general one first
        assert list(DOMAIN_ERRORS).index(NotPermitted) < list(DOMAIN_ERRORS).index(LastOwnerError)
        assert domain_status(LastOwnerError("the last owner")) == 409
        assert domain_status(NotPermitted("no")) == 403
    finally:
        DOMAIN_ERRORS.clear()
        DOMAIN_ERRORS.update(mapped)
