"""Reading creators: a member lists her agency's creators within her scope, and one creator of another agency or
outside her scope is not found (the same answer as an unknown id); a creator's own connection shows as its
status only."""

from __future__ import annotations

import pytest
from accounts_kit import Kit

from onyx_core.accounts.model import Member, Role
from onyx_core.accounts.usecases.creators import list_creators, show_creator
from onyx_core.accounts.usecases.deps import Principal
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import ConnectionId, CreatorId


def _own_connection(kit: Kit, creator_id: str, agency_id: str, status: ConnectionStatus) -> None:
    connection = Connection(
        ConnectionId(f"conn-{creator_id}"),
        ConnectionKind.CREATOR,
        agency_id,  # type: ignore[arg-type]
        CreatorId(creator_id),
        "00000000-0000-4000-8000-000000000001",
        status,
        None,
    )
    kit.base.connections[connection.id] = connection


async def test_a_member_lists_her_agencys_creators_within_her_scope(kit: Kit, owner: tuple[Member, Principal]) -> None:
    member, principal = owner
    for cid in ("luna", "mika", "nora"):
        kit.add_creator(member.agency_id, cid)
    other = await kit.owner("zed@other.test")
    kit.add_creator(other.agency_id, "zed")
    _own_connection(kit, "mika", member.agency_id, ConnectionStatus.NEEDS_REAUTH)

    listed = await list_creators(kit.deps, principal)
    assert [(o.creator.id, o.own_connection) for o in listed] == [
        ("luna", None),
        ("mika", ConnectionStatus.NEEDS_REAUTH),
        ("nora", None),
    ]

    _, viewer = await kit.member(principal, Role.VIEWER, frozenset({CreatorId("mika")}))
    assert [o.creator.id for o in await list_creators(kit.deps, viewer)] == ["mika"]
    _, manager = await kit.member(principal, Role.MANAGER)  # no scope: every creator of the agency
    assert [o.creator.id for o in await list_creators(kit.deps, manager)] == ["luna", "mika", "nora"]


async def test_another_agencys_or_out_of_scope_creator_is_not_found(kit: Kit, owner: tuple[Member, Principal]) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    kit.add_creator(member.agency_id, "mika")
    other = await kit.owner("zed@other.test")
    kit.add_creator(other.agency_id, "zed")
    _, viewer = await kit.member(principal, Role.VIEWER, frozenset({CreatorId("luna")}))

    assert (await show_creator(kit.deps, principal, CreatorId("mika"))).creator.id == "mika"
    assert (await show_creator(kit.deps, viewer, CreatorId("luna"))).creator.id == "luna"
    for who, cid in ((principal, "zed"), (principal, "nobody"), (viewer, "mika"), (viewer, "zed")):
        with pytest.raises(NotFoundError):
            await show_creator(kit.deps, who, CreatorId(cid))


async def test_a_connection_of_another_agency_is_not_the_creators_own(
    kit: Kit, owner: tuple[Member, Principal]
) -> None:
    member, principal = owner
    kit.add_creator(member.agency_id, "luna")
    _own_connection(kit, "luna", "someone-else", ConnectionStatus.ACTIVE)
    assert (await show_creator(kit.deps, principal, CreatorId("luna"))).own_connection is None
