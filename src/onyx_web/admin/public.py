"""The public invitation routes (no session: the link is the credential): ``GET /api/invites/{token}`` says what
a usable link offers; ``POST /api/invites/{token}/accept`` makes the member (once), who then logs in. An unknown,
used, revoked or expired link answers 404 on both, alike. Nothing here writes unless the link is usable; the
token and the accepted password are remembered by the log filter."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from onyx_core.accounts import InvalidInvite, accept_invite, peek_invite
from onyx_fanvue.redaction import remember
from onyx_web.accounts.authentication import PUBLIC
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import plausible_token
from onyx_web.admin.schemas import AcceptInviteBody, InvitePreviewView, MemberView
from onyx_web.errors import broken_rule, problem_spec

__all__ = ["PublicInvitesController"]

_GONE = problem_spec("The link is unknown, used, revoked or expired")


def _unusable() -> InvalidInvite:
    """What a link that cannot be one answers: the 404 of every unusable link (no lookup made)."""
    return InvalidInvite("this invitation link is not valid")


class PublicInvitesController(Controller):
    path = "/api/invites"
    tags = ["invites"]  # noqa: RUF012 (Litestar's own attribute)

    @get("/{token:str}", opt={PUBLIC: True}, summary="What an invitation link offers", responses={404: _GONE})
    async def preview(self, token: FromPath[str], accounts: Accounts) -> InvitePreviewView:
        if not plausible_token(token):
            raise _unusable()
        preview = await peek_invite(accounts, secret=token)
        remember(token)
        return InvitePreviewView(preview.kind, preview.role, preview.agency_name, preview.expires_at)

    @post(
        "/{token:str}/accept",
        opt={PUBLIC: True},
        summary="Join the agency through a member invitation (once); then log in",
        status_code=201,
        responses={
            404: _GONE,
            409: problem_spec("That email address has an account already"),
            422: problem_spec("A weak password, or not an email address or name"),
        },
    )
    async def accept(self, token: FromPath[str], data: JSONBody[AcceptInviteBody], accounts: Accounts) -> MemberView:
        if not plausible_token(token):
            raise _unusable()
        with broken_rule("Give an email address and a name."):
            member = await accept_invite(
                accounts, secret=token, email=data.email, display_name=data.display_name, password=data.password
            )
        remember(token)
        remember(data.password)
        return MemberView.of(member)
