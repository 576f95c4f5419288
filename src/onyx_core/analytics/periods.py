"""Periods of UTC instants, the named dashboard windows, and calendar buckets in an IANA time zone.

A :class:`Period` is half-open, ``[start, end)``, like Fanvue's ``startDate`` (inclusive) / ``endDate``
(exclusive). Calendar things (days, ISO weeks, months, window starts) are computed in a time zone given as a
parameter; the instants stored and compared are always UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onyx_core.errors import DomainValueError
from onyx_core.timeutil import require_utc

TimeZone: TypeAlias = str | ZoneInfo
"""An IANA time zone: a name such as ``"Europe/Berlin"`` or a :class:`zoneinfo.ZoneInfo`."""


def zone(tz: TimeZone) -> ZoneInfo:
    """The :class:`ZoneInfo` for ``tz``; an unknown name is a :class:`DomainValueError`, not a guess."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainValueError(f"unknown IANA time zone {tz!r}") from exc


@dataclass(frozen=True, slots=True)
class Period:
    """The instants ``start <= t < end`` (UTC). ``start == end`` is an empty period, allowed."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, "Period.start"))
        object.__setattr__(self, "end", require_utc(self.end, "Period.end"))
        if self.start > self.end:
            raise DomainValueError(f"a period cannot end before it starts ({self.start} > {self.end})")

    @property
    def duration(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    @property
    def empty(self) -> bool:
        """Whether no instant is in the period."""
        return self.start == self.end

    def __contains__(self, instant: datetime) -> bool:
        """Whether ``instant`` (aware) is in ``[start, end)``; a naive datetime raises NaiveDatetimeError."""
        return self.start <= require_utc(instant, "instant") < self.end

    def previous(self) -> Period:
        """The period of the same length that ends where this one starts (what growth compares against)."""
        return Period(self.start - self.duration, self.start)

    def intersection(self, other: Period) -> Period:
        """The instants in both periods (an empty period at the later start when they do not overlap)."""
        start = max(self.start, other.start)
        end = max(start, min(self.end, other.end))
        return Period(start, end)


def local_midnight(day: date, tz: TimeZone) -> datetime:
    """The first instant (UTC) of the local calendar ``day`` in ``tz``.

    When local midnight does not exist (a zone that springs forward at 00:00), ``fold=0`` resolves it with the
    offset in force before the change, which is exactly the instant the clocks jump: the first of that day.
    """
    return datetime.combine(day, time(), tzinfo=zone(tz)).astimezone(UTC)


def local_date(instant: datetime, tz: TimeZone) -> date:
    """The calendar date in ``tz`` at ``instant``."""
    return require_utc(instant, "instant").astimezone(zone(tz)).date()


class Window(StrEnum):
    """The named dashboard windows. See :func:`window_period`."""

    D7 = "7d"
    D30 = "30d"
    D90 = "90d"
    Y1 = "1y"
    ALL = "all"

    @property
    def days(self) -> int | None:
        """How many local calendar days the window spans (today included); ``None`` for ``all``."""
        return _WINDOW_DAYS.get(self)


_WINDOW_DAYS = {Window.D7: 7, Window.D30: 30, Window.D90: 90, Window.Y1: 365}

GROWTH_WINDOWS: tuple[Window, ...] = (Window.D7, Window.D30, Window.D90, Window.Y1)
"""The windows that have a previous period to grow from (``all`` has none)."""


def window_period(
    window: Window,
    now: datetime,
    tz: TimeZone,
    *,
    earliest: datetime | None = None,
) -> Period:
    """The period a named window covers at ``now``, seen from time zone ``tz``.

    - ``7d``/``30d``/``90d``/``1y``: from the local midnight ``n - 1`` days before today (so ``n`` local
      calendar days, today included; ``1y`` is 365 days, not a calendar year) up to ``now`` (exclusive).
    - ``all``: from ``earliest`` (the first ledger entry, or any explicit start) up to ``now``; with no
      ``earliest`` the period is empty. An ``earliest`` after ``now`` gives an empty period too.

    The end is ``now``, not the end of today, so :meth:`Period.previous` compares like with like: the same
    length of time immediately before (which therefore need not start at a midnight).
    """
    now = require_utc(now, "now")
    days = window.days
    if days is None:
        start = now if earliest is None else min(require_utc(earliest, "earliest"), now)
        return Period(start, now)
    today = local_date(now, tz)
    return Period(local_midnight(today - timedelta(days=days - 1), tz), now)


def earliest_instant(instants: Iterable[datetime]) -> datetime | None:
    """The smallest instant, or ``None`` for none (what ``all`` starts at)."""
    return min((require_utc(t) for t in instants), default=None)


class Granularity(StrEnum):
    """Calendar bucket sizes. Weeks are ISO weeks (Monday to Sunday)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_label(instant: datetime, granularity: Granularity, tz: TimeZone) -> date:
    """The local date that starts the bucket holding ``instant``: the day, the Monday, or the 1st."""
    return bucket_start_date(local_date(instant, tz), granularity)


def bucket_start_date(day: date, granularity: Granularity) -> date:
    """The first local date of the bucket holding the local date ``day``."""
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket_date(label: date, granularity: Granularity) -> date:
    """The label of the bucket after the one labelled ``label``."""
    if granularity is Granularity.DAY:
        return label + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return label + timedelta(days=7)
    return date(label.year + 1, 1, 1) if label.month == 12 else date(label.year, label.month + 1, 1)


def bucket_bounds(label: date, granularity: Granularity, tz: TimeZone) -> Period:
    """The whole bucket labelled ``label`` as UTC instants, from local midnight to the next bucket's.

    A Berlin day across a DST change is 23 or 25 hours long; a week or month containing one is 1 h short/long.
    """
    if bucket_start_date(label, granularity) != label:
        raise DomainValueError(f"{label} does not start a {granularity.value} bucket")
    return Period(local_midnight(label, tz), local_midnight(next_bucket_date(label, granularity), tz))


def bucket_labels(period: Period, granularity: Granularity, tz: TimeZone) -> Iterator[date]:
    """The labels of every bucket that overlaps ``period``, in order; none for an empty period."""
    if period.empty:
        return
    last = bucket_label(period.end - timedelta(microseconds=1), granularity, tz)
    label = bucket_label(period.start, granularity, tz)
    while label <= last:
        yield label
        label = next_bucket_date(label, granularity)
