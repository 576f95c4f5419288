"""Exports: the datasets a member may download, their columns, the filters they take, and the port that reads
their rows in chunks (a million ledger rows must not sit in memory at once).

Pure values and rules. Who may export what is :mod:`onyx_core.accounts.usecases.exports`; the SQL reading is
``onyx_adapters.sql.exports``; the file formats (CSV, JSON) are the web layer's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from onyx_core.analytics.periods import zone
from onyx_core.errors import DomainValueError
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.timeutil import optional_utc

__all__ = [
    "COLUMNS",
    "INSTANT_COLUMNS",
    "NUMBER_COLUMNS",
    "Dataset",
    "ExportCursor",
    "ExportFilters",
    "ExportScope",
    "ExportSource",
    "OffsetSpan",
    "offset_spans",
]


class Dataset(StrEnum):
    LEDGER = "ledger"
    """Every ledger entry (earnings, refunds, chargebacks), one row each."""
    DAILY_REVENUE = "daily-revenue"
    """Per local day (in the export's time zone), creator, source and currency: the sums of the entries."""
    STATS_HISTORY = "stats-history"
    """Every stats event (what happened to each metric's value, when, from which observation)."""
    TOP_SPENDERS = "top-spenders"
    """Per creator, every fan who paid in the period, ranked by net then gross (the core's top-spenders order)."""


COLUMNS: dict[Dataset, tuple[str, ...]] = {
    Dataset.LEDGER: (
        "creator_id",
        "key",
        "occurred_at",
        "kind",
        "source",
        "gross_cents",
        "net_cents",
        "currency",
        "fan_id",
        "reference",
        "original_currency",
    ),
    Dataset.DAILY_REVENUE: (
        "day",
        "creator_id",
        "source",
        "currency",
        "gross_cents",
        "net_cents",
        "transactions",
        "reversals",
    ),
    Dataset.STATS_HISTORY: (
        "id",
        "creator_id",
        "metric",
        "kind",
        "at",
        "source",
        "old_value",
        "new_value",
        "detail",
        "recorded_at",
    ),
    Dataset.TOP_SPENDERS: (
        "creator_id",
        "rank",
        "fan_id",
        "handle",
        "display_name",
        "currency",
        "gross_cents",
        "net_cents",
        "transactions",
        "reversals",
        "last_paid_at",
    ),
}
"""Each dataset's columns, in the order every row gives its values (the CSV header, the JSON objects' keys)."""

INSTANT_COLUMNS = frozenset({"occurred_at", "at", "recorded_at", "last_paid_at"})
"""Columns whose values are UTC instants (aware datetimes) or ``None``."""
NUMBER_COLUMNS = frozenset(
    {"gross_cents", "net_cents", "transactions", "reversals", "rank", "id", "old_value", "new_value"}
)
"""Columns whose values are integers (cents, counts, ids) or ``None``; every other column holds text or ``None``."""


@dataclass(frozen=True, slots=True)
class ExportFilters:
    """What a member asked for. ``start``/``end``: the half-open UTC range ``start <= t < end`` (either may be
    open); ``tz``: the IANA zone whose calendar days the daily revenue uses; ``metric``: one metric of the stats
    history; ``limit``: the top ``limit`` fans per creator of the top spenders (``None``: all)."""

    creator_id: CreatorId | None = None
    start: datetime | None = None
    end: datetime | None = None
    tz: str = "UTC"
    metric: str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", optional_utc(self.start, "from"))
        object.__setattr__(self, "end", optional_utc(self.end, "to"))
        if self.start is not None and self.end is not None and self.start > self.end:
            raise DomainValueError("the range ends before it starts (from > to)")
        zone(self.tz)  # an unknown zone is refused here, not when the rows are read
        if self.limit is not None and self.limit < 1:
            raise DomainValueError("limit must be at least 1")

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def described(self) -> dict[str, str]:
        """The filters that were set, as short strings (the audit log's details)."""
        shown: dict[str, str] = {}
        if self.creator_id is not None:
            shown["creator_id"] = str(self.creator_id)
        if self.start is not None:
            shown["from"] = self.start.isoformat()
        if self.end is not None:
            shown["to"] = self.end.isoformat()
        if self.tz != "UTC":
            shown["tz"] = self.tz
        if self.metric is not None:
            shown["metric"] = self.metric
        if self.limit is not None:
            shown["limit"] = str(self.limit)
        return shown


@dataclass(frozen=True, slots=True)
class ExportScope:
    """An export the member may run: the dataset, her agency and exactly the creators whose rows she may read
    (the filter's one creator, or every creator she sees), and the filters."""

    dataset: Dataset
    agency_id: AgencyId
    creator_ids: tuple[CreatorId, ...]
    filters: ExportFilters


class ExportCursor(Protocol):
    """An open export: its row count (known before the first row: one snapshot for both) and its rows, in chunks,
    each row's values in :data:`COLUMNS` order."""

    @property
    def count(self) -> int: ...

    def chunks(self) -> AsyncIterator[Sequence[tuple[Any, ...]]]: ...


class ExportSource(Protocol):
    """Reads a dataset's rows for a scope; the cursor stays open (one snapshot) until the block ends."""

    def open(self, scope: ExportScope) -> AbstractAsyncContextManager[ExportCursor]: ...


@dataclass(frozen=True, slots=True)
class OffsetSpan:
    """Instants ``start <= t < end`` during which a time zone is ``offset`` ahead of UTC."""

    start: datetime
    end: datetime
    offset: timedelta


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(tz).utcoffset()
    assert offset is not None  # noqa: S101 - a ZoneInfo always has one
    return offset


def offset_spans(tz: ZoneInfo, start: datetime, end: datetime) -> list[OffsetSpan]:
    """The spans of constant UTC offset of ``tz`` covering ``[start, end)`` (none when it is empty): a database
    without time zones (SQLite) finds an instant's local day as the date of ``instant + offset`` of its span.

    Probes one instant a day and bisects each change to the second: time zones change their offset at most a few
    times a year, and never twice within a day."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    spans: list[OffsetSpan] = []
    span_start, current = start, _offset(tz, start)
    probe = start
    while probe < end:
        following = min(probe + timedelta(days=1), end)
        offset = _offset(tz, following) if following < end else current
        if offset != current:
            low, high = probe, following  # offset(low) == current, offset(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(tz, middle) == current:
                    low = middle
                else:
                    high = middle
            change = high.replace(microsecond=0) if _offset(tz, high.replace(microsecond=0)) != current else high
            spans.append(OffsetSpan(span_start, change, current))
            span_start, current = change, _offset(tz, change)
        probe = following
    if start < end:
        spans.append(OffsetSpan(span_start, end, current))
    return spans
