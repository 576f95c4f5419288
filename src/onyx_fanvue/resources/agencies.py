"""Agency-level endpoints (``/agencies/*``): Fanvue allows them to agency admins only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from onyx_fanvue.models.agencies import AgencyEarningDay, AgencySubscriber, AgencySubscriberDay, ChatterRow, TeamMember
from onyx_fanvue.models.chats import ChatRow
from onyx_fanvue.models.common import DataList, Page
from onyx_fanvue.resources._call import Call, as_list, iso, parse_as, parse_page
from onyx_fanvue.resources._resource import AsyncResource, SyncResource

When = datetime | date | str
MAX_CREATOR_UUIDS = 50
MAX_CHATTER_UUIDS = 100


def _creators(creator_uuids: str | Sequence[str] | None) -> list[str] | None:
    return as_list(creator_uuids, limit=MAX_CREATOR_UUIDS, what="creator uuids")


def _earnings(
    start_date: When, end_date: When, creator_uuids: Sequence[str] | None, page: int | None, size: int | None
) -> Call[Page[AgencyEarningDay]]:
    params = {
        "startDate": iso(start_date),
        "endDate": iso(end_date),
        "creatorUuids": _creators(creator_uuids),
        "page": page,
        "size": size,
    }
    return Call("GET", "/agencies/earnings", parse_page(Page, AgencyEarningDay), params)


def _history(
    start_date: When, end_date: When, creator_uuids: Sequence[str] | None, page: int | None, size: int | None
) -> Call[Page[AgencySubscriberDay]]:
    params = {
        "startDate": iso(start_date),
        "endDate": iso(end_date),
        "creatorUuids": _creators(creator_uuids),
        "page": page,
        "size": size,
    }
    return Call("GET", "/agencies/subscribers-history", parse_page(Page, AgencySubscriberDay), params)


def _subscribers(
    creator_uuids: Sequence[str] | None, page: int | None, size: int | None
) -> Call[Page[AgencySubscriber]]:
    params = {"creatorUuids": _creators(creator_uuids), "page": page, "size": size}
    return Call("GET", "/agencies/subscribers", parse_page(Page, AgencySubscriber), params)


def _team() -> Call[list[TeamMember]]:
    return Call("GET", "/agencies/team-members", parse_as(list[TeamMember]))


def _leaderboard(
    start_date: When | None, end_date: When | None, chatter_uuids: Sequence[str] | None
) -> Call[DataList[ChatterRow]]:
    params = {
        "startDate": iso(start_date),
        "endDate": iso(end_date),
        "chatterUuids": as_list(chatter_uuids, limit=MAX_CHATTER_UUIDS, what="chatter uuids"),
    }
    return Call("GET", "/agencies/insights/chatter-leaderboard", parse_page(DataList, ChatterRow), params)


def _chats(page: int | None, size: int | None) -> Call[Page[ChatRow]]:
    return Call("GET", "/agencies/chats", parse_page(Page, ChatRow), {"page": page, "size": size})


class Agencies(SyncResource):
    def earnings(
        self,
        *,
        start_date: When,
        end_date: When,
        creator_uuids: Sequence[str] | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[AgencyEarningDay]:
        """Earnings per creator per UTC day (both dates required; newest day first)."""
        return self._client._run(_earnings(start_date, end_date, creator_uuids, page, size))

    def subscribers_history(
        self,
        *,
        start_date: When,
        end_date: When,
        creator_uuids: Sequence[str] | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[AgencySubscriberDay]:
        """New and cancelled subscribers per creator per UTC day (range at most 365 days)."""
        return self._client._run(_history(start_date, end_date, creator_uuids, page, size))

    def subscribers(
        self, *, creator_uuids: Sequence[str] | None = None, page: int | None = None, size: int | None = None
    ) -> Page[AgencySubscriber]:
        """Active subscribers across the agency's creators, newest first."""
        return self._client._run(_subscribers(creator_uuids, page, size))

    def team_members(self) -> list[TeamMember]:
        """The agency's team members and which creators each may access."""
        return self._client._run(_team())

    def chatter_leaderboard(
        self,
        *,
        start_date: When | None = None,
        end_date: When | None = None,
        chatter_uuids: Sequence[str] | None = None,
    ) -> DataList[ChatterRow]:
        """Chatters ranked by PPV revenue (from a daily aggregate: lags up to a day)."""
        return self._client._run(_leaderboard(start_date, end_date, chatter_uuids))

    def chats(self, *, page: int | None = None, size: int | None = None) -> Page[ChatRow]:
        """Chats across the agency's creators (each row names its ``creatorUuid``)."""
        return self._client._run(_chats(page, size))


class AsyncAgencies(AsyncResource):
    async def earnings(
        self,
        *,
        start_date: When,
        end_date: When,
        creator_uuids: Sequence[str] | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[AgencyEarningDay]:
        """Earnings per creator per UTC day (both dates required; newest day first)."""
        return await self._client._run(_earnings(start_date, end_date, creator_uuids, page, size))

    async def subscribers_history(
        self,
        *,
        start_date: When,
        end_date: When,
        creator_uuids: Sequence[str] | None = None,
        page: int | None = None,
        size: int | None = None,
    ) -> Page[AgencySubscriberDay]:
        """New and cancelled subscribers per creator per UTC day (range at most 365 days)."""
        return await self._client._run(_history(start_date, end_date, creator_uuids, page, size))

    async def subscribers(
        self, *, creator_uuids: Sequence[str] | None = None, page: int | None = None, size: int | None = None
    ) -> Page[AgencySubscriber]:
        """Active subscribers across the agency's creators, newest first."""
        return await self._client._run(_subscribers(creator_uuids, page, size))

    async def team_members(self) -> list[TeamMember]:
        """The agency's team members and which creators each may access."""
        return await self._client._run(_team())

    async def chatter_leaderboard(
        self,
        *,
        start_date: When | None = None,
        end_date: When | None = None,
        chatter_uuids: Sequence[str] | None = None,
    ) -> DataList[ChatterRow]:
        """Chatters ranked by PPV revenue (from a daily aggregate: lags up to a day)."""
        return await self._client._run(_leaderboard(start_date, end_date, chatter_uuids))

    async def chats(self, *, page: int | None = None, size: int | None = None) -> Page[ChatRow]:
        """Chats across the agency's creators (each row names its ``creatorUuid``)."""
        return await self._client._run(_chats(page, size))
