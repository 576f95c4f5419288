"""Random secrets for links, sessions and API tokens, and the digests they are stored and looked up by.

A secret with at least 128 random bits needs no slow hash: its SHA-256 digest is enough to look it up and makes a
stolen database row useless as a credential. Passwords and recovery codes (guessable) use argon2id instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["SECRET_BYTES", "csrf_token_for", "digest", "new_secret", "same_secret"]

SECRET_BYTES = 32
"""256 random bits per session id, invite link, OAuth state and API token."""


def new_secret(prefix: str = "") -> str:
    """A URL-safe random secret of :data:`SECRET_BYTES` bytes, optionally prefixed (``onyx_pat_`` for API tokens,
    so secret scanners recognise them)."""
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a secret is stored under."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_secret: str) -> str:
    """The CSRF token of a session, derived from its id (so it needs no storage and dies with the session), and
    one-way (the token a page shows reveals nothing of the cookie)."""
    return hmac.new(session_secret.encode(), b"onyx-csrf-v1", hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(given.encode(), expected.encode())
