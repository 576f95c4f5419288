"""PKCE (RFC 7636) and the OAuth ``state``: what the authorization request needs before the browser leaves."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from onyx_fanvue.oauth._common import REDACTED as _REDACTED
from onyx_fanvue.redaction import Secret, as_secret

__all__ = ["PkcePair", "generate_pkce", "generate_state", "pkce_challenge"]

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


@dataclass(frozen=True, slots=True, init=False, repr=False)
class PkcePair:
    """A PKCE verifier (keep it server-side, bound to the user's session; a :class:`~onyx_fanvue.redaction.Secret`,
    ``verifier.get_secret_value()`` to store it) and its S256 challenge (send it)."""

    verifier: Secret
    challenge: str
    method: Literal["S256"]

    def __init__(self, verifier: str | SecretStr, challenge: str, method: Literal["S256"] = "S256") -> None:
        object.__setattr__(self, "verifier", as_secret(verifier))
        object.__setattr__(self, "challenge", challenge)
        object.__setattr__(self, "method", method)

    def __repr__(self) -> str:
        return f"PkcePair(verifier={_REDACTED}, challenge={self.challenge!r}, method='S256')"


def check_verifier(verifier: SecretStr) -> None:
    if not _VERIFIER.match(verifier.get_secret_value()):
        raise ValueError("a PKCE code verifier is 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")


def pkce_challenge(verifier: str | SecretStr) -> str:
    """The S256 challenge of ``verifier``: base64url(SHA-256(verifier)) without padding."""
    verifier = as_secret(verifier)  # from here on this frame holds no plain verifier
    check_verifier(verifier)
    digest = hashlib.sha256(verifier.get_secret_value().encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_pkce(nbytes: int = 64) -> PkcePair:
    """A fresh PKCE pair. ``nbytes`` of randomness (32-96) give a verifier of 43-128 characters (default 86)."""
    if not 32 <= nbytes <= 96:
        raise ValueError("nbytes must be 32-96 so that the verifier has 43-128 characters")
    verifier = Secret(secrets.token_urlsafe(nbytes))
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def generate_state(nbytes: int = 32) -> str:
    """An unguessable OAuth ``state`` of ``nbytes`` random bytes (at least 16, i.e. 128 bits; default 256)."""
    if nbytes < 16:
        raise ValueError("state needs at least 128 bits (nbytes >= 16)")
    return secrets.token_urlsafe(nbytes)
