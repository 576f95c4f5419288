"""Who may export what (with the in-memory fakes): owners, admins and managers may, viewers may not; the export
holds exactly the creators the member sees (one named creator, else all within her scope); another agency's or
an out-of-scope creator is not found; refused requests record nothing; the audit entry says who, what and how
many rows."""

from __future__ import annotations

import pytest
from accounts_kit import Kit

from onyx_core.accounts import NotPermitted, SecondFactorRequired, plan_export, record_export
from onyx_core.accounts.model import AuditAction, Member, Role
from onyx_core.accounts.usecases.deps import Principal
from onyx_core.errors import NotFoundError
from onyx_core.exports import Dataset, ExportFilters
from onyx_core.ids import CreatorId


async def test_owners_admins_and_managers_export_their_creators_and_viewers_none(
    kit: Kit, owner: tuple[Member, Principal]
) -> None:
    member, principal = owner
    for cid in ("luna", "mika", "nora"):
        kit.add_creator(member.agency_id, cid)
    other = await kit.owner("zed@other.test")
    kit.add_creator(other.agency_id, "zed")
    _, admin = await kit.member(principal, Role.ADMIN)
    _, manager = await kit.member(principal, Role.MANAGER, frozenset({CreatorId("mika"), CreatorId("nora")}))
    _, viewer = await kit.member(principal, Role.VIEWER)

    for who in (principal, admin):
        scope = await plan_export(kit.deps, who, Dataset.LEDGER, ExportFilters())
        assert scope.creator_ids == ("luna", "mika", "nora")
        assert scope.agency_id == member.agency_id
    scoped = await plan_export(kit.deps, manager, Dataset.TOP_SPENDERS, ExportFilters())
    assert scoped.creator_ids == ("mika", "nora")
    one = await plan_export(kit.deps, manager, Dataset.STATS_HISTORY, ExportFilters(creator_id=CreatorId("nora")))
    assert one.creator_ids == ("nora",)
    with pytest.raises(NotPermitted):
        await plan_export(kit.deps, viewer, Dataset.LEDGER, ExportFilters())


@pytest.mark.parametrize("creator", ["luna", "zed", "nobody"])
async def test_a_creator_outside_the_scope_or_agency_is_not_found(
    kit: Kit, owner: tuple[Member, Principal], creator: str
) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    kit.add_creator(member.agency_id, "mika")
    other = await kit.owner("zed@other.test")
    kit.add_creator(other.agency_id, "zed")
    _, manager = await kit.member(principal, Role.MANAGER, frozenset({CreatorId("mika")}))
    with pytest.raises(NotFoundError):
        await plan_export(kit.deps, manager, Dataset.LEDGER, ExportFilters(creator_id=CreatorId(creator)))


async def test_a_session_owing_its_second_factor_exports_nothing(kit: Kit, owner: tuple[Member, Principal]) -> None:
    _, principal = owner
    restricted = Principal(principal.member, principal.session, second_factor_due=True)
    with pytest.raises(SecondFactorRequired):
        await plan_export(kit.deps, restricted, Dataset.LEDGER, ExportFilters())


async def test_the_audit_entry_says_who_what_filters_and_rows(kit: Kit, owner: tuple[Member, Principal]) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    before = len(kit.store.audit)
    filters = ExportFilters(creator_id=CreatorId("luna"), tz="Europe/Berlin", limit=5)
    scope = await plan_export(kit.deps, principal, Dataset.DAILY_REVENUE, filters)
    assert len(kit.store.audit) == before  # planning records nothing: a refused export leaves no entry
    await record_export(kit.deps, principal, scope, file_format="csv", rows=42, ip="203.0.113.9")
    entry = kit.store.audit[-1]
    assert entry.action is AuditAction.EXPORT
    assert entry.actor == member.id
    assert entry.agency_id == member.agency_id
    assert entry.target == "daily-revenue"
    assert entry.ip == "203.0.113.9"
    assert entry.details == {
        "dataset": "daily-revenue",
        "format": "csv",
        "rows": "42",
        "creator_id": "luna",
        "tz": "Europe/Berlin",
        "limit": "5",
    }
