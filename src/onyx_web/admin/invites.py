"""``/api/agency/invites`` and ``/api/agency/creator-invites``: single-use expiring links. The link
(``<base>/invite/<token>``) is shown to its maker once, in the answer that makes it; lists show an invitation's
state, never its secret. Member invitations need ``invite_members`` (owners, admins; only owners invite owners),
creator-connect links ``manage_connections``. An invitation of another agency is 404."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody

from onyx_core.accounts import (
    InviteIssued,
    Permission,
    invite_creator_connect,
    invite_member,
    list_invites,
    revoke_invite,
)
from onyx_core.ids import CreatorId, InviteId
from onyx_fanvue.redaction import remember
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import invite_url, permits
from onyx_web.admin.schemas import InviteBody, InviteLink, InviteView
from onyx_web.errors import broken_rule, problem_spec

__all__ = ["CreatorInvitesController", "InvitesController"]

_FORBIDDEN = problem_spec("Your role cannot invite (or not to this role)")


def _link(request: Request[Any, Any, Any], issued: InviteIssued) -> InviteLink:
    remember(issued.secret)  # the log filter scrubs it from here on
    return InviteLink(str(issued.invite.id), invite_url(request, issued.secret), issued.invite.expires_at)


class InvitesController(Controller):
    path = "/api/agency/invites"
    tags = ["agency"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.INVITE_MEMBERS)]  # noqa: RUF012

    @get("/", summary="The agency's invitations (member and creator-connect), without their secrets",
         responses={403: _FORBIDDEN})  # fmt: skip
    async def list_(self, request: Request[Any, Any, Any], accounts: Accounts) -> list[InviteView]:
        now = accounts.clock.now()
        return [InviteView.of(i, now) for i in await list_invites(accounts, principal_of(request))]

    @post(
        "/",
        summary="Invite a member: a single-use link, shown this once",
        status_code=201,
        responses={
            403: _FORBIDDEN,
            404: problem_spec("A creator of the scope is not your agency's"),
            422: problem_spec("Not an email address"),
        },
    )
    async def invite(
        self, request: Request[Any, Any, Any], data: JSONBody[InviteBody], accounts: Accounts
    ) -> InviteLink:
        scope = None if data.creator_ids is None else [CreatorId(c) for c in data.creator_ids]
        with broken_rule("That is not an email address."):
            issued = await invite_member(
                accounts, principal_of(request), role=data.role, creator_scope=scope, email=data.email
            )
        return _link(request, issued)

    @delete(
        "/{invite_id:str}",
        summary="Revoke an invitation: the link stops working",
        status_code=204,
        responses={403: _FORBIDDEN, 404: problem_spec("No such invitation in your agency")},
    )
    async def revoke(self, request: Request[Any, Any, Any], invite_id: FromPath[str], accounts: Accounts) -> None:
        await revoke_invite(accounts, principal_of(request), InviteId(invite_id))


class CreatorInvitesController(Controller):
    path = "/api/agency/creator-invites"
    tags = ["agency"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [permits(Permission.MANAGE_CONNECTIONS)]  # noqa: RUF012

    @post(
        "/",
        summary="A single-use link for a creator to connect her own Fanvue account, shown this once",
        status_code=201,
        responses={403: problem_spec("Your role cannot manage connections")},
    )
    async def invite(self, request: Request[Any, Any, Any], accounts: Accounts) -> InviteLink:
        return _link(request, await invite_creator_connect(accounts, principal_of(request)))
