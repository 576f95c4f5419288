"""What an analytics request asks for, from its query string: a named window (``range=7d|30d|90d|1y|all``) or a
custom period (``start``/``end``: ISO dates, read as local midnights in the time zone, or ISO instants with an
offset), the time zone (the agency's, unless ``tz=`` names another IANA zone), and how many top spenders.

Every rule broken (both a range and a custom period, an end not after the start, a period longer than
:data:`MAX_CUSTOM_DAYS`, an instant without an offset, an unknown zone) is a 422 problem in our words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from onyx_core.analytics import Period, Window
from onyx_core.analytics.periods import local_midnight
from onyx_core.catalog import require_time_zone
from onyx_core.errors import DomainValueError
from onyx_web.errors import Problem

__all__ = ["DEFAULT_WINDOW", "MAX_CUSTOM_DAYS", "AnalyticsRequest", "analytics_request"]

DEFAULT_WINDOW = Window.D30
MAX_CUSTOM_DAYS = 3 * 366 + 1
"""A custom period covers at most about three years (one read must stay fast); ``range=all`` has no limit."""

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
"""Custom bounds stay well inside the calendar (the previous period, for growth, starts a period earlier)."""


@dataclass(frozen=True, slots=True)
class AnalyticsRequest:
    """Exactly one of ``window`` and ``period`` is set."""

    window: Window | None
    period: Period | None
    tz: str


def _bound(text: str, tz: str, name: str) -> datetime:
    try:
        if len(text) == 10:  # YYYY-MM-DD: that local day's first instant
            return local_midnight(date.fromisoformat(text), tz)
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None:
            raise Problem(422, f"{name} needs its UTC offset (2026-03-01T09:00:00+01:00 or ...Z)")
        return instant.astimezone(UTC)
    except (ValueError, OverflowError):  # not ISO, or a year 1 / 9999 bound that leaves the calendar in UTC
        raise Problem(422, f"{name} must be an ISO date (2026-03-01) or an instant with its offset") from None


def analytics_request(
    *, range_: Window | None, start: str | None, end: str | None, tz: str | None, agency_tz: str
) -> AnalyticsRequest:
    """Check and resolve the query (see the module)."""
    zone = agency_tz
    if tz is not None:
        try:
            zone = require_time_zone(tz)
        except DomainValueError:
            raise Problem(422, "tz must be an IANA time zone name (such as Europe/Berlin)") from None
    if start is None and end is None:
        return AnalyticsRequest(range_ or DEFAULT_WINDOW, None, zone)
    if range_ is not None:
        raise Problem(422, "Ask for a range or for start and end, not both.")
    if start is None or end is None:
        raise Problem(422, "A custom period needs both start and end.")
    first, last = _bound(start, zone, "start"), _bound(end, zone, "end")
    if first < EARLIEST or last > LATEST:
        raise Problem(422, "start and end must lie between 1970 and 2200.")
    if first >= last:
        raise Problem(422, "end must be after start (the period is [start, end)).")
    if last - first > timedelta(days=MAX_CUSTOM_DAYS):
        raise Problem(422, f"A custom period spans at most {MAX_CUSTOM_DAYS} days; use range=all for everything.")
    return AnalyticsRequest(None, Period(first, last), zone)
