"""A ratio of two integers that stays *undefined* when its denominator is 0, instead of becoming a silent 0.

Analytics (ARPU, LTV, tip average, golden ratio, growth) divide; a division by zero there means "no basis to
say", which a dashboard must show as such ("undefined", "n/a"), never as 0 %. Keeping the two integers (often
Money cents and a count) also keeps the figure exact: :attr:`Ratio.value` is a :class:`fractions.Fraction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from onyx_core.errors import CurrencyMismatchError, DomainValueError
from onyx_core.money import Money

UNDEFINED = "undefined"
"""How an undefined ratio reads (``str(ratio)``)."""


@dataclass(frozen=True, slots=True)
class Ratio:
    """``numerator / denominator`` of two ints; undefined (``value is None``) when the denominator is 0.

    Equality is on the two stored integers, so ``Ratio(1, 2) != Ratio(2, 4)``; compare :attr:`value` for the
    number. The integers are kept as given (e.g. net cents and a number of fans) so callers can show both.
    """

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        # bool is an int subclass; a True numerator is a bug, not a 1.
        for name in ("numerator", "denominator"):
            value = getattr(self, name)
            if type(value) is not int:
                raise DomainValueError(f"Ratio.{name} must be an int, got {type(value).__name__}")

    @classmethod
    def of_money(cls, numerator: Money, denominator: Money) -> Ratio:
        """The ratio of two amounts in the same currency (cents over cents)."""
        if numerator.currency != denominator.currency:
            raise CurrencyMismatchError(f"cannot divide {numerator.currency} by {denominator.currency}")
        return cls(numerator.cents, denominator.cents)

    @property
    def defined(self) -> bool:
        """Whether the ratio has a value (its denominator is not 0)."""
        return self.denominator != 0

    @property
    def value(self) -> Fraction | None:
        """The exact value, or ``None`` when undefined. Never 0 for a zero denominator."""
        if self.denominator == 0:
            return None
        return Fraction(self.numerator, self.denominator)

    def percent(self, places: int = 1) -> Decimal | None:
        """``value * 100`` rounded half-to-even to ``places`` decimals, or ``None`` when undefined.

        Rounding is done on the exact fraction, so no float or Decimal-context precision is involved.
        """
        if places < 0:
            raise DomainValueError("places must be >= 0")
        value = self.value
        if value is None:
            return None
        # round() on a Fraction rounds half to even, exactly.
        scaled = round(value * 100 * 10**places)
        # The string constructor is exact; Decimal arithmetic would round to the context's precision.
        return Decimal(f"{scaled}E-{places}")

    def __str__(self) -> str:
        value = self.value
        return UNDEFINED if value is None else str(value)
