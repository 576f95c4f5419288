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


_USD_KEPT = 4096
"""Distinct USD amounts :func:`_usd` keeps (about 1 MB at most); the table starts over when it is full."""
_USD: dict[int, Money] = {}


def _usd(cents: int) -> Money:
    """``Money(cents=cents)``, built once per distinct amount. Amounts repeat (prices, subscription tiers, their
    net), so nearly every amount of a page is a dictionary hit instead of a model built and validated. Sharing is
    safe: a ``Money`` is frozen, and ``model_copy(update=...)`` returns a new one."""
    money = _USD.get(cents)
    if money is None:
        if len(_USD) >= _USD_KEPT:
            _USD.clear()
        money = _USD[cents] = Money(cents=cents)
    return money


def _cents_input(value: Any) -> Any:
    """What a ``Cents`` field's ``Money`` schema is given: a plain int (nearly every amount) is looked up with
    :func:`_usd`; anything else goes through :func:`to_cents`, which decides and words a refusal as before."""
    if type(value) is int:  # exactly int: a bool is an int subclass, and to_cents refuses it
        money = _USD.get(value)  # the hit inlined: this runs for every amount of every page
        return money if money is not None else _usd(value)
    return to_cents(value)


Cents = Annotated[Money, BeforeValidator(_cents_input), PlainSerializer(lambda m: m.cents, return_type=int)]
"""A money field that Fanvue sends as a plain number of cents."""


def to_timestamp(value: Any) -> Any:
    """Parse ISO date-times and date-only strings (documented ``date`` fields sometimes carry either) as aware
    UTC datetimes; a naive timestamp from Fanvue is UTC."""
    if isinstance(value, str):  # the wire's case (every timestamp in a JSON body is a string), tested first
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is UTC:  # already the UTC singleton: astimezone would only copy it
            return parsed
    elif isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day, tzinfo=UTC)
    else:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


Timestamp = Annotated[datetime, BeforeValidator(to_timestamp)]
"""An aware UTC datetime, parsed from a date-time or a date-only string."""
