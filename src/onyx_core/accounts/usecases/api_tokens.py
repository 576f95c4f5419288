"""Personal API tokens: ``onyx_pat_`` + 256 random bits, stored as a digest, scoped, revocable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from onyx_core.accounts.errors import NotPermitted
from onyx_core.accounts.model import ApiToken, ApiTokenScope, AuditAction
from onyx_core.accounts.tokens import digest, new_secret
from onyx_core.accounts.usecases.deps import AccountsDeps, ApiTokenIssued, Principal, audit, new_id
from onyx_core.accounts.usecases.two_factor import _session_only
from onyx_core.errors import DomainValueError, NotFoundError
from onyx_core.ids import ApiTokenId
from onyx_core.timeutil import optional_utc

__all__ = ["create_api_token", "list_api_tokens", "revoke_api_token"]


def _for_tokens(principal: Principal) -> None:
    """Tokens are managed from a full browser session only (a token never makes or revokes tokens)."""
    _session_only(principal)
    if principal.enrolment_required:
        raise NotPermitted("enrol in two-factor authentication first")


async def create_api_token(
    deps: AccountsDeps,
    principal: Principal,
    *,
    name: str,
    scopes: Iterable[ApiTokenScope],
    expires_at: datetime | None = None,
) -> ApiTokenIssued:
    """A new token acting as the principal's member, limited to ``scopes``; the secret is returned once."""
    _for_tokens(principal)
    now, member = deps.clock.now(), principal.member
    chosen = frozenset(ApiTokenScope(s) for s in scopes)
    if not chosen:
        raise DomainValueError("a token needs at least one scope")
    if not name.strip() or len(name) > 100 or not name.isprintable():
        raise DomainValueError("a token needs a name of at most 100 printable characters")
    expires_at = optional_utc(expires_at, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise DomainValueError("a token cannot expire in the past")
    secret = new_secret(deps.policy.api_token_prefix)
    token = ApiToken(
        ApiTokenId(new_id()), member.id, member.agency_id, name.strip(), chosen, digest(secret), now, expires_at
    )
    async with deps.uow() as uow:
        await uow.api_tokens.add(token)
        await audit(
            uow, now, AuditAction.API_TOKEN_CREATED, member, target=token.id,
            details={"name": token.name, "scopes": ",".join(sorted(chosen))},
        )  # fmt: skip
        await uow.commit()
    return ApiTokenIssued(token, secret)


async def list_api_tokens(deps: AccountsDeps, principal: Principal) -> list[ApiToken]:
    """The principal's own tokens (digests only; never the secrets)."""
    _for_tokens(principal)
    async with deps.uow() as uow:
        return await uow.api_tokens.for_member(principal.member.id)


async def revoke_api_token(deps: AccountsDeps, principal: Principal, token_id: ApiTokenId) -> None:
    """Revoke one of the principal's own tokens (another's is :class:`NotFoundError`). Idempotent."""
    _for_tokens(principal)
    now = deps.clock.now()
    async with deps.uow() as uow:
        token = await uow.api_tokens.get(token_id)
        if token is None or token.member_id != principal.member.id:
            raise NotFoundError(f"no API token {token_id}")
        if token.revoked_at is not None:
            return
        await uow.api_tokens.save(replace(token, revoked_at=now))
        await audit(uow, now, AuditAction.API_TOKEN_REVOKED, principal.member, target=token.id)
        await uow.commit()
