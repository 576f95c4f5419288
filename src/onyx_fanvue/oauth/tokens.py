"""One token response (:class:`OAuthToken`) and how it is read from the token endpoint's JSON.

Token values are :class:`~onyx_fanvue.redaction.Secret` from the moment they are read: the JSON body is validated
straight into them (pydantic), so no frame of the SDK ever holds a token as a plain string or a dict of them, and a
traceback printed with its locals shows ``Secret('**********')``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, PlainValidator, SecretStr
from pydantic import ValidationError as _PydanticError

from onyx_fanvue.errors import InvalidTokenResponseError
from onyx_fanvue.oauth._common import REDACTED as _REDACTED
from onyx_fanvue.redaction import Secret, as_secret

__all__ = ["DEFAULT_EXPIRES_IN", "DEFAULT_LEEWAY", "OAuthToken"]

DEFAULT_EXPIRES_IN = 3600
"""Seconds an access token lives when the token response has no ``expires_in`` (Fanvue documents ~1 h)."""
DEFAULT_LEEWAY = timedelta(seconds=300)
"""Refresh when this much life or less is left (trusted clients use 60-300 s)."""


def _expires_in(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")  # JSON true is not 1 second
    if isinstance(value, str):
        value = float(value)  # a ValueError names no value: pydantic is told to hide the input
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError("not a positive number")
    return float(value)


def _scope(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ValueError("not a space-separated string")


def _token_type(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def _secret(value: Any) -> Secret:
    # Strict: a number is not a token. Made a Secret at once: the value never sits in a plain-str field.
    if isinstance(value, str | SecretStr):
        return as_secret(value)
    raise ValueError("not a string")


def _non_empty_secret(value: Any) -> Secret:
    secret = _secret(value)
    if not len(secret):
        raise ValueError("empty")
    return secret


def _optional_secret(value: Any) -> Secret | None:
    return None if value is None or value == "" else _secret(value)


# Plain validators: each field is read by its function alone (pydantic's own SecretStr schema would want a str
# again after the function made a Secret of it).
_OptionalSecret = Annotated[Secret | None, PlainValidator(_optional_secret)]


class _TokenResponse(BaseModel):
    """RFC 6749 §5.1, as Fanvue (Ory Hydra) sends it. Validation errors never show an input value."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, extra="ignore", arbitrary_types_allowed=True)

    access_token: Annotated[Secret, PlainValidator(_non_empty_secret)]
    token_type: Annotated[str | None, PlainValidator(_token_type)] = None
    expires_in: Annotated[float | None, PlainValidator(_expires_in)] = None
    refresh_token: _OptionalSecret = None
    scope: Annotated[frozenset[str] | None, PlainValidator(_scope)] = None
    id_token: _OptionalSecret = None


_PROBLEMS = {
    "access_token": "'access_token' is missing or not a non-empty string",
    "token_type": "'token_type' is not a string",
    "expires_in": "'expires_in' is not a positive number",
    "refresh_token": "'refresh_token' is not a string",
    "scope": "'scope' is not a space-separated string",
    "id_token": "'id_token' is not a string",
}


def _problem(error: _PydanticError) -> str:
    """The first thing wrong with a token response, by field name only."""
    first = error.errors(include_url=False, include_context=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        return "the body is not JSON"
    field = str(first["loc"][0]) if first["loc"] else ""
    return _PROBLEMS.get(field, "not a JSON object")


def _read(source: httpx.Response | Mapping[str, Any]) -> _TokenResponse:
    """Validate a token response (the HTTP answer's bytes, or an already parsed mapping) into secrets."""
    try:
        if isinstance(source, httpx.Response):
            return _TokenResponse.model_validate_json(source.content)
        return _TokenResponse.model_validate(source)
    except _PydanticError as error:
        problem = _problem(error)
    # Raised outside the handler: the validation error (which holds the inputs) is not left as its context.
    raise InvalidTokenResponseError(f"token response: {problem}")


def read_token(
    source: httpx.Response | Mapping[str, Any],
    requested_at: datetime,
    *,
    refresh: Secret | None = None,
    scope: frozenset[str] | None = None,
) -> OAuthToken:
    """The token a token response describes; ``refresh``/``scope`` stand in for what it does not say."""
    if requested_at.tzinfo is None or requested_at.utcoffset() is None:
        raise ValueError("requested_at must be timezone-aware")
    answer = _read(source)
    lifetime = DEFAULT_EXPIRES_IN if answer.expires_in is None else answer.expires_in
    return OAuthToken(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token if answer.refresh_token is not None else refresh,
        token_type=answer.token_type or "bearer",
        expires_at=requested_at.astimezone(UTC) + timedelta(seconds=lifetime),
        scope=answer.scope if answer.scope is not None else scope or frozenset(),
        id_token=answer.id_token,
    )


@dataclass(frozen=True, slots=True, init=False, repr=False)
class OAuthToken:
    """One token response, immutable. ``expires_at`` is aware UTC.

    ``access_token``, ``refresh_token`` and ``id_token`` are :class:`~onyx_fanvue.redaction.Secret` (pydantic
    ``SecretStr``): ``token.access_token.get_secret_value()`` is the string, and ``repr``/``str`` of the token or of
    any of them never show a value. The constructor also takes plain strings."""

    access_token: Secret
    refresh_token: Secret | None
    token_type: str
    expires_at: datetime
    scope: frozenset[str]
    id_token: Secret | None

    def __init__(
        self,
        *,
        access_token: str | SecretStr,
        refresh_token: str | SecretStr | None = None,
        token_type: str = "bearer",  # noqa: S107 - the OAuth token type, not a secret
        expires_at: datetime,
        scope: Iterable[str] = frozenset(),
        id_token: str | SecretStr | None = None,
    ) -> None:
        # Wrapped first: if a check below fails, this frame holds secrets, not strings.
        access_token = as_secret(access_token)
        refresh_token = None if refresh_token is None else as_secret(refresh_token)
        id_token = None if id_token is None else as_secret(id_token)
        if not len(access_token):
            raise ValueError("access_token must be a non-empty string")
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        set_ = object.__setattr__  # frozen
        set_(self, "access_token", access_token)
        set_(self, "refresh_token", refresh_token)
        set_(self, "token_type", token_type)
        # normalised so that equal instants compare (and CAS) equal
        set_(self, "expires_at", expires_at.astimezone(UTC))
        set_(self, "scope", frozenset(scope))
        set_(self, "id_token", id_token)

    @classmethod
    def from_response(
        cls,
        payload: httpx.Response | Mapping[str, Any],
        requested_at: datetime,
        previous: OAuthToken | None = None,
    ) -> OAuthToken:
        """Build a token from the token endpoint's answer: the ``httpx.Response`` itself (its JSON is read straight
        into secrets) or its parsed JSON. ``requested_at`` is when the request was SENT, so latency can only make
        the token look shorter-lived. Without ``expires_in``: 3600 s. Without ``refresh_token`` or ``scope``:
        ``previous``'s are kept (unchanged, the same object).

        Raises :class:`InvalidTokenResponseError` (naming the field, never a value)."""
        return read_token(
            payload,
            requested_at,
            refresh=None if previous is None else previous.refresh_token,
            scope=None if previous is None else previous.scope,
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
