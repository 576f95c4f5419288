"""PKCE (RFC 7636) and the OAuth ``state``: what the authorization request needs before the browser leaves."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from onyx_fanvue.oauth._common import REDACTED as _REDACTED

__all__ = ["PkcePair", "generate_pkce", "generate_state", "pkce_challenge"]

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True, slots=True, repr=False)
class PkcePair:
    """A PKCE verifier (keep it server-side, bound to the user's session) and its S256 challenge (send it)."""

    verifier: str
    challenge: str
    method: Literal["S256"] = "S256"

    def __repr__(self) -> str:
        return f"PkcePair(verifier={_REDACTED}, challenge={self.challenge!r}, method='S256')"


def check_verifier(verifier: str) -> None:
    if not _VERIFIER.match(verifier):
        raise ValueError("a PKCE code verifier is 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``: base64url(SHA-256(verifier)) without padding."""
    check_verifier(verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_pkce(nbytes: int = 64) -> PkcePair:
    """A fresh PKCE pair. ``nbytes`` of randomness (32-96) give a verifier of 43-128 characters (default 86)."""
    if not 32 <= nbytes <= 96:
        raise ValueError("nbytes must be 32-96 so that the verifier has 43-128 characters")
    verifier = secrets.token_urlsafe(nbytes)
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def generate_state(nbytes: int = 32) -> str:
    """An unguessable OAuth ``state`` of ``nbytes`` random bytes (at least 16, i.e. 128 bits; default 256)."""
    if nbytes < 16:
        raise ValueError("state needs at least 128 bits (nbytes >= 16)")
    return secrets.token_urlsafe(nbytes)
