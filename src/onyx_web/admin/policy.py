"""``PUT /api/agency/two-factor-policy``: owners decide whether every member must use TOTP 2FA (members without it
may then only enrol, see who they are and log out). A browser session only: an API token gets 403."""

from __future__ import annotations

from typing import Any

from litestar import Request, put
from litestar.params import JSONBody

from onyx_core.accounts import Permission, set_two_factor_required
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.admin.schemas import TwoFactorPolicyBody
from onyx_web.errors import problem_spec

__all__ = ["two_factor_policy"]


@put(
    "/api/agency/two-factor-policy",
    tags=["agency"],
    summary="Require (or stop requiring) 2FA of every member",
    status_code=204,
    guards=[permits(Permission.MANAGE_SECURITY_POLICY)],
    responses={403: problem_spec("Owners only, from a browser session")},
)
async def two_factor_policy(
    request: Request[Any, Any, Any], data: JSONBody[TwoFactorPolicyBody], accounts: Accounts
) -> None:
    await set_two_factor_required(accounts, principal_of(request), data.required)
