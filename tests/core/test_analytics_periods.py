"""Periods, windows and calendar buckets, hand-checked across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from onyx_core.analytics import (
    Granularity,
    Period,
    Window,
    bucket_bounds,
    bucket_label,
    bucket_labels,
    local_date,
    local_midnight,
    window_period,
    zone,
)
from onyx_core.errors import DomainValueError, NaiveDatetimeError

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(period: Period) -> float:
    return period.duration.total_seconds() / 3600


class TestPeriod:
    def test_half_open(self) -> None:
        period = Period(utc(2026, 1, 1), utc(2026, 1, 2))
        assert utc(2026, 1, 1) in period
        assert utc(2026, 1, 2) not in period
        assert utc(2026, 1, 2) - timedelta(microseconds=1) in period

    def test_refuses_naive_and_reversed(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            Period(datetime(2026, 1, 1), utc(2026, 1, 2))
        with pytest.raises(NaiveDatetimeError):
            _ = datetime(2026, 1, 1) in Period(utc(2026, 1, 1), utc(2026, 1, 2))
        with pytest.raises(DomainValueError):
            Period(utc(2026, 1, 2), utc(2026, 1, 1))

    def test_other_offsets_become_utc(self) -> None:
        plus_two = timezone(timedelta(hours=2))
        period = Period(datetime(2026, 1, 1, 2, tzinfo=plus_two), datetime(2026, 1, 1, 3, tzinfo=plus_two))
        assert period.start == utc(2026, 1, 1)
        assert period.start.tzinfo is UTC

    def test_empty_and_previous(self) -> None:
        assert Period(utc(2026, 1, 1), utc(2026, 1, 1)).empty
        period = Period(utc(2026, 1, 10), utc(2026, 1, 17))
        assert period.previous() == Period(utc(2026, 1, 3), utc(2026, 1, 10))
        empty = Period(utc(2026, 1, 10), utc(2026, 1, 10))
        assert empty.previous() == empty

    def test_intersection(self) -> None:
        a = Period(utc(2026, 1, 1), utc(2026, 1, 10))
        assert a.intersection(Period(utc(2026, 1, 5), utc(2026, 1, 20))) == Period(utc(2026, 1, 5), utc(2026, 1, 10))
        assert a.intersection(Period(utc(2026, 2, 1), utc(2026, 2, 2))).empty


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(DomainValueError):
        zone("Mars/Olympus_Mons")
    with pytest.raises(DomainValueError):
        zone("../etc/passwd")
    berlin = ZoneInfo(BERLIN)
    assert zone(berlin) is berlin
    assert zone(BERLIN).key == BERLIN


class TestBerlinSpringForward:
    """Clocks went 02:00 CET -> 03:00 CEST on 2026-03-29, at 01:00 UTC."""

    def test_entries_land_on_the_local_day(self) -> None:
        assert local_date(utc(2026, 3, 29, 1, 30), BERLIN) == date(2026, 3, 29)
        # Still UTC+1 the evening before: 23:30 UTC is 00:30 on the 29th.
        assert local_date(utc(2026, 3, 28, 23, 30), BERLIN) == date(2026, 3, 29)
        assert local_date(utc(2026, 3, 28, 23) - timedelta(microseconds=1), BERLIN) == date(2026, 3, 28)
        # CEST (UTC+2) in the evening: 22:00 UTC is already the 30th.
        assert local_date(utc(2026, 3, 29, 21, 59), BERLIN) == date(2026, 3, 29)
        assert local_date(utc(2026, 3, 29, 22, 0), BERLIN) == date(2026, 3, 30)

    def test_daily_buckets_have_local_boundaries(self) -> None:
        period = Period(utc(2026, 3, 27, 23), utc(2026, 3, 30, 22))
        labels = list(bucket_labels(period, Granularity.DAY, BERLIN))
        assert labels == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
        bounds = [bucket_bounds(label, Granularity.DAY, BERLIN) for label in labels]
        assert bounds == [
            Period(utc(2026, 3, 27, 23), utc(2026, 3, 28, 23)),
            Period(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
            Period(utc(2026, 3, 29, 22), utc(2026, 3, 30, 22)),
        ]
        assert [hours(b) for b in bounds] == [24, 23, 24]

    def test_week_and_month_are_an_hour_short(self) -> None:
        # 2026-03-29 is a Sunday: its ISO week starts Monday the 23rd.
        assert bucket_label(utc(2026, 3, 29, 12), Granularity.WEEK, BERLIN) == date(2026, 3, 23)
        assert hours(bucket_bounds(date(2026, 3, 23), Granularity.WEEK, BERLIN)) == 7 * 24 - 1
        assert hours(bucket_bounds(date(2026, 3, 1), Granularity.MONTH, BERLIN)) == 31 * 24 - 1
        assert bucket_label(utc(2026, 3, 31, 22, 30), Granularity.MONTH, BERLIN) == date(2026, 4, 1)


class TestBerlinFallBack:
    """Clocks went 03:00 CEST -> 02:00 CET on 2026-10-25, at 01:00 UTC."""

    def test_the_day_is_25_hours(self) -> None:
        bounds = bucket_bounds(date(2026, 10, 25), Granularity.DAY, BERLIN)
        assert bounds == Period(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
        assert hours(bounds) == 25

    def test_the_repeated_hour_is_one_day(self) -> None:
        # 00:30 and 01:30 UTC are both 02:30 local (CEST, then CET).
        assert local_date(utc(2026, 10, 25, 0, 30), BERLIN) == date(2026, 10, 25)
        assert local_date(utc(2026, 10, 25, 1, 30), BERLIN) == date(2026, 10, 25)
        assert local_date(utc(2026, 10, 25, 23, 0), BERLIN) == date(2026, 10, 26)
        assert local_date(utc(2026, 10, 25, 22, 59), BERLIN) == date(2026, 10, 25)


class TestNewYork:
    """EST -> EDT on 2026-03-08 (07:00 UTC), EDT -> EST on 2026-11-01 (06:00 UTC)."""

    def test_days_around_the_changes(self) -> None:
        assert bucket_bounds(date(2026, 3, 8), Granularity.DAY, NEW_YORK) == Period(
            utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)
        )
        assert bucket_bounds(date(2026, 11, 1), Granularity.DAY, NEW_YORK) == Period(
            utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)
        )

    def test_evening_utc_is_the_previous_local_day(self) -> None:
        assert local_date(utc(2026, 3, 9, 3, 59), NEW_YORK) == date(2026, 3, 8)
        assert local_date(utc(2026, 3, 9, 4, 0), NEW_YORK) == date(2026, 3, 9)


def test_midnight_that_does_not_exist() -> None:
    # Santiago springs forward at 24:00 on 2026-09-05: the 6th starts at 01:00 local, 04:00 UTC.
    first = local_midnight(date(2026, 9, 6), "America/Santiago")
    assert first == utc(2026, 9, 6, 4)
    assert hours(bucket_bounds(date(2026, 9, 6), Granularity.DAY, "America/Santiago")) == 23
    assert local_date(first, "America/Santiago") == date(2026, 9, 6)
    assert local_date(first - timedelta(microseconds=1), "America/Santiago") == date(2026, 9, 5)


def test_bucket_labels_of_a_partial_period() -> None:
    period = Period(utc(2026, 1, 30, 12), utc(2026, 3, 2, 12))
    assert list(bucket_labels(period, Granularity.MONTH, "UTC")) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert next(iter(bucket_labels(period, Granularity.WEEK, "UTC"))) == date(2026, 1, 26)
    assert list(bucket_labels(Period(period.start, period.start), Granularity.DAY, "UTC")) == []
    # The end is exclusive: a period ending at midnight does not touch the next day.
    assert list(bucket_labels(Period(utc(2026, 1, 1), utc(2026, 1, 2)), Granularity.DAY, "UTC")) == [date(2026, 1, 1)]


def test_bucket_bounds_refuses_a_label_that_starts_no_bucket() -> None:
    with pytest.raises(DomainValueError):
        bucket_bounds(date(2026, 3, 25), Granularity.WEEK, BERLIN)
    with pytest.raises(DomainValueError):
        bucket_bounds(date(2026, 3, 2), Granularity.MONTH, BERLIN)
    assert bucket_bounds(date(2026, 12, 1), Granularity.MONTH, "UTC").end == utc(2027, 1, 1)


class TestWindows:
    NOW = utc(2026, 3, 30, 10)  # 12:00 in Berlin, Monday

    def test_day_windows_start_at_local_midnight(self) -> None:
        assert window_period(Window.D7, self.NOW, BERLIN) == Period(utc(2026, 3, 23, 23), self.NOW)
        assert window_period(Window.D30, self.NOW, BERLIN) == Period(utc(2026, 2, 28, 23), self.NOW)
        assert window_period(Window.D7, self.NOW, "UTC") == Period(utc(2026, 3, 24), self.NOW)
        assert window_period(Window.Y1, self.NOW, "UTC").start == utc(2025, 3, 31)

    def test_today_depends_on_the_zone(self) -> None:
        now = utc(2026, 3, 30, 2)  # still the 29th in New York
        assert window_period(Window.D7, now, NEW_YORK).start == utc(2026, 3, 23, 4)

    def test_all(self) -> None:
        assert window_period(Window.ALL, self.NOW, BERLIN) == Period(self.NOW, self.NOW)
        earliest = utc(2020, 5, 1)
        assert window_period(Window.ALL, self.NOW, BERLIN, earliest=earliest) == Period(earliest, self.NOW)
        later = window_period(Window.ALL, self.NOW, BERLIN, earliest=utc(2027, 1, 1))
        assert later.empty

    def test_naive_now_is_refused(self) -> None:
        with pytest.raises(NaiveDatetimeError):
            window_period(Window.D7, datetime(2026, 3, 30), BERLIN)

    def test_days(self) -> None:
        assert [w.days for w in Window] == [7, 30, 90, 365, None]
