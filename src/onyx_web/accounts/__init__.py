"""Accounts on the web: who is calling (authentication), logging in and out, the member's own account (2FA,
recovery codes, password, API tokens); later members, invites and the audit log."""

from onyx_web.accounts.account import AccountController
from onyx_web.accounts.routes import AuthController

route_handlers = [AuthController, AccountController]

__all__ = ["route_handlers"]
