"""Turn a Fanvue error response, in any of its body shapes, into the SDK's typed exception.

Everything the server said is scrubbed (:func:`onyx_fanvue.redaction.scrub`) before it is kept: the message, the
body and the headers, since a server may echo the token it was sent in any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from onyx_fanvue.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CreatorNotAssignedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SunsetAPIVersionError,
    UnsupportedAPIVersionError,
    ValidationError,
)
from onyx_fanvue.redaction import scrub

NOT_ASSIGNED = "not assigned to team member"
_MESSAGE_KEPT = 300
"""Characters of the server's words kept in an exception message."""
_MESSAGE_SCANNED = 4096
"""Characters scrubbed before cutting to :data:`_MESSAGE_KEPT`: far enough past the cut that replacing secrets
cannot pull a secret the window split back into the kept part."""


def scrub_json(value: Any) -> Any:
    """``value`` (parsed JSON) with every string in it scrubbed; keys are names, not secrets, and stay."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: scrub_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_json(item) for item in value]
    return value


def _message(body: Any, fallback: str) -> str:
    """Fanvue has no single error envelope: ``{error}``, ``{message}``, ``{error, message}``, ``{errors: [...]}``,
    and the OAuth ``{error, error_description}``."""
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("error", "message", "error_description"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e) for e in errors if e)
        if parts:
            return ": ".join(parts)
    if isinstance(body, str) and body.strip():
        return body.strip()
    return fallback


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


def error_from_response(  # noqa: PLR0911 - one return per documented status reads best
    status: int, body: Any, headers: Mapping[str, str], *, method: str = "", path: str = ""
) -> APIStatusError:
    """The exception for an error ``status`` with its parsed JSON ``body`` (or text). The exception keeps
    ``body`` and ``headers`` scrubbed, and its message is scrubbed before it is cut to length."""
    where = f"{method} {path}".strip()
    said = scrub(_message(body, "no error message" if where else str(status))[:_MESSAGE_SCANNED])[:_MESSAGE_KEPT]
    message = f"{where}: {status} {said}" if where else said
    body = scrub_json(body)
    lowered = {k.lower(): scrub(v) for k, v in headers.items()}
    common: dict[str, Any] = {
        "status_code": status,
        "body": body,
        "headers": lowered,
        "request_id": lowered.get("x-request-id"),
    }
    error_code = body.get("error") if isinstance(body, Mapping) else None
    if status == 400:
        if isinstance(error_code, str) and "api version" in error_code.lower():
            return UnsupportedAPIVersionError(message, **common)
        if isinstance(body, Mapping) and isinstance(body.get("errors"), list):
            return ValidationError(message, errors=[str(e) for e in body["errors"]], **common)
        return BadRequestError(message, **common)
    if status == 401:
        return AuthenticationError(message, **common)
    if status == 403:
        return PermissionDeniedError(message, **common)
    if status == 404:
        if NOT_ASSIGNED in message.lower():
            return CreatorNotAssignedError(message, **common)
        return NotFoundError(message, **common)
    if status == 410:
        next_version = body.get("nextVersion") if isinstance(body, Mapping) else None
        return SunsetAPIVersionError(message, next_version=next_version, **common)
    if status == 429:
        return RateLimitError(message, retry_after=parse_retry_after(lowered.get("retry-after")), **common)
    if status >= 500:
        return ServerError(message, **common)
    return APIStatusError(message, **common)
