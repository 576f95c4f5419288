"""Instants are timezone-aware UTC datetimes; naive datetimes are refused, never guessed."""

from __future__ import annotations

from datetime import UTC, datetime

from onyx_core.errors import NaiveDatetimeError


def require_utc(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` converted to UTC; raise :class:`NaiveDatetimeError` if it has no time zone.

    An aware datetime in another zone is the same instant, so it is converted, not refused.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"{what} is naive ({value.isoformat()}); pass a timezone-aware datetime, e.g. datetime.now(UTC)"
        )
    return value.astimezone(UTC)


def optional_utc(value: datetime | None, what: str = "datetime") -> datetime | None:
    """:func:`require_utc` that lets ``None`` through."""
    return None if value is None else require_utc(value, what)
