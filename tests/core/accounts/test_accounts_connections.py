"""Connection health (what a member sees of the agency's Fanvue connections), and finishing a creator's connect in
a browser that also holds a member's session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_kit import T0, Kit

from onyx_core.accounts import (
    InvalidOAuthState,
    NotPermitted,
    begin_connect,
    begin_creator_connect,
    finish_connect,
    invite_creator_connect,
)
from onyx_core.accounts.model import Role
from onyx_core.accounts.usecases.connections import (
    HealthState,
    ReconnectHint,
    connection_health,
    get_connection_health,
    list_connection_health,
)
from onyx_core.catalog import Agency
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import NotFoundError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.tokens import TokenSet

NEEDED = ("read:self", "read:creator", "offline_access")


def tokens(*scopes: str) -> TokenSet:
    return TokenSet("access-SECRET", "refresh-SECRET", T0 + timedelta(hours=1), frozenset(scopes))


def agency_connection(agency: str, uuid: str = "u-admin", *scopes: str) -> Connection:
    return Connection(
        ConnectionId(f"agency-{uuid}"), ConnectionKind.AGENCY, AgencyId(agency), None, uuid,
        ConnectionStatus.ACTIVE, tokens(*(scopes or NEEDED)), 1, T0,
    )  # fmt: skip


def creator_connection(agency: str, creator: str) -> Connection:
    return Connection(
        ConnectionId(f"creator-{creator}"), ConnectionKind.CREATOR, AgencyId(agency), CreatorId(creator), creator,
        ConnectionStatus.ACTIVE, tokens(*NEEDED), 1, T0,
    )  # fmt: skip


def test_health_says_active_only_for_a_usable_grant_with_every_needed_scope() -> None:
    ok = connection_health(agency_connection("a"), NEEDED, "Acme")
    assert (ok.state, ok.scopes_missing, ok.reconnect) == (HealthState.ACTIVE, (), None)
    assert ok.scopes_granted == tuple(sorted(NEEDED))
    short = connection_health(agency_connection("a", "u", "read:self"), NEEDED, "Acme")
    assert short.state is HealthState.NEEDS_RECONSENT
    assert short.scopes_missing == ("offline_access", "read:creator")
    assert short.reconnect is ReconnectHint.RECONNECT
    refused = connection_health(agency_connection("a").marked_needs_reauth("invalid_grant"), NEEDED, "Acme")
    assert (refused.state, refused.last_error, refused.scopes_granted) == (
        HealthState.NEEDS_RECONSENT, "invalid_grant", (),
    )  # fmt: skip
    gone = connection_health(creator_connection("a", "c1").marked_revoked("removed the app"), NEEDED, "luna")
    assert (gone.state, gone.reconnect) == (HealthState.REVOKED, ReconnectHint.CREATOR_INVITE)
    assert "SECRET" not in repr(ok)  # the view holds no token


async def test_members_see_their_agencys_connections_and_creators_only_within_their_scope(kit: Kit, owner) -> None:
    member, principal = owner
    mine = member.agency_id
    kit.base.agencies[mine] = Agency(mine, "Acme", "u-admin")
    kit.add_creator(mine, "c1")
    kit.add_creator(mine, "c2")
    kit.add_creator(AgencyId("other"), "c9")
    for connection in (
        agency_connection(mine),
        creator_connection(mine, "c1"),
        creator_connection(mine, "c2"),
        agency_connection("other", "u-theirs"),
        creator_connection("other", "c9"),
    ):
        kit.base.connections[connection.id] = connection
    everything = await list_connection_health(kit.deps, principal, NEEDED)
    assert [(h.id, h.account_name) for h in everything] == [
        ("agency-u-admin", "Acme"), ("creator-c1", "c1"), ("creator-c2", "c2"),
    ]  # fmt: skip
    _, manager = await kit.member(principal, Role.MANAGER, frozenset({CreatorId("c1")}))
    assert [h.id for h in await list_connection_health(kit.deps, manager, NEEDED)] == ["agency-u-admin", "creator-c1"]
    with pytest.raises(NotFoundError):  # outside her scope: as if it did not exist
        await get_connection_health(kit.deps, manager, "creator-c2", NEEDED)
    for foreign in ("agency-u-theirs", "creator-c9", "nope"):
        with pytest.raises(NotFoundError):
            await get_connection_health(kit.deps, principal, foreign, NEEDED)
    assert (await get_connection_health(kit.deps, principal, "creator-c2", NEEDED)).account_name == "c2"
    _, viewer = await kit.member(principal, Role.VIEWER)
    with pytest.raises(NotPermitted):
        await list_connection_health(kit.deps, viewer, NEEDED)
    with pytest.raises(NotPermitted):
        await get_connection_health(kit.deps, viewer, "agency-u-admin", NEEDED)


async def test_a_creator_attempt_finishes_with_its_invitation_whatever_session_the_browser_holds(
    kit: Kit, owner
) -> None:
    member, principal = owner
    session, this = await kit.login(member.email)
    invite = await invite_creator_connect(kit.deps, principal)
    start = await begin_creator_connect(kit.deps, invite_secret=invite.secret)
    attempt = await finish_connect(kit.deps, state=start.state, session_secret=session, invite_secret=invite.secret)
    assert attempt.invite_id == invite.invite.id
    other = await invite_creator_connect(kit.deps, principal)
    start = await begin_creator_connect(kit.deps, invite_secret=other.secret)
    with pytest.raises(InvalidOAuthState):  # the member's session is not the invitation
        await finish_connect(kit.deps, state=start.state, session_secret=session)
    mine = await begin_connect(kit.deps, this, session_secret=session)
    done = await finish_connect(kit.deps, state=mine.state, session_secret=session, invite_secret=invite.secret)
    assert done.member_id == member.id  # a member's attempt still needs (only) her session
    again = await begin_connect(kit.deps, this, session_secret=session)
    with pytest.raises(InvalidOAuthState):
        await finish_connect(kit.deps, state=again.state, session_secret=None, invite_secret=session)
