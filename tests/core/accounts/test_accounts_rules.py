"""The role table, creator scope and the no-escalation rules, as pure functions and as properties."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onyx_core.accounts import LastOwnerError, NotPermitted, Permission, Principal, require, visible_creators
from onyx_core.accounts.errors import SecondFactorRequired
from onyx_core.accounts.model import Member, Role
from onyx_core.accounts.rules import ROLE_PERMISSIONS, check_role_change, is_last_owner, role_permits, sees_creator
from onyx_core.catalog import Creator
from onyx_core.ids import AgencyId, CreatorId, MemberId

T = datetime(2026, 1, 1, tzinfo=UTC)
P = Permission

EXPECTED = {
    Role.OWNER: set(Permission),
    Role.ADMIN: {
        P.VIEW_CREATORS, P.REFRESH_STATS, P.EXPORT_DATA, P.VIEW_CONNECTIONS, P.MANAGE_CONNECTIONS,
        P.INVITE_MEMBERS, P.MANAGE_MEMBERS, P.OPERATE, P.MANAGE_AGENCY_SETTINGS, P.ENTER_LINK_COSTS,
    },
    Role.MANAGER: {P.VIEW_CREATORS, P.REFRESH_STATS, P.EXPORT_DATA, P.VIEW_CONNECTIONS, P.ENTER_LINK_COSTS},
    Role.VIEWER: {P.VIEW_CREATORS},
}  # fmt: skip


def member(mid: str, role: Role, agency: str = "a1", scope: frozenset[str] | None = None, *, disabled=False):
    return Member(
        MemberId(mid), AgencyId(agency), f"{mid}@x.test", mid, role, T,
        creator_scope=None if scope is None else frozenset(CreatorId(c) for c in scope), disabled=disabled,
    )  # fmt: skip


def creator(cid: str, agency: str = "a1") -> Creator:
    return Creator(CreatorId(cid), AgencyId(agency), cid, cid, T)


@pytest.mark.parametrize("role", list(Role))
def test_the_permission_table_is_exactly_the_designed_one(role: Role) -> None:
    assert set(ROLE_PERMISSIONS[role]) == EXPECTED[role]
    for permission in Permission:
        assert role_permits(role, permission) is (permission in EXPECTED[role])


def test_require_refuses_what_the_role_lacks_and_everything_while_a_factor_is_owed() -> None:
    viewer = Principal(member("v", Role.VIEWER))
    require(viewer, P.VIEW_CREATORS)
    with pytest.raises(NotPermitted):
        require(viewer, P.EXPORT_DATA)
    owner = member("o", Role.OWNER)
    for principal in (Principal(owner, second_factor_due=True), Principal(owner, enrolment_required=True)):
        assert not any(principal.can(p) for p in Permission)
        with pytest.raises(SecondFactorRequired):
            require(principal, P.VIEW_CREATORS)


def test_scope_limits_managers_and_viewers_only_and_never_crosses_agencies() -> None:
    luna, mika, other = creator("luna"), creator("mika"), creator("zed", agency="a2")
    scope = frozenset({"luna"})
    assert [c.id for c in visible_creators(Principal(member("m", Role.MANAGER, scope=scope)), [luna, mika, other])] == [
        "luna"
    ]
    assert [c.id for c in visible_creators(Principal(member("v", Role.VIEWER, scope=scope)), [luna, mika])] == ["luna"]
    assert len(visible_creators(Principal(member("m", Role.MANAGER)), [luna, mika, other])) == 2
    for role in (Role.OWNER, Role.ADMIN):  # a scope stored on them is ignored
        assert len(visible_creators(Principal(member("x", role, scope=scope)), [luna, mika, other])) == 2


def test_an_admin_can_neither_make_nor_touch_owners_and_the_last_owner_stays() -> None:
    owner, admin, viewer = member("o", Role.OWNER), member("a", Role.ADMIN), member("v", Role.VIEWER)
    everyone = [owner, admin, viewer]
    with pytest.raises(NotPermitted):
        check_role_change(admin, viewer, Role.OWNER, everyone)
    with pytest.raises(NotPermitted):
        check_role_change(admin, admin, Role.OWNER, everyone)
    with pytest.raises(NotPermitted):
        check_role_change(admin, owner, Role.VIEWER, everyone)
    with pytest.raises(LastOwnerError):
        check_role_change(owner, owner, Role.ADMIN, everyone)
    check_role_change(admin, viewer, Role.ADMIN, everyone)
    check_role_change(owner, viewer, Role.OWNER, everyone)
    second = member("o2", Role.OWNER)
    check_role_change(owner, owner, Role.ADMIN, [*everyone, second])
    assert is_last_owner(owner, [*everyone, member("o3", Role.OWNER, disabled=True)])


roles = st.sampled_from(list(Role))


@given(actor=roles, target=roles, new=roles, other_owners=st.integers(0, 2))
def test_no_role_change_escalates(actor: Role, target: Role, new: Role, other_owners: int) -> None:
    """Allowed changes never grant more than the actor has, never touch owners unless by an owner, and never leave
    the agency without an owner."""
    a, t = member("actor", actor), member("target", target)
    members = [a, t, *(member(f"o{i}", Role.OWNER) for i in range(other_owners))]
    owners_before = sum(m.role is Role.OWNER for m in members)
    try:
        check_role_change(a, t, new, members)
    except NotPermitted:
        allowed = False
    else:
        allowed = True
    if allowed:
        assert role_permits(actor, P.MANAGE_MEMBERS)
        assert new is not Role.OWNER or actor is Role.OWNER
        assert target is not Role.OWNER or actor is Role.OWNER
        assert ROLE_PERMISSIONS[new] <= ROLE_PERMISSIONS[actor]
        owners_after = owners_before - (target is Role.OWNER) + (new is Role.OWNER)
        assert owners_after >= min(1, owners_before)
    elif actor is Role.OWNER:  # an owner is refused only to keep the last owner
        assert target is Role.OWNER
        assert new is not Role.OWNER
        assert owners_before == 1


@given(
    role=roles,
    scope=st.none() | st.frozensets(st.sampled_from(["c1", "c2", "c3"])),
    cid=st.sampled_from(["c1", "c2", "c3"]),
    agency=st.sampled_from(["a1", "a2"]),
)
def test_a_member_sees_a_creator_iff_same_agency_and_in_scope(role, scope, cid, agency) -> None:
    m = member("m", role, scope=scope)
    expected = agency == "a1" and (role in (Role.OWNER, Role.ADMIN) or scope is None or cid in scope)
    assert sees_creator(m, creator(cid, agency)) is expected
