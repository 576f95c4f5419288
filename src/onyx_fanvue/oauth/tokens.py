"""One token response (:class:`OAuthToken`) and how it is read from the token endpoint's JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from onyx_fanvue.errors import InvalidTokenResponseError
from onyx_fanvue.oauth._common import REDACTED as _REDACTED

__all__ = ["DEFAULT_EXPIRES_IN", "DEFAULT_LEEWAY", "OAuthToken"]

DEFAULT_EXPIRES_IN = 3600
"""Seconds an access token lives when the token response has no ``expires_in`` (Fanvue documents ~1 h)."""
DEFAULT_LEEWAY = timedelta(seconds=300)
"""Refresh when this much life or less is left (trusted clients use 60-300 s)."""


def _expires_in(value: Any) -> float:
    if value is None:
        return float(DEFAULT_EXPIRES_IN)
    if isinstance(value, bool):
        raise InvalidTokenResponseError("token response: 'expires_in' is not a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidTokenResponseError("token response: 'expires_in' is not a number") from None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidTokenResponseError("token response: 'expires_in' is not a positive number")
    return float(value)


def _scope(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise InvalidTokenResponseError("token response: 'scope' is not a space-separated string")


def _optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidTokenResponseError(f"token response: {key!r} is not a string")
    return value


@dataclass(frozen=True, slots=True, repr=False, kw_only=True)
class OAuthToken:
    """One token response, immutable. ``expires_at`` is aware UTC. ``repr``/``str`` never show a token value."""

    access_token: str
    refresh_token: str | None = None
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    scope: frozenset[str] = frozenset()
    id_token: str | None = None

    def __post_init__(self) -> None:
        if not self.access_token:
            raise ValueError("access_token must be a non-empty string")
        if self.expires_at.tzinfo is None or self.expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        # frozen: normalise through object.__setattr__ so equal instants compare (and CAS) equal
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC))
        object.__setattr__(self, "scope", frozenset(self.scope))

    @classmethod
    def from_response(
        cls, payload: Mapping[str, Any], requested_at: datetime, previous: OAuthToken | None = None
    ) -> OAuthToken:
        """Build a token from the token endpoint's JSON. ``requested_at`` is when the request was SENT, so
        latency can only make the token look shorter-lived. Without ``expires_in``: 3600 s. Without
        ``refresh_token`` or ``scope``: ``previous``'s are kept (unchanged, byte for byte).

        Raises :class:`InvalidTokenResponseError` (naming the field, never a value)."""
        if requested_at.tzinfo is None or requested_at.utcoffset() is None:
            raise ValueError("requested_at must be timezone-aware")
        if not isinstance(payload, Mapping):
            raise InvalidTokenResponseError("token response: not a JSON object")
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise InvalidTokenResponseError("token response: 'access_token' is missing or not a non-empty string")
        token_type = _optional_str(payload, "token_type") or "bearer"
        lifetime = _expires_in(payload.get("expires_in"))
        refresh = _optional_str(payload, "refresh_token")
        if refresh is None and previous is not None:
            refresh = previous.refresh_token
        raw_scope = payload.get("scope")
        scope = _scope(raw_scope) if raw_scope is not None else previous.scope if previous else frozenset[str]()
        return cls(
            access_token=access,
            refresh_token=refresh,
            token_type=token_type,
            expires_at=requested_at.astimezone(UTC) + timedelta(seconds=lifetime),
            scope=scope,
            id_token=_optional_str(payload, "id_token"),
        )

    def remaining(self, now: datetime) -> timedelta:
        """Life left at ``now`` (negative once expired)."""
        return self.expires_at - now

    def is_expired(self, now: datetime) -> bool:
        """Whether the access token has expired at ``now``."""
        return self.remaining(now) <= timedelta(0)

    def needs_refresh(self, now: datetime, leeway: timedelta = DEFAULT_LEEWAY) -> bool:
        """Whether ``leeway`` or less of life is left at ``now`` (300 s left with the default: yes; 301 s: no)."""
        return self.remaining(now) <= leeway

    def __repr__(self) -> str:
        refresh = _REDACTED if self.refresh_token is not None else "None"
        id_token = _REDACTED if self.id_token is not None else "None"
        return (
            f"OAuthToken(access_token={_REDACTED}, refresh_token={refresh}, token_type={self.token_type!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, scope={sorted(self.scope)!r}, id_token={id_token})"
        )

    __str__ = __repr__
