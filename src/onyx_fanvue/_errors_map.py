"""Turn a Fanvue error response, in any of its body shapes, into the SDK's typed exception."""

from __future__ import annotations

import re
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

NOT_ASSIGNED = "not assigned to team member"
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """Remove anything that looks like a bearer token from ``text`` (bodies can echo headers)."""
    return _BEARER.sub(r"\1[redacted]", text)


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
            return redact(": ".join(parts))
    if isinstance(body, str) and body.strip():
        return redact(body.strip()[:300])
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
    """The exception for an error ``status`` with its parsed JSON ``body`` (or text)."""
    where = f"{method} {path}".strip()
    message = f"{where}: {status} {_message(body, 'no error message')}" if where else _message(body, str(status))
    lowered = {k.lower(): v for k, v in headers.items()}
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
