"""Reconciling the stored ledger with Fanvue's own totals: which days disagree, and which windows to fetch again.

Fanvue's earnings summary gives, per UTC day, the gross and net of the rows its earnings list holds. The stored
ledger's earnings must add up to the same figures day by day; a day that does not has lost (or gained) rows, for
whatever reason: an empty or cut-short page, a crash, a bug. Pure: the use case fetches, this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType

from onyx_core.errors import DomainValueError

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayTotals:
    """The gross and net cents of one day's earnings rows."""

    gross: int = 0
    net: int = 0

    def __add__(self, other: DayTotals) -> DayTotals:
        return DayTotals(self.gross + other.gross, self.net + other.net)


ZERO = DayTotals()


@dataclass(frozen=True, slots=True)
class EarningsDays:
    """Fanvue's own totals of a creator's earnings rows for the UTC days in ``[start, end)``: ``days`` (a day left
    out earned nothing) and the lifetime total ``all_time`` (all history, whatever the range)."""

    start: date
    end: date
    days: Mapping[date, DayTotals] = field(default_factory=dict)
    all_time: DayTotals = ZERO

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainValueError(f"the days end ({self.end}) before they start ({self.start})")
        outside = [day for day in self.days if not self.start <= day < self.end]
        if outside:
            raise DomainValueError(f"days outside [{self.start}, {self.end}): {sorted(outside)[:3]}")
        object.__setattr__(self, "days", MappingProxyType(dict(self.days)))

    def on(self, day: date) -> DayTotals:
        return self.days.get(day, ZERO)


@dataclass(frozen=True, slots=True)
class Window:
    """UTC days ``[first, end)`` to fetch again, as instants ``[start, stop)`` for the ledger's pages."""

    first: date
    end: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def stop(self) -> datetime:
        return datetime.combine(self.end, time(), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.first).days


def disagreeing_days(fanvue: EarningsDays, stored: Mapping[date, DayTotals]) -> list[date]:
    """The days of Fanvue's range whose stored totals differ from Fanvue's, in order."""
    days = sorted({*fanvue.days, *(d for d in stored if fanvue.start <= d < fanvue.end)})
    return [day for day in days if fanvue.on(day) != stored.get(day, ZERO)]


def windows(days: Iterable[date], max_days: int = 31) -> list[Window]:
    """Runs of consecutive ``days`` as windows of at most ``max_days`` days: each is one walk of ledger pages."""
    if max_days < 1:
        raise DomainValueError("a window holds at least one day")
    out: list[Window] = []
    for day in sorted(set(days)):
        last = out[-1] if out else None
        if last is not None and last.end == day and last.days < max_days:
            out[-1] = Window(last.first, day + ONE_DAY)
        else:
            out.append(Window(day, day + ONE_DAY))
    return out


__all__ = ["ZERO", "DayTotals", "EarningsDays", "Window", "disagreeing_days", "windows"]
