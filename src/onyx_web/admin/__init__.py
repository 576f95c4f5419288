"""Agency management on the web (owners and admins): members, invitations, the 2FA policy and the audit log under
``/api/agency``, plus the public invitation routes under ``/api/invites`` (preview, accept; the creator's
``/connect`` is the connections domain's). The rules are the core's (:mod:`onyx_core.accounts`); the guards only
call them."""

from litestar.types import ControllerRouterHandler

from onyx_web.admin.audit import audit_log
from onyx_web.admin.invites import CreatorInvitesController, InvitesController
from onyx_web.admin.members import MembersController
from onyx_web.admin.policy import two_factor_policy
from onyx_web.admin.public import PublicInvitesController

route_handlers: list[ControllerRouterHandler] = [
    MembersController,
    InvitesController,
    CreatorInvitesController,
    two_factor_policy,
    audit_log,
    PublicInvitesController,
]

__all__ = ["route_handlers"]
