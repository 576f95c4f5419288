"""Subscriber history from Fanvue's per-day new / cancelled counts, with unobserved days kept as gaps.

Fanvue's subscriber trend is a series of daily changes, not a headcount. A day we hold no row for is
*unobserved*: its values are ``None``, never 0, because 0 would claim nobody subscribed or cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from onyx_core.errors import DomainValueError
from onyx_core.ids import CreatorId


@dataclass(frozen=True, slots=True)
class SubscriberDay:
    """Fanvue's report for one creator and one day: subscriptions started and subscription chains ended."""

    creator_id: CreatorId
    day: date
    new: int
    cancelled: int

    def __post_init__(self) -> None:
        # datetime is a date subclass; a timestamp here would hide which day (in which zone) was meant.
        if type(self.day) is not date:
            raise DomainValueError(f"SubscriberDay.day must be a date, got {type(self.day).__name__}")
        for name in ("new", "cancelled"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise DomainValueError(f"SubscriberDay.{name} must be a non-negative int, got {value!r}")

    @property
    def net(self) -> int:
        """``new - cancelled`` (may be negative)."""
        return self.new - self.cancelled


@dataclass(frozen=True, slots=True)
class SubscriberHistoryDay:
    """One day of :func:`subscriber_history`; all counts are ``None`` when the day was not observed.

    ``running_net`` is the sum of ``net`` from the first day of the range through this day. It is ``None``
    from the first unobserved day on: a change we never saw makes every later running total unknown.
    """

    day: date
    observed: bool
    new: int | None
    cancelled: int | None
    net: int | None
    running_net: int | None


def subscriber_history(days: Sequence[SubscriberDay], start_day: date, end_day: date) -> list[SubscriberHistoryDay]:
    """Every day ``start_day <= day < end_day`` (end exclusive, like a :class:`Period`), in order.

    ``days`` must be for a single creator with at most one row per day; rows outside the range are ignored.
    """
    if start_day > end_day:
        raise DomainValueError(f"start_day {start_day} is after end_day {end_day}")
    creators = {row.creator_id for row in days}
    if len(creators) > 1:
        raise DomainValueError(f"subscriber history is per creator; got rows for {len(creators)} creators")
    by_day: dict[date, SubscriberDay] = {}
    for reported in days:
        if reported.day in by_day:
            raise DomainValueError(f"two subscriber rows for {reported.day}")
        by_day[reported.day] = reported
    result: list[SubscriberHistoryDay] = []
    running: int | None = 0
    day = start_day
    while day < end_day:
        row = by_day.get(day)
        if row is None:
            running = None
            result.append(
                SubscriberHistoryDay(day, observed=False, new=None, cancelled=None, net=None, running_net=None)
            )
        else:
            running = None if running is None else running + row.net
            result.append(
                SubscriberHistoryDay(
                    day, observed=True, new=row.new, cancelled=row.cancelled, net=row.net, running_net=running
                )
            )
        day += timedelta(days=1)
    return result
