"""Money is an integer number of minor units (cents) and an ISO 4217 currency code. Never a float."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from onyx_core.errors import CurrencyMismatchError, DomainValueError

_CURRENCY = re.compile(r"^[A-Z]{3}$")

USD = "USD"
"""Fanvue reports insights money in USD cents."""


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """``Money(1999, "USD")`` is $19.99. Arithmetic and comparison refuse mixed currencies."""

    cents: int
    currency: str = USD

    def __post_init__(self) -> None:
        # bool is an int subclass; True cents is a bug, not a dollar.
        if type(self.cents) is not int:
            raise DomainValueError(f"Money.cents must be an int number of minor units, got {type(self.cents).__name__}")
        if not _CURRENCY.match(self.currency):
            raise DomainValueError(f"currency must be a 3-letter upper-case ISO 4217 code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str = USD) -> Self:
        return cls(0, currency)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str = USD) -> Money:
        """Sum of ``amounts`` (all in ``currency``); an empty iterable is zero in ``currency``."""
        result = Money(0, currency)
        for amount in amounts:
            result = result + amount
        return result

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + self._check(other).cents, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - self._check(other).cents, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.cents, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.cents), self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise DomainValueError("Money can only be multiplied by an int; round explicitly first")
        return Money(self.cents * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.cents < self._check(other).cents

    def __le__(self, other: Money) -> bool:
        return self.cents <= self._check(other).cents

    def __gt__(self, other: Money) -> bool:
        return self.cents > self._check(other).cents

    def __ge__(self, other: Money) -> bool:
        return self.cents >= self._check(other).cents

    def __bool__(self) -> bool:
        return self.cents != 0

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        units, minor = divmod(abs(self.cents), 100)
        return f"{sign}{units}.{minor:02d} {self.currency}"
