"""API tokens, OAuth connect attempts, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from accounts_kit import Kit

from onyx_core.accounts import (
    InvalidInvite,
    InvalidOAuthState,
    NotAuthenticated,
    NotPermitted,
    authenticate_api_token,
    begin_connect,
    begin_creator_connect,
    create_api_token,
    finish_connect,
    invite_creator_connect,
    list_api_tokens,
    read_audit,
    record_audit,
    remove_member,
    revoke_api_token,
    revoke_invite,
)
from onyx_core.accounts.model import ApiTokenScope, AuditAction, Role
from onyx_core.accounts.tokens import digest
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import ApiTokenId


async def test_a_token_is_stored_as_a_digest_and_acts_as_its_member(kit: Kit, owner) -> None:
    member, principal = owner
    issued = await create_api_token(kit.deps, principal, name="ci", scopes=[ApiTokenScope.READ])
    assert issued.secret.startswith("onyx_pat_")
    assert len(issued.secret) >= len("onyx_pat_") + 43
    stored = kit.store.api_tokens[issued.token.id]
    assert stored.token_digest == digest(issued.secret)
    assert issued.secret not in repr(kit.store.api_tokens)
    assert kit.store.audit[-1].action is AuditAction.API_TOKEN_CREATED
    by_token = await authenticate_api_token(kit.deps, issued.secret)
    assert by_token.member == member
    assert by_token.api_token is not None
    assert by_token.api_token.scopes == {ApiTokenScope.READ}
    assert by_token.session is None
    assert kit.store.api_tokens[issued.token.id].last_used_at == kit.clock.now()
    assert [t.id for t in await list_api_tokens(kit.deps, principal)] == [issued.token.id]
    with pytest.raises(NotPermitted):  # a token never makes tokens
        await create_api_token(kit.deps, by_token, name="more", scopes=[ApiTokenScope.WRITE])


async def test_revoked_expired_unknown_and_disabled_members_tokens_are_refused(kit: Kit, owner) -> None:
    _, principal = owner
    revoked = await create_api_token(kit.deps, principal, name="a", scopes=[ApiTokenScope.READ])
    expiring = await create_api_token(
        kit.deps, principal, name="b", scopes=[ApiTokenScope.READ], expires_at=kit.clock.now() + timedelta(days=1)
    )
    await revoke_api_token(kit.deps, principal, revoked.token.id)
    assert kit.store.audit[-1].action is AuditAction.API_TOKEN_REVOKED
    with pytest.raises(NotAuthenticated):
        await authenticate_api_token(kit.deps, revoked.secret)
    await authenticate_api_token(kit.deps, expiring.secret)
    kit.clock.advance(timedelta(days=1))
    with pytest.raises(NotAuthenticated):
        await authenticate_api_token(kit.deps, expiring.secret)
    for forged in ("onyx_pat_nope", "nope", revoked.secret[:-1]):
        with pytest.raises(NotAuthenticated):
            await authenticate_api_token(kit.deps, forged)
    _, viewer = await kit.member(principal, Role.VIEWER)
    theirs = await create_api_token(kit.deps, viewer, name="v", scopes=[ApiTokenScope.READ])
    with pytest.raises(NotFoundError):  # nobody revokes another member's token
        await revoke_api_token(kit.deps, principal, theirs.token.id)
    with pytest.raises(NotFoundError):
        await revoke_api_token(kit.deps, principal, ApiTokenId("nope"))
    await remove_member(kit.deps, principal, viewer.member.id)
    with pytest.raises(NotAuthenticated):
        await authenticate_api_token(kit.deps, theirs.secret)


async def test_member_connect_state_is_single_use_short_lived_and_bound_to_the_session(kit: Kit, owner) -> None:
    member, principal = owner
    mine, this_principal = await kit.login(member.email)
    start = await begin_connect(kit.deps, this_principal, session_secret=mine)
    assert len(start.code_verifier) >= 43
    assert digest(start.state) in kit.store.oauth_attempts
    with pytest.raises(NotAuthenticated):  # begun only from the session that asks
        await begin_connect(kit.deps, this_principal, session_secret="another")
    with pytest.raises(InvalidOAuthState):
        await finish_connect(kit.deps, state=start.state, session_secret="someone else's session")
    with pytest.raises(InvalidOAuthState):  # the failed try used it up
        await finish_connect(kit.deps, state=start.state, session_secret=mine)
    again = await begin_connect(kit.deps, this_principal, session_secret=mine)
    attempt = await finish_connect(kit.deps, state=again.state, session_secret=mine)
    assert (attempt.member_id, attempt.code_verifier) == (member.id, again.code_verifier)
    with pytest.raises(InvalidOAuthState):
        await finish_connect(kit.deps, state=again.state, session_secret=mine)
    late = await begin_connect(kit.deps, this_principal, session_secret=mine)
    kit.clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(InvalidOAuthState):
        await finish_connect(kit.deps, state=late.state, session_secret=mine)
    for state in ("", "unknown"):
        with pytest.raises(InvalidOAuthState):
            await finish_connect(kit.deps, state=state, session_secret=mine)
    _, viewer = await kit.member(principal, Role.VIEWER)
    with pytest.raises(NotPermitted):
        await begin_connect(kit.deps, viewer, session_secret="x")


async def test_creator_connect_is_bound_to_a_usable_invite_which_it_uses_up(kit: Kit, owner) -> None:
    member, principal = owner
    invite = await invite_creator_connect(kit.deps, principal)
    start = await begin_creator_connect(kit.deps, invite_secret=invite.secret)
    attempt = await finish_connect(kit.deps, state=start.state, session_secret=None)
    assert (attempt.invite_id, attempt.agency_id, attempt.member_id) == (invite.invite.id, member.agency_id, None)
    assert kit.store.invites[invite.invite.id].used_at == kit.clock.now()
    with pytest.raises(InvalidInvite):
        await begin_creator_connect(kit.deps, invite_secret=invite.secret)
    revoked = await invite_creator_connect(kit.deps, principal)
    start = await begin_creator_connect(kit.deps, invite_secret=revoked.secret)
    await revoke_invite(kit.deps, principal, revoked.invite.id)
    with pytest.raises(InvalidOAuthState):
        await finish_connect(kit.deps, state=start.state, session_secret=None)
    other = await invite_creator_connect(kit.deps, principal)
    start = await begin_creator_connect(kit.deps, invite_secret=other.secret)
    with pytest.raises(InvalidOAuthState):  # bound to its invitation when the caller names one
        await finish_connect(kit.deps, state=start.state, session_secret=invite.secret)
    with pytest.raises(InvalidInvite):
        await begin_creator_connect(kit.deps, invite_secret="unknown")


async def test_the_audit_log_is_for_owners_newest_first_and_pages(kit: Kit, owner) -> None:
    member, principal = owner
    await record_audit(kit.deps, principal, AuditAction.EXPORT, target="luna", details={"format": "csv"})
    entries = await read_audit(kit.deps, principal, limit=2)
    assert [e.action for e in entries] == [AuditAction.EXPORT, AuditAction.LOGIN]
    assert entries[0].actor == member.id
    assert entries[0].details == {"format": "csv"}
    assert entries[0].id is not None
    older = await read_audit(kit.deps, principal, before_id=entries[-1].id)
    assert [e.action for e in older] == [AuditAction.OWNER_CREATED]
    await record_audit(kit.deps, None, AuditAction.CONNECTION_ADDED, agency_id=member.agency_id, target="conn-1")
    newest = (await read_audit(kit.deps, principal, limit=1))[0]
    assert (newest.action, newest.actor, newest.target) == (AuditAction.CONNECTION_ADDED, None, "conn-1")
    _, admin = await kit.member(principal, Role.ADMIN)
    with pytest.raises(NotPermitted):
        await read_audit(kit.deps, admin)
    other = await kit.owner("zed@other.test")
    _, other_principal = await kit.login(other.email)
    assert {e.agency_id for e in await read_audit(kit.deps, other_principal)} == {other.agency_id}


async def test_a_token_acts_within_its_scopes_and_a_session_within_all(kit: Kit, owner) -> None:
    _, principal = owner
    assert principal.within_scope(ApiTokenScope.READ)
    assert principal.within_scope(ApiTokenScope.WRITE)
    for scopes in ([ApiTokenScope.READ], [ApiTokenScope.WRITE], [ApiTokenScope.READ, ApiTokenScope.WRITE]):
        issued = await create_api_token(kit.deps, principal, name="ci", scopes=scopes)
        by_token = await authenticate_api_token(kit.deps, issued.secret)
        assert {s for s in ApiTokenScope if by_token.within_scope(s)} == set(scopes)


@pytest.mark.parametrize(
    ("name", "scopes"),
    [("", ["read"]), ("  ", ["read"]), ("x" * 101, ["read"]), ("a\x00b", ["read"]), ("a\nb", ["read"]), ("ci", [])],
)
async def test_a_token_needs_a_printable_name_and_a_scope(kit: Kit, owner, name: str, scopes: list[str]) -> None:
    _, principal = owner
    with pytest.raises(DomainValueError):
        await create_api_token(kit.deps, principal, name=name, scopes=[ApiTokenScope(s) for s in scopes])
    assert await list_api_tokens(kit.deps, principal) == []
