"""The audit log and the 2FA policy over HTTP on SQLite and PostgreSQL: owners only read the log (admins, managers
and viewers get 403); it holds logins, failed logins, 2FA changes, invitations, role changes and removals, newest
first, paged by ``limit``/``before``; agency B reads none of A's entries; the policy is owners' and makes members
without 2FA enrol."""

from __future__ import annotations

import pytest
from admin_kit import full_session, member, new_email, session
from auth_kit import PASSWORD, Env, client, login, make_env

from onyx_core.accounts.model import Role


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_only_owners_read_the_audit_log(env: Env) -> None:
    owner = env.owner()
    others = [member(env, owner, role) for role in (Role.ADMIN, Role.MANAGER, Role.VIEWER)]
    with client(env.app) as c:
        refused = [c.get("/api/agency/audit", headers=session(c, email)).status_code for email in others]
        read = c.get("/api/agency/audit", headers=session(c, owner.email))
    assert refused == [403, 403, 403]
    assert read.status_code == 200


def test_the_log_holds_every_security_action_newest_first_in_pages(env: Env) -> None:
    owner = env.owner(totp=True)
    viewer = new_email("viewer")
    with client(env.app) as c:
        assert login(c, owner.email, "not the password at all").status_code == 401
        env.clock.advance(30)  # a fresh TOTP step (the enrolment used this one)
        as_owner = full_session(c, env, owner)
        url = c.post("/api/agency/invites", headers=as_owner, json={"role": "viewer"}).json()["url"]
        body = {"email": viewer, "display_name": "Vera", "password": PASSWORD}
        assert c.post(f"/api/invites/{url.rsplit('/', 1)[1]}/accept", json=body).status_code == 201
        viewer_id = {m["email"]: m["id"] for m in c.get("/api/agency/members", headers=as_owner).json()}[viewer]
        assert c.patch(f"/api/agency/members/{viewer_id}", headers=as_owner, json={"role": "manager"}).is_success
        assert c.delete(f"/api/agency/members/{viewer_id}", headers=as_owner).status_code == 204
        assert c.put("/api/agency/two-factor-policy", headers=as_owner, json={"required": True}).status_code == 204
        full = c.get("/api/agency/audit?limit=500", headers=as_owner).json()
        pages, before = [], None
        while True:
            query = "limit=3" + (f"&before={before}" if before else "")
            page = c.get(f"/api/agency/audit?{query}", headers=as_owner).json()
            pages.append(page["entries"])
            before = page["next_before"]
            if before is None:
                break
        bad = [
            c.get(f"/api/agency/audit?{q}", headers=as_owner).status_code for q in ("limit=0", "limit=501", "before=0")
        ]
    entries = full["entries"]
    actions = [e["action"] for e in entries]
    assert {
        "owner_created", "login", "login_failed", "two_factor_enrolled", "member_invited", "member_joined",
        "role_changed", "member_removed", "two_factor_policy_changed",
    } <= set(actions)  # fmt: skip
    assert actions[0] == "two_factor_policy_changed"
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    assert [e for page in pages for e in page] == entries
    assert all(len(page) <= 3 for page in pages)
    assert full["next_before"] is None
    role = next(e for e in entries if e["action"] == "role_changed")
    assert (role["target"], role["details"]) == (viewer_id, {"from": "viewer", "to": "manager"})
    assert bad == [400, 400, 400]


def test_agency_b_reads_none_of_a_s_entries(env: Env) -> None:
    owner_a, owner_b = env.owner(), env.owner()
    viewer_a = member(env, owner_a, Role.VIEWER)
    with client(env.app) as c:
        as_a = session(c, owner_a.email)
        a_ids = {m["id"] for m in c.get("/api/agency/members", headers=as_a).json()}
        b_log = c.get("/api/agency/audit?limit=500", headers=session(c, owner_b.email))
    assert b_log.status_code == 200
    assert [e["action"] for e in b_log.json()["entries"]] == ["login", "owner_created"]
    assert not [value for value in (*a_ids, viewer_a, owner_a.email) if value in b_log.text]


def test_the_two_factor_policy_is_the_owners_and_makes_members_enrol(env: Env) -> None:
    owner = env.owner()
    admin = member(env, owner, Role.ADMIN)
    token = env.api_token(owner)
    with client(env.app) as c:
        by_admin = c.put("/api/agency/two-factor-policy", headers=session(c, admin), json={"required": True})
        by_token = c.put(
            "/api/agency/two-factor-policy", headers={"Authorization": f"Bearer {token}"}, json={"required": True}
        )
        by_owner = c.put("/api/agency/two-factor-policy", headers=session(c, owner.email), json={"required": True})
        step = login(c, admin).json()
        off = c.put("/api/agency/two-factor-policy", headers=session_without_2fa_check(c, owner.email), json={})
    assert (by_admin.status_code, by_token.status_code, by_owner.status_code) == (403, 403, 204)
    assert step["enrolment_required"] is True
    assert off.status_code == 401  # the owner has no 2FA either: she must enrol first, like everyone


def session_without_2fa_check(c, email: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from auth_kit import as_session, set_cookie_secret  # noqa: PLC0415

    response = login(c, email)
    return as_session(set_cookie_secret(response), response.json()["csrf_token"])
