"""Insights: earnings, earnings summary, spending (refunds and chargebacks), subscriber trend, top spenders and
fan insights, for the caller or (``creator_uuid=``) for a creator the agency manages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from onyx_fanvue.models.common import CursorPage, Page
from onyx_fanvue.models.insights import (
    EarningRow,
    EarningsPercentile,
    EarningsSummary,
    FanInsight,
    FanInsightsResult,
    SpendingRow,
    SubscriberTrendRow,
    TopSpenderRow,
)
from onyx_fanvue.pagination import (
    DEFAULT_MAX_PAGES,
    AsyncCursorIterator,
    CursorIterator,
)
from onyx_fanvue.resources._call import Call, as_list, iso, parse_as, parse_page, scoped, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource

When = datetime | date | str | None
MAX_FAN_UUIDS = 20


def _range(start_date: When, end_date: When) -> dict[str, str | None]:
    return {"startDate": iso(start_date), "endDate": iso(end_date)}


def _earnings(
    creator_uuid: str | None,
    start_date: When,
    end_date: When,
    sources: Sequence[str] | None,
    cursor: str | None,
    size: int | None,
) -> Call[CursorPage[EarningRow]]:
    params = {
        **_range(start_date, end_date),
        "source": as_list(sources),
        "cursor": cursor,
        "size": size,
    }
    return Call("GET", scoped(creator_uuid, "/insights/earnings"), parse_page(CursorPage, EarningRow), params)


def _summary(
    creator_uuid: str | None, start_date: When, end_date: When, granularity: str | None, timezone: str | None
) -> Call[EarningsSummary]:
    params = {**_range(start_date, end_date), "granularity": granularity, "timezone": timezone}
    return Call("GET", scoped(creator_uuid, "/insights/earnings/summary"), parse_as(EarningsSummary), params)


def _spending(
    start_date: When, end_date: When, source: str | None, cursor: str | None, size: int | None
) -> Call[CursorPage[SpendingRow]]:
    params = {**_range(start_date, end_date), "source": source, "cursor": cursor, "size": size}
    return Call("GET", "/insights/spending", parse_page(CursorPage, SpendingRow), params)


def _subscribers(
    creator_uuid: str | None, start_date: When, end_date: When, cursor: str | None, size: int | None
) -> Call[CursorPage[SubscriberTrendRow]]:
    params = {**_range(start_date, end_date), "cursor": cursor, "size": size}
    return Call(
        "GET", scoped(creator_uuid, "/insights/subscribers"), parse_page(CursorPage, SubscriberTrendRow), params
    )


def _top_spenders(
    creator_uuid: str | None, start_date: When, end_date: When, page: int | None, size: int | None
) -> Call[Page[TopSpenderRow]]:
    params = {**_range(start_date, end_date), "page": page, "size": size}
    return Call("GET", scoped(creator_uuid, "/insights/top-spenders"), parse_page(Page, TopSpenderRow), params)


def _fan(fan_uuid: str) -> Call[FanInsight]:
    return Call("GET", f"/insights/fans/{segment(fan_uuid)}", parse_as(FanInsight))


def _fans(fan_uuids: str | Sequence[str]) -> Call[FanInsightsResult]:
    uuids = as_list(fan_uuids, limit=MAX_FAN_UUIDS, what="fan uuids")
    if not uuids:
        raise ValueError("fans() needs at least one fan uuid")
    return Call("GET", "/insights/fans", parse_as(FanInsightsResult), {"fanUuids": uuids})


def _percentile() -> Call[EarningsPercentile]:
    return Call("GET", "/insights/earnings/percentile", parse_as(EarningsPercentile))


class Insights(SyncResource):
    def earnings(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        sources: Sequence[str] | None = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[EarningRow]:
        """One page of earnings rows (``startDate`` inclusive, ``endDate`` exclusive; money in USD cents)."""
        return self._client._run(_earnings(creator_uuid, start_date, end_date, sources, cursor, size))

    def iter_earnings(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        sources: Sequence[str] | None = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> CursorIterator[EarningRow]:
        """Every earnings row in the range; resume a stopped iteration with its ``cursor``."""
        return CursorIterator(
            lambda c: self.earnings(
                creator_uuid=creator_uuid,
                start_date=start_date,
                end_date=end_date,
                sources=sources,
                cursor=c,
                size=size,
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    def earnings_summary(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        granularity: str | None = None,
        timezone: str | None = None,
    ) -> EarningsSummary:
        """Totals, breakdown by source and type, and a series (``granularity`` day|week, IANA ``timezone``)."""
        return self._client._run(_summary(creator_uuid, start_date, end_date, granularity, timezone))

    def spending(
        self,
        *,
        start_date: When = None,
        end_date: When = None,
        source: str | None = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[SpendingRow]:
        """Refunds and chargebacks of the caller (``source`` all|refund|chargeback). Fanvue has no creator scope."""
        return self._client._run(_spending(start_date, end_date, source, cursor, size))

    def iter_spending(
        self,
        *,
        start_date: When = None,
        end_date: When = None,
        source: str | None = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> CursorIterator[SpendingRow]:
        return CursorIterator(
            lambda c: self.spending(start_date=start_date, end_date=end_date, source=source, cursor=c, size=size),
            cursor=cursor,
            max_pages=max_pages,
        )

    def subscribers(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[SubscriberTrendRow]:
        """The subscriber trend: per-day new and cancelled counts (a delta series, not a headcount)."""
        return self._client._run(_subscribers(creator_uuid, start_date, end_date, cursor, size))

    def iter_subscribers(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> CursorIterator[SubscriberTrendRow]:
        return CursorIterator(
            lambda c: self.subscribers(
                creator_uuid=creator_uuid, start_date=start_date, end_date=end_date, cursor=c, size=size
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    def top_spenders(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[TopSpenderRow]:
        """Fans ranked by what they paid (gross and net in USD cents)."""
        return self._client._run(_top_spenders(creator_uuid, start_date, end_date, page, size))

    def fan(self, fan_uuid: str) -> FanInsight:
        """One fan's status, spending and subscription (404 if not a fan)."""
        return self._client._run(_fan(fan_uuid))

    def fans(self, fan_uuids: Sequence[str]) -> FanInsightsResult:
        """Up to 20 fans at once; per-fan errors come back in ``errors``, not as an exception."""
        return self._client._run(_fans(fan_uuids))

    def earnings_percentile(self) -> EarningsPercentile:
        """Where the caller ranks among creators (lower is better: 0.01 = top 0.01 %)."""
        return self._client._run(_percentile())


class AsyncInsights(AsyncResource):
    async def earnings(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        sources: Sequence[str] | None = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[EarningRow]:
        """One page of earnings rows (``startDate`` inclusive, ``endDate`` exclusive; money in USD cents)."""
        return await self._client._run(_earnings(creator_uuid, start_date, end_date, sources, cursor, size))

    def iter_earnings(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        sources: Sequence[str] | None = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncCursorIterator[EarningRow]:
        """Every earnings row in the range; resume a stopped iteration with its ``cursor``."""
        return AsyncCursorIterator(
            lambda c: self.earnings(
                creator_uuid=creator_uuid,
                start_date=start_date,
                end_date=end_date,
                sources=sources,
                cursor=c,
                size=size,
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    async def earnings_summary(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        granularity: str | None = None,
        timezone: str | None = None,
    ) -> EarningsSummary:
        """Totals, breakdown by source and type, and a series (``granularity`` day|week, IANA ``timezone``)."""
        return await self._client._run(_summary(creator_uuid, start_date, end_date, granularity, timezone))

    async def spending(
        self,
        *,
        start_date: When = None,
        end_date: When = None,
        source: str | None = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[SpendingRow]:
        """Refunds and chargebacks of the caller (``source`` all|refund|chargeback). Fanvue has no creator scope."""
        return await self._client._run(_spending(start_date, end_date, source, cursor, size))

    def iter_spending(
        self,
        *,
        start_date: When = None,
        end_date: When = None,
        source: str | None = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncCursorIterator[SpendingRow]:
        return AsyncCursorIterator(
            lambda c: self.spending(start_date=start_date, end_date=end_date, source=source, cursor=c, size=size),
            cursor=cursor,
            max_pages=max_pages,
        )

    async def subscribers(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        cursor: str | None = None,
        size: int | None = None,
    ) -> CursorPage[SubscriberTrendRow]:
        """The subscriber trend: per-day new and cancelled counts (a delta series, not a headcount)."""
        return await self._client._run(_subscribers(creator_uuid, start_date, end_date, cursor, size))

    def iter_subscribers(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        cursor: str | None = None,
        size: int = 50,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncCursorIterator[SubscriberTrendRow]:
        return AsyncCursorIterator(
            lambda c: self.subscribers(
                creator_uuid=creator_uuid, start_date=start_date, end_date=end_date, cursor=c, size=size
            ),
            cursor=cursor,
            max_pages=max_pages,
        )

    async def top_spenders(
        self,
        *,
        creator_uuid: str | None = None,
        start_date: When = None,
        end_date: When = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[TopSpenderRow]:
        """Fans ranked by what they paid (gross and net in USD cents)."""
        return await self._client._run(_top_spenders(creator_uuid, start_date, end_date, page, size))

    async def fan(self, fan_uuid: str) -> FanInsight:
        """One fan's status, spending and subscription (404 if not a fan)."""
        return await self._client._run(_fan(fan_uuid))

    async def fans(self, fan_uuids: Sequence[str]) -> FanInsightsResult:
        """Up to 20 fans at once; per-fan errors come back in ``errors``, not as an exception."""
        return await self._client._run(_fans(fan_uuids))

    async def earnings_percentile(self) -> EarningsPercentile:
        """Where the caller ranks among creators (lower is better: 0.01 = top 0.01 %)."""
        return await self._client._run(_percentile())


__all__ = ["AsyncInsights", "Insights"]
