"""The export filters' rules, and the spans of constant UTC offset that give SQLite (no time zones) an instant's
local day: the date of ``instant + offset`` equals zoneinfo's local date for every instant (Hypothesis)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.errors import DomainValueError
from onyx_core.exports import ExportFilters, offset_spans

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
START = datetime(2020, 1, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start_s=st.integers(0, 6 * 365 * 86400),
    length_s=st.integers(0, 3 * 365 * 86400),
    probes=st.lists(st.floats(0, 1), min_size=1, max_size=20),
)
def test_spans_give_the_local_date_of_every_instant(
    zone: str, start_s: int, length_s: int, probes: list[float]
) -> None:
    tz = ZoneInfo(zone)
    start = START + timedelta(seconds=start_s, microseconds=start_s % 999_999)
    end = start + timedelta(seconds=length_s)
    spans = offset_spans(tz, start, end)
    if start == end:
        assert spans == []
        return
    assert spans[0].start == start
    assert spans[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    assert all(a.offset != b.offset for a, b in itertools.pairwise(spans))
    for p in probes:
        instant = start + (end - start) * p
        if instant >= end:
            continue
        [span] = [s for s in spans if s.start <= instant < s.end]
        assert (instant + span.offset).date() == instant.astimezone(tz).date()


def test_berlins_spring_change_is_found_to_the_second() -> None:
    spans = offset_spans(ZoneInfo("Europe/Berlin"), datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert [(s.end, s.offset) for s in spans[:-1]] == [(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), timedelta(hours=1))]
    assert spans[-1].offset == timedelta(hours=2)


@pytest.mark.parametrize(
    "filters",
    [
        {"start": datetime(2026, 2, 1, tzinfo=UTC), "end": datetime(2026, 1, 1, tzinfo=UTC)},
        {"start": datetime(2026, 2, 1)},  # no time zone
        {"tz": "Mars/Olympus_Mons"},
        {"limit": 0},
    ],
)
def test_bad_filters_are_refused(filters: dict[str, object]) -> None:
    with pytest.raises(DomainValueError):
        ExportFilters(**filters)  # type: ignore[arg-type]


def test_an_empty_range_is_allowed_and_the_filters_are_described() -> None:
    moment = datetime(2026, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    filters = ExportFilters(start=moment, end=moment, metric="subscribers")
    assert filters.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert filters.described() == {
        "from": "2026-01-01T00:00:00+00:00",
        "to": "2026-01-01T00:00:00+00:00",
        "metric": "subscribers",
    }
