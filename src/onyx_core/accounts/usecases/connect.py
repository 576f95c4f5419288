"""Starting and finishing "Connect Fanvue": the OAuth ``state`` is single use, short-lived and bound to the
browser session that started it (or, for a creator connecting her own account, to her invitation)."""

from __future__ import annotations

import secrets

from onyx_core.accounts.errors import InvalidInvite, InvalidOAuthState, NotAuthenticated
from onyx_core.accounts.model import InviteKind, OAuthAttempt
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.tokens import digest, new_secret, same_secret
from onyx_core.accounts.usecases.deps import AccountsDeps, ConnectStart, Principal, require
from onyx_core.accounts.usecases.members import usable_invite
from onyx_core.errors import NotFoundError
from onyx_core.ids import ConnectionId

__all__ = ["begin_connect", "begin_creator_connect", "finish_connect"]


def _code_verifier() -> str:
    """PKCE (RFC 7636): 43-128 unreserved characters; 64 here (384 random bits)."""
    return secrets.token_urlsafe(48)


async def begin_connect(
    deps: AccountsDeps, principal: Principal, *, session_secret: str, reconnect: str | None = None
) -> ConnectStart:
    """A member connects (or reconnects) the agency's Fanvue account from her session."""
    require(principal, Permission.MANAGE_CONNECTIONS)
    if principal.session is None or not same_secret(digest(session_secret), principal.session.id_digest):
        raise NotAuthenticated("connecting needs the browser session that asks")
    now, state, verifier = deps.clock.now(), new_secret(), _code_verifier()
    async with deps.uow() as uow:
        if reconnect is not None:
            connection = await uow.connections.get(ConnectionId(reconnect))
            if connection is None or connection.agency_id != principal.member.agency_id:
                raise NotFoundError(f"no connection {reconnect}")
        await uow.oauth_attempts.purge_before(now - deps.policy.oauth_attempt_lifetime)
        await uow.oauth_attempts.add(
            OAuthAttempt(
                state_digest=digest(state),
                session_digest=principal.session.id_digest,
                agency_id=principal.member.agency_id,
                member_id=principal.member.id,
                code_verifier=verifier,
                created_at=now,
                reconnect_connection_id=reconnect,
            )
        )
        await uow.commit()
    return ConnectStart(state, verifier)


async def begin_creator_connect(deps: AccountsDeps, *, invite_secret: str) -> ConnectStart:
    """A creator connects her own Fanvue account through a creator-connect invitation (she has no session): the
    attempt is bound to the invitation, which :func:`finish_connect` uses up."""
    now, state, verifier = deps.clock.now(), new_secret(), _code_verifier()
    async with deps.uow() as uow:
        invite = usable_invite(
            await uow.invites.by_token_digest(digest(invite_secret)), InviteKind.CREATOR_CONNECT, now
        )
        await uow.oauth_attempts.purge_before(now - deps.policy.oauth_attempt_lifetime)
        await uow.oauth_attempts.add(
            OAuthAttempt(
                state_digest=digest(state),
                session_digest=invite.token_digest,
                agency_id=invite.agency_id,
                member_id=None,
                code_verifier=verifier,
                created_at=now,
                invite_id=invite.id,
            )
        )
        await uow.commit()
    return ConnectStart(state, verifier)


async def finish_connect(
    deps: AccountsDeps, *, state: str, session_secret: str | None, invite_secret: str | None = None
) -> OAuthAttempt:
    """The attempt the OAuth callback's ``state`` names, taken (so it works once). Raises
    :class:`InvalidOAuthState` for a missing, unknown, used, expired or other-session state. A member's attempt
    needs the session that began it; a creator's needs its invitation still usable (and uses it up), and the
    invitation secret when the caller kept it: ``invite_secret`` (so a browser holding both a member's session and
    a creator's invitation finishes either attempt), else ``session_secret``."""
    if not state:
        raise InvalidOAuthState("the OAuth state is missing")
    now = deps.clock.now()
    async with deps.uow() as uow:
        attempt = await uow.oauth_attempts.take(digest(state))
        if attempt is None:
            raise InvalidOAuthState("unknown or used OAuth state")
        await uow.commit()  # taken for good, whatever follows
        if now - attempt.created_at > deps.policy.oauth_attempt_lifetime:
            raise InvalidOAuthState("the OAuth attempt expired: start again")
        if attempt.invite_id is None:
            if session_secret is None or not same_secret(digest(session_secret), attempt.session_digest):
                raise InvalidOAuthState("this OAuth attempt belongs to another session")
            return attempt
        kept = invite_secret if invite_secret is not None else session_secret
        if kept is not None and not same_secret(digest(kept), attempt.session_digest):
            raise InvalidOAuthState("this OAuth attempt belongs to another invitation")
        invite = await uow.invites.get(attempt.invite_id)
        try:
            usable_invite(invite, InviteKind.CREATOR_CONNECT, now)
        except InvalidInvite as refused:
            raise InvalidOAuthState("the invitation of this OAuth attempt is no longer valid") from refused
        if invite is None or not await uow.invites.consume(invite.id, now):
            raise InvalidOAuthState("the invitation of this OAuth attempt is no longer valid")
        await uow.commit()
    return attempt
