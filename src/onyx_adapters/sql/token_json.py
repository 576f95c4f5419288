"""The one JSON format of a token in ``connections.tokens`` (encrypted before it is stored).

The core's connection repository (a :class:`~onyx_core.tokens.TokenSet`) and the SDK's token store (an
:class:`~onyx_fanvue.oauth.OAuthToken`) read and write the same row, so both go through this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["FORMAT", "StoredToken", "dump", "load"]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class StoredToken:
    access_token: str
    refresh_token: str | None
    expires_at: datetime
    scopes: frozenset[str]
    token_type: str
    id_token: str | None = None


def dump(token: StoredToken) -> bytes:
    """Canonical JSON bytes (sorted keys), so equal tokens encrypt from equal plaintexts."""
    payload: dict[str, Any] = {
        "v": FORMAT,
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "token_type": token.token_type,
        "expires_at": token.expires_at.isoformat(),
        "scopes": sorted(token.scopes),
    }
    if token.id_token is not None:
        payload["id_token"] = token.id_token
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def load(data: bytes) -> StoredToken:
    """The inverse of :func:`dump`; also reads rows written before ``v`` existed."""
    payload = json.loads(data)
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise ValueError("stored token: not a token object")  # never echo the content: it is a secret
    return StoredToken(
        access_token=payload["access_token"],
        refresh_token=payload.get("refresh_token"),
        expires_at=datetime.fromisoformat(payload["expires_at"]),
        scopes=frozenset(payload.get("scopes") or ()),
        token_type=payload.get("token_type") or "bearer",
        id_token=payload.get("id_token"),
    )
