"""``/api/agency/members``: list the agency's members, change a role and creator scope, remove a member. Owners and
admins (``manage_members``); admins never touch owners nor make them; the last owner cannot be demoted or removed
(409); a member of another agency is 404."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch
from litestar.params import FromPath, JSONBody

from onyx_core.accounts import KEEP, Keep, Permission, list_members, remove_member, update_member
from onyx_core.ids import CreatorId, MemberId
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.admin.schemas import MemberPatch, MemberView
from onyx_web.errors import broken_rule, problem_spec

__all__ = ["MembersController"]

_FORBIDDEN = problem_spec("Your role cannot manage members, or not this one (admins never touch owners)")
_NOT_FOUND = problem_spec("No such member in your agency (or a creator outside it)")


class MembersController(Controller):
    path = "/api/agency/members"
    tags = ["agency"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.MANAGE_MEMBERS)]  # noqa: RUF012

    @get("/", summary="The agency's members", responses={403: _FORBIDDEN})
    async def list_(self, request: Request[Any, Any, Any], accounts: Accounts) -> list[MemberView]:
        return [MemberView.of(m) for m in await list_members(accounts, principal_of(request))]

    @patch(
        "/{member_id:str}",
        summary="Change a member's role and/or creator scope",
        responses={
            403: _FORBIDDEN,
            404: _NOT_FOUND,
            409: problem_spec("The agency's last owner cannot be demoted"),
            422: problem_spec("A scope for a role that sees every creator"),
        },
    )
    async def change(
        self, request: Request[Any, Any, Any], member_id: FromPath[str], data: JSONBody[MemberPatch], accounts: Accounts
    ) -> MemberView:
        role = None if isinstance(data.role, msgspec.UnsetType) else data.role
        scope: list[CreatorId] | Keep | None = KEEP
        if not isinstance(data.creator_ids, msgspec.UnsetType):
            scope = None if data.creator_ids is None else [CreatorId(c) for c in data.creator_ids]
        with broken_rule("Owners and admins see every creator: only managers and viewers have a creator scope."):
            changed = await update_member(accounts, principal_of(request), MemberId(member_id), role=role, scope=scope)
        return MemberView.of(changed)

    @delete(
        "/{member_id:str}",
        summary="Remove a member (disabled, signed out everywhere; her audit trail stays)",
        status_code=204,
        responses={403: _FORBIDDEN, 404: _NOT_FOUND, 409: problem_spec("The agency's last owner cannot be removed")},
    )
    async def remove(self, request: Request[Any, Any, Any], member_id: FromPath[str], accounts: Accounts) -> None:
        await remove_member(accounts, principal_of(request), MemberId(member_id))
