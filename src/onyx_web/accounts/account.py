"""The member's own account (JSON, under ``/api/account``): TOTP enrolment, recovery codes, turning 2FA off,
changing the password, personal API tokens.

Every rule is the core's (:mod:`onyx_core.accounts`): these handlers only call it. What needs re-authentication
(new recovery codes, 2FA off, a new password) takes the current password and, when 2FA is on, a current code; a
wrong one answers 401 and changes nothing. Account changes are for a browser session that passed every factor it
owes: an API token gets 403. Enrolling is also open to a member whose agency requires 2FA and who has none yet.

Secrets the web receives or makes here (passwords, the TOTP secret, recovery codes, a new API token) are handed to
:func:`onyx_fanvue.redaction.remember`, so the log filter scrubs them wherever they would show up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody

from onyx_adapters.security import qr_svg
from onyx_core.accounts import (
    begin_totp_enrolment,
    change_password,
    confirm_totp_enrolment,
    create_api_token,
    disable_totp,
    list_api_tokens,
    regenerate_recovery_codes,
    revoke_api_token,
)
from onyx_core.accounts.model import ApiToken, ApiTokenScope
from onyx_core.errors import NotFoundError
from onyx_core.ids import ApiTokenId
from onyx_fanvue.redaction import remember
from onyx_web.accounts.authentication import ENROLMENT_STEP
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import broken_rule, problem_spec

__all__ = [
    "AccountController",
    "ApiTokenCreated",
    "ApiTokenView",
    "NewApiToken",
    "NewPassword",
    "Reauthentication",
    "RecoveryCodes",
    "TotpCode",
    "TotpEnrolment",
]

_TOKEN_ID = re.compile(r"[0-9a-f]{32}")
"""The form of an API token's id (a UUID's hex); anything else is no token of anyone's (404)."""


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the enrolment page shows: the URI and the QR code to scan, and the secret to type in instead."""

    otpauth_uri: str = field(repr=False)
    secret: str = field(repr=False)
    """Base32, 160 random bits."""
    qr_svg: str
    """An inline ``<svg>`` element of the URI's QR code (no script, no external resource)."""


@dataclass(frozen=True, slots=True)
class TotpCode:
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RecoveryCodes:
    recovery_codes: list[str] = field(repr=False)
    """Ten single-use codes, shown this once (only their hashes are stored)."""


@dataclass(frozen=True, slots=True)
class Reauthentication:
    password: str = field(repr=False)
    code: str = field(repr=False)
    """A current TOTP code."""


@dataclass(frozen=True, slots=True)
class NewPassword:
    current_password: str = field(repr=False)
    new_password: str = field(repr=False)
    code: str | None = field(default=None, repr=False)
    """A current TOTP code, needed when 2FA is on."""


@dataclass(frozen=True, slots=True)
class NewApiToken:
    name: str
    """1-100 characters, not only spaces."""
    scopes: list[ApiTokenScope]
    """At least one: ``read`` (GET routes), ``write`` (changes the member's role allows, never account changes)."""


@dataclass(frozen=True, slots=True)
class ApiTokenView:
    """A token as its member sees it later: never the secret, never its digest."""

    id: str
    name: str
    scopes: list[ApiTokenScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiTokenCreated:
    """A new token: ``secret`` (``onyx_pat_...``) is shown this once; send it as ``Authorization: Bearer``."""

    id: str
    name: str
    scopes: list[ApiTokenScope]
    created_at: datetime
    expires_at: datetime | None
    secret: str = field(repr=False)


def _responses(*statuses: int) -> dict[int, ResponseSpec]:
    reasons = {
        400: "The body is malformed",
        401: "Not logged in, or the password or code given is wrong",
        403: "An API token cannot change the account, or the CSRF token is missing or wrong",
        404: "No such token of this member's",
        409: "Two-factor authentication is not in the state this needs",
        422: "The new password or the token's name or scopes break the rules",
        423: "Too many wrong codes: only a recovery code unlocks the account",
        429: "Too many wrong codes: try again after Retry-After seconds",
    }
    return {status: problem_spec(reasons[status]) for status in (400, 401, 403, *statuses)}


_REAUTH = _responses(409, 423, 429)


def _remember(*secrets: str | None) -> None:
    for secret in secrets:
        if secret:
            remember(secret)


def _scopes(token: ApiToken) -> list[ApiTokenScope]:
    return sorted(token.scopes)


def _view(token: ApiToken) -> ApiTokenView:
    return ApiTokenView(
        str(token.id), token.name, _scopes(token), token.created_at, token.expires_at, token.last_used_at,
        token.revoked_at,
    )  # fmt: skip


class AccountController(Controller):
    path = "/api/account"
    tags = ["account"]  # noqa: RUF012 (Litestar's own attribute)

    @post(
        "/totp/enrolment", opt={ENROLMENT_STEP: True}, status_code=200,
        responses=_responses(409), summary="Start enrolling in TOTP two-factor authentication",
    )  # fmt: skip
    async def begin_enrolment(self, request: Request[Any, Any, Any], accounts: Accounts) -> TotpEnrolment:
        """A new TOTP secret (inactive until confirmed with one code; a new start replaces an unconfirmed one).
        409 while 2FA is on already."""
        setup = await begin_totp_enrolment(accounts, principal_of(request))
        _remember(setup.secret)
        return TotpEnrolment(setup.provisioning_uri, setup.secret, qr_svg(setup.provisioning_uri))

    @post(
        "/totp/enrolment/confirm", opt={ENROLMENT_STEP: True}, status_code=200,
        responses=_responses(409), summary="Turn TOTP on with one correct code",
    )  # fmt: skip
    async def confirm_enrolment(
        self, request: Request[Any, Any, Any], data: JSONBody[TotpCode], accounts: Accounts
    ) -> RecoveryCodes:
        """Activate the enrolment with a code from the app; the answer holds the ten recovery codes. A wrong code
        answers 401 and activates nothing."""
        codes = await confirm_totp_enrolment(accounts, principal_of(request), data.code)
        _remember(*codes)
        return RecoveryCodes(codes)

    @post("/recovery-codes", status_code=200, responses=_REAUTH, summary="New recovery codes")
    async def regenerate_codes(
        self, request: Request[Any, Any, Any], data: JSONBody[Reauthentication], accounts: Accounts
    ) -> RecoveryCodes:
        """Ten new recovery codes (every older one stops working); needs the password and a current code."""
        _remember(data.password)
        codes = await regenerate_recovery_codes(accounts, principal_of(request), password=data.password, code=data.code)
        _remember(*codes)
        return RecoveryCodes(codes)

    @post("/totp/disable", status_code=204, responses=_REAUTH, summary="Turn TOTP off")
    async def disable(
        self, request: Request[Any, Any, Any], data: JSONBody[Reauthentication], accounts: Accounts
    ) -> None:
        """Turn 2FA off (secret and recovery codes deleted); needs the password and a current code."""
        _remember(data.password)
        await disable_totp(accounts, principal_of(request), password=data.password, code=data.code)

    @post("/password", status_code=204, responses=_responses(409, 422, 423, 429), summary="Change the password")
    async def password(self, request: Request[Any, Any, Any], data: JSONBody[NewPassword], accounts: Accounts) -> None:
        """Change one's password: the current one, the new one and, when 2FA is on, a current code. Every other
        session of the member ends; this one stays."""
        _remember(data.current_password, data.new_password)
        await change_password(
            accounts, principal_of(request), current=data.current_password, new=data.new_password, code=data.code
        )

    @get("/tokens", responses=_responses(), summary="The member's personal API tokens")
    async def tokens(self, request: Request[Any, Any, Any], accounts: Accounts) -> list[ApiTokenView]:
        """The member's own tokens, revoked ones included (never a secret)."""
        return [_view(token) for token in await list_api_tokens(accounts, principal_of(request))]

    @post("/tokens", status_code=201, responses=_responses(422), summary="A new personal API token")
    async def create_token(
        self, request: Request[Any, Any, Any], data: JSONBody[NewApiToken], accounts: Accounts
    ) -> ApiTokenCreated:
        """A token acting as the member within ``scopes``; its secret is in this answer only."""
        with broken_rule("A token needs a name of 1 to 100 characters and at least one scope."):
            issued = await create_api_token(accounts, principal_of(request), name=data.name, scopes=data.scopes)
        _remember(issued.secret)
        token = issued.token
        return ApiTokenCreated(
            str(token.id), token.name, _scopes(token), token.created_at, token.expires_at, issued.secret
        )

    @delete("/tokens/{token_id:str}", status_code=204, responses=_responses(404), summary="Revoke an API token")
    async def revoke_token(self, request: Request[Any, Any, Any], token_id: FromPath[str], accounts: Accounts) -> None:
        """Revoke one of the member's own tokens (at once: it answers 401 from now on). Idempotent."""
        principal = principal_of(request)
        if _TOKEN_ID.fullmatch(token_id) is None:
            raise NotFoundError("no such API token")
        await revoke_api_token(accounts, principal, ApiTokenId(token_id))
