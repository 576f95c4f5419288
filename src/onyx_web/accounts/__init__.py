"""Accounts on the web: who is calling (authentication), and later login, sessions, 2FA, members, invites, API
tokens and the audit log."""
