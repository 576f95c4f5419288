"""The sandbox API's HTTP vocabulary: Fanvue's error bodies, query parsing with Fanvue's limits, and the two paging
envelopes with opaque key-set cursors (stable while the world changes underneath a paging client)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, TypeVar

__all__ = [
    "ApiError",
    "Query",
    "Reply",
    "bad_request",
    "cursor_page",
    "decode_cursor",
    "encode_cursor",
    "invalid",
    "not_found",
    "page_envelope",
]

T = TypeVar("T")

MAX_SIZE = 50
PAGE_SIZE_DEFAULT = 15
CURSOR_SIZE_DEFAULT = 20
# A JSON-style decimal number; not Python's wider float() syntax ("1_0", "nan", "infinity" are not numbers here)
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MAX_NUMBER_CHARS = 400
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ApiError(Exception):
    """An answer other than success, with Fanvue's body for it."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def invalid(*errors: str) -> ApiError:
    """400 with the validation body ``{errors: [...]}``."""
    return ApiError(400, {"errors": list(errors)})


def bad_request(message: str) -> ApiError:
    """400 with the ``{message}`` body (invalid uuid and similar)."""
    return ApiError(400, {"message": message})


def not_found(message: str = "Not found") -> ApiError:
    return ApiError(404, {"message": message})


@dataclass(frozen=True, slots=True)
class Reply:
    """A success other than a plain 200 JSON body (201 creates, 204 deletes)."""

    body: Any = None
    status: int = 200


def check_uuid(value: str, what: str = "uuid", *, validation: bool = False) -> str:
    """``value`` lower-cased if it is a UUID. Otherwise a 400 in the body the endpoint's spec lists: ``{message}``
    (InvalidUuidError) by default, ``{errors}`` where the spec lists only the validation body (``validation``)."""
    if not UUID_RE.match(value):
        shown = repr(value[:60])
        raise (
            invalid(f"{what} must be a UUID (got {shown})")
            if validation
            else bad_request(f"Invalid {what}: {shown} is not a UUID")
        )
    return value.lower()


@dataclass(frozen=True)
class Query:
    """The query string: ``get`` for single values, ``list`` for comma-joined (or repeated) arrays."""

    multi: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.multi.get(name)
        return values[-1] if values else None

    def list(self, name: str, *, limit: int | None = None, allowed: Iterable[str] | None = None) -> list[str] | None:
        values = [part.strip() for v in self.multi.get(name, ()) for part in v.split(",") if part.strip()]
        if not values:
            return None
        if limit is not None and len(values) > limit:
            raise invalid(f"{name} accepts at most {limit} values")
        if allowed is not None:
            known = set(allowed)
            wrong = [v for v in values if v not in known]
            if wrong:
                raise invalid(f"{name} must be one of: {', '.join(sorted(known))} (got {', '.join(wrong)})")
        return values

    def number(self, name: str, default: int, *, low: int = 1, high: int | None = None, whole: bool = False) -> int:
        """A query number as Fanvue's OpenAPI types paging parameters: any finite decimal in ``[low, high]``, cut
        to the whole number below it (``size=20.0`` is 20); with ``whole`` it must already be one (an ``integer``
        parameter such as ``limit``). Anything else is a 400 ``{errors}``."""
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        text = raw.strip()
        if len(text) > _MAX_NUMBER_CHARS or not _NUMBER_RE.fullmatch(text) or not math.isfinite(float(text)):
            raise invalid(f"{name} must be a finite number")
        value = Decimal(text)
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise invalid(f"{name} must be {bounds}")
        if whole and value != value.to_integral_value():
            raise invalid(f"{name} must be a whole number")
        return int(value)  # positive here, so int() is the floor

    def boolean(self, name: str, *, default: bool = False) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise invalid(f"{name} must be true or false")

    def instant(self, name: str, *, required: bool = False) -> datetime | None:
        """An ISO 8601 date-time (offset kept; none means UTC) or a bare date (UTC midnight)."""
        raw = self.get(name)
        if raw is None or raw == "":
            if required:
                raise invalid(f"{name} is required")
            return None
        try:
            if len(raw) == 10:
                return datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise invalid(f"{name} must be an ISO 8601 date-time") from None
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        try:
            moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before the first instant Python can hold
            raise invalid(f"{name} is out of range") from None
        return moment

    def page(self) -> tuple[int, int]:
        """``page`` (≥ 1, no maximum: a page past the end is empty; default 1) and ``size`` (1-50, default 15)."""
        return self.number("page", 1), self.number("size", PAGE_SIZE_DEFAULT, high=MAX_SIZE)

    def cursor_size(self) -> int:
        """``size`` of a cursor listing: 1-50, default 20."""
        return self.number("size", CURSOR_SIZE_DEFAULT, high=MAX_SIZE)

    def limit(self) -> int:
        """``limit`` of a cursor listing (tracking links): an integer > 0, default 20. Fanvue's OpenAPI sets no
        maximum (its overview says 50), so none is enforced: a larger limit returns more rows."""
        return self.number("limit", CURSOR_SIZE_DEFAULT, low=1, whole=True)


def page_envelope(rows: Iterable[T], page: int, size: int, to_json: Callable[[T], Any]) -> dict[str, Any]:
    """``{data, pagination: {page, size, hasMore}}``; ``size`` is how many rows came back. Reads ``size + 1`` rows
    past the skipped pages, so a streamed source is never materialised."""
    start = (page - 1) * size
    # a page beyond what islice can index is beyond any real source: empty
    window = list(islice(iter(rows), start, start + size + 1)) if start + size < sys.maxsize else []
    data = [to_json(r) for r in window[:size]]
    return {"data": data, "pagination": {"page": page, "size": len(data), "hasMore": len(window) > size}}


def encode_cursor(key: Mapping[str, Any]) -> str:
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid("cursor is not valid") from None
    if not isinstance(key, dict):
        raise invalid("cursor is not valid")
    return key


def cursor_page(
    rows: Iterable[T],
    size: int,
    key_of: Callable[[T], Mapping[str, Any]],
    to_json: Callable[[T], Any],
) -> dict[str, Any]:
    """``{data, nextCursor}`` over rows that already start after the request's cursor; the next cursor names the
    last row returned, and is ``null`` when nothing follows."""
    window = list(islice(iter(rows), min(size, sys.maxsize - 1) + 1))  # a huge limit reads to the end
    page = window[:size]
    more = len(window) > size
    return {"data": [to_json(r) for r in page], "nextCursor": encode_cursor(key_of(page[-1])) if more else None}
