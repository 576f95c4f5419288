"""Accounts on the web: who is calling (authentication), logging in and out; later sessions, 2FA, members,
invites, API tokens and the audit log."""

from onyx_web.accounts.routes import AuthController

route_handlers = [AuthController]

__all__ = ["route_handlers"]
