"""Value types shared by the SDK's models: money in integer cents, lenient timestamps, open enums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

__all__ = ["Cents", "FanvueModel", "Money", "Timestamp", "to_cents", "to_timestamp"]


class FanvueModel(BaseModel):
    """Base of every response model.

    Python names are snake_case, Fanvue's JSON names camelCase (``display_name`` <- ``displayName``). Unknown
    fields are kept (Fanvue adds fields between versions) and instances are frozen.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, alias_generator=to_camel)


class Money(BaseModel):
    """An amount in integer minor units (cents). Fanvue reports insights money in USD cents."""

    model_config = ConfigDict(frozen=True)

    cents: int
    currency: str = "USD"

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        units, minor = divmod(abs(self.cents), 100)
        return f"{sign}{units}.{minor:02d} {self.currency}"


def to_cents(value: Any) -> Any:
    """Accept an int number of cents (or an integral float/str like ``1500.0``); refuse fractions of a cent."""
    if isinstance(value, Money):
        return value
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, int):
        return Money(cents=value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number of cents")
        return Money(cents=int(value))
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return Money(cents=int(value))
    if isinstance(value, dict):
        return value
    raise ValueError(f"{value!r} is not an amount in cents")


Cents = Annotated[Money, BeforeValidator(to_cents), PlainSerializer(lambda m: m.cents, return_type=int)]
"""A money field that Fanvue sends as a plain number of cents."""


def to_timestamp(value: Any) -> Any:
    """Parse ISO date-times and date-only strings (documented ``date`` fields sometimes carry either) as aware
    UTC datetimes; a naive timestamp from Fanvue is UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    else:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(to_timestamp)]
"""An aware UTC datetime, parsed from a date-time or a date-only string."""
