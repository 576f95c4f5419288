"""Chats: lists, unread counts and messages (reading only; sending is left to ``client.request``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from onyx_fanvue.models.chats import ChatRow, MessageRow, UnreadCounts
from onyx_fanvue.models.common import Page
from onyx_fanvue.resources._call import Call, as_list, parse_as, parse_page, scoped, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource

MAX_SEARCH = 100  # Fanvue's limit on ``search``


@dataclass(frozen=True, slots=True)
class _ChatListQuery:
    """The list's optional narrowing, as Fanvue's spec names it. ``filter`` and ``smartListIds`` are exploded
    arrays (sent repeated, hence tuples for ``clean_params``)."""

    sort_by: str | None = None
    filters: str | Sequence[str] | None = None
    search: str | None = None
    custom_list_id: str | None = None
    smart_list_ids: str | Sequence[str] | None = None

    def params(self) -> dict[str, object]:
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise ValueError(f"Fanvue takes a search of at most {MAX_SEARCH} characters, got {len(self.search)}")
        filters = as_list(self.filters, what="filters")
        smart = as_list(self.smart_list_ids, what="smart list ids")
        return {
            "sortBy": self.sort_by,
            "filter": tuple(filters) if filters else None,
            "search": self.search,
            "customListId": self.custom_list_id,
            "smartListIds": tuple(smart) if smart else None,
        }


def _list(creator_uuid: str | None, page: int | None, size: int | None, query: _ChatListQuery) -> Call[Page[ChatRow]]:
    params = {"page": page, "size": size, **query.params()}
    return Call("GET", scoped(creator_uuid, "/chats"), parse_page(Page, ChatRow), params)


def _unread() -> Call[UnreadCounts]:
    return Call("GET", "/chats/unread", parse_as(UnreadCounts))


def _messages(
    fan_uuid: str, creator_uuid: str | None, page: int | None, size: int | None, *, mark_as_read: bool
) -> Call[Page[MessageRow]]:
    # always sent: Fanvue marks the conversation read when markAsRead is absent (its default is true)
    params = {"page": page, "size": size, "markAsRead": mark_as_read}
    path = scoped(creator_uuid, f"/chats/{segment(fan_uuid)}/messages")
    return Call("GET", path, parse_page(Page, MessageRow), params)


class Chats(SyncResource):
    def list(
        self,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        sort_by: str | None = None,
        filters: str | Sequence[str] | None = None,
        search: str | None = None,
        custom_list_id: str | None = None,
        smart_list_ids: str | Sequence[str] | None = None,
    ) -> Page[ChatRow]:
        """One page of chats, most recent first (or by ``sort_by``: ``most_recent_messages``, ``online_now``,
        ``most_unanswered_chats``). ``filters`` must all hold (``unread``, ``not_muted``, ``subscribers``...; some
        are creator-only: 403 for others), ``smart_list_ids`` any; ``search`` (at most 100 characters) matches a
        fan's name or handle; ``custom_list_id`` is a list's uuid. The first page's ``pagination`` is enough for a
        count."""
        query = _ChatListQuery(sort_by, filters, search, custom_list_id, smart_list_ids)
        return self._client._run(_list(creator_uuid, page, size, query))

    def unread(self) -> UnreadCounts:
        """Unread chats, messages and notifications of the caller."""
        return self._client._run(_unread())

    def messages(
        self,
        fan_uuid: str,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        mark_as_read: bool = False,
    ) -> Page[MessageRow]:
        """One page of a conversation's messages, newest first (404 when there is no conversation). The
        conversation is marked read only with ``mark_as_read=True`` (Fanvue would by default)."""
        return self._client._run(_messages(fan_uuid, creator_uuid, page, size, mark_as_read=mark_as_read))


class AsyncChats(AsyncResource):
    async def list(
        self,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        sort_by: str | None = None,
        filters: str | Sequence[str] | None = None,
        search: str | None = None,
        custom_list_id: str | None = None,
        smart_list_ids: str | Sequence[str] | None = None,
    ) -> Page[ChatRow]:
        """The async twin of :meth:`Chats.list`."""
        query = _ChatListQuery(sort_by, filters, search, custom_list_id, smart_list_ids)
        return await self._client._run(_list(creator_uuid, page, size, query))

    async def unread(self) -> UnreadCounts:
        """Unread chats, messages and notifications of the caller."""
        return await self._client._run(_unread())

    async def messages(
        self,
        fan_uuid: str,
        *,
        creator_uuid: str | None = None,
        page: int | None = None,
        size: int | None = None,
        mark_as_read: bool = False,
    ) -> Page[MessageRow]:
        """One page of a conversation's messages, newest first (404 when there is no conversation). The
        conversation is marked read only with ``mark_as_read=True`` (Fanvue would by default)."""
        return await self._client._run(_messages(fan_uuid, creator_uuid, page, size, mark_as_read=mark_as_read))
