"""One exception hierarchy for everything the SDK raises.

No message, ``repr`` or attribute ever contains a secret: whatever the server said (a message, a body, headers, an
OAuth ``error_description``) is kept only after :func:`onyx_fanvue.redaction.scrub`, and token-response errors
name the field that was wrong, never its value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "CreatorNotAssignedError",
    "FanvueError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidTokenResponseError",
    "MalformedResponseError",
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "OAuthServerError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "SunsetAPIVersionError",
    "TimeoutError",
    "TokenStoreConflict",
    "TransportError",
    "UnsupportedAPIVersionError",
    "ValidationError",
    "WebhookVerificationError",
]


class FanvueError(Exception):
    """Base class of every error this SDK raises."""


class TransportError(FanvueError):
    """The request did not get an HTTP answer (connection refused, reset, DNS, TLS...)."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        """Whether the request had been fully sent: the server may have acted on it."""


class TimeoutError(TransportError):
    """No answer in time."""


class APIStatusError(FanvueError):
    """Fanvue answered with an error status. ``body`` is the parsed JSON body (or its text, or ``None``) and
    ``headers`` the response headers (lower-case names), both scrubbed of secrets."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers or {})
        self.request_id = request_id


class BadRequestError(APIStatusError):
    """400: the request was malformed (bad parameter, bad body)."""


class ValidationError(BadRequestError):
    """400 with ``errors: [...]``: the request failed Fanvue's validation. ``errors`` lists the messages."""

    def __init__(self, message: str, *, errors: list[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors = errors


class UnsupportedAPIVersionError(BadRequestError):
    """400 "Unsupported API version": the ``X-Fanvue-API-Version`` header is missing or unknown."""


class AuthenticationError(APIStatusError):
    """401: the access token is missing, expired or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: a scope is missing, the endpoint is for agency admins, or a creator-only filter was used."""


class NotFoundError(APIStatusError):
    """404: no such resource (or no conversation with that fan)."""


class CreatorNotAssignedError(NotFoundError):
    """404 "Creator not found or not assigned to team member": this token may not see that creator."""


class SunsetAPIVersionError(APIStatusError):
    """410: the API version was retired. ``next_version`` names the one to move to, when Fanvue says."""

    def __init__(self, message: str, *, next_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.next_version = next_version


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the seconds until Fanvue will take the request: its
    ``Retry-After`` (or, without one, the time to its ``X-RateLimit-Reset``), or, when the client did not send the
    request because a bucket an earlier 429 closed stays closed longer than the call may wait, what is left of that.
    ``None`` when Fanvue said nothing."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: Fanvue failed."""


class OAuthError(FanvueError):
    """The OAuth token endpoint refused a request (RFC 6749 §5.2). ``error`` is the OAuth code."""

    def __init__(
        self, message: str, *, error: str, description: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.status_code = status_code


class InvalidGrantError(OAuthError):
    """``invalid_grant``: the refresh token (or code) is dead. The user must connect again; do not retry."""


class InvalidClientError(OAuthError):
    """``invalid_client``: the client id or secret is wrong."""


class InvalidTokenResponseError(FanvueError):
    """The token endpoint answered 2xx with a body that is not a usable token response. The message names the
    field, never a value (the body may hold perfectly good tokens next to the broken field)."""


class OAuthServerError(OAuthError):
    """The token endpoint failed transiently (5xx, 429, 408) and retries ran out. The grant is probably fine:
    try again later; do not ask the user to reconnect. ``retry_after`` is the server's ``Retry-After``."""

    def __init__(
        self,
        message: str,
        *,
        error: str,
        description: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, error=error, description=description, status_code=status_code)
        self.retry_after = retry_after


class TokenStoreConflict(FanvueError):  # noqa: N818 - reads as the state it reports, like a 409
    """``save(..., expected=...)`` found a different token than the one that was loaded: someone else saved."""


class MissingTokenError(FanvueError):
    """The token store holds no token: the user has to connect (authorize) first."""


class WebhookVerificationError(FanvueError):
    """A webhook's ``X-Fanvue-Signature`` is missing, malformed, stale or does not match."""


class MalformedResponseError(FanvueError):
    """Fanvue answered 2xx with a body that is not JSON, or not the documented shape (a field of the wrong type,
    money in fractions of a cent...). Nothing was parsed; treat it as "no answer", never as empty. ``body`` is the
    start of the body, scrubbed of secrets; the message names the fields that were wrong, never their values."""

    def __init__(self, message: str, *, status_code: int, body: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
