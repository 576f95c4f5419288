"""Chats: lists, unread counts and messages (reading only; sending is left to ``client.request``)."""

from __future__ import annotations

from onyx_fanvue.models.chats import ChatRow, MessageRow, UnreadCounts
from onyx_fanvue.models.common import Page
from onyx_fanvue.resources._call import Call, parse_as, scoped, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource


def _list(creator_uuid: str | None, page: int | None, size: int | None) -> Call[Page[ChatRow]]:
    return Call("GET", scoped(creator_uuid, "/chats"), parse_as(Page[ChatRow]), {"page": page, "size": size})


def _unread() -> Call[UnreadCounts]:
    return Call("GET", "/chats/unread", parse_as(UnreadCounts))


def _messages(
    fan_uuid: str, creator_uuid: str | None, page: int | None, size: int | None, *, mark_as_read: bool | None
) -> Call[Page[MessageRow]]:
    params = {"page": page, "size": size, "markAsRead": mark_as_read}
    path = scoped(creator_uuid, f"/chats/{segment(fan_uuid)}/messages")
    return Call("GET", path, parse_as(Page[MessageRow]), params)


class Chats(SyncResource):
    def list(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[ChatRow]:
        """One page of chats, most recent first. The first page's ``pagination`` is enough for a count."""
        return self._client._run(_list(creator_uuid, page, size))

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
        mark_as_read: bool | None = None,
    ) -> Page[MessageRow]:
        """One page of a conversation's messages, newest first (404 when there is no conversation)."""
        return self._client._run(_messages(fan_uuid, creator_uuid, page, size, mark_as_read=mark_as_read))


class AsyncChats(AsyncResource):
    async def list(
        self, *, creator_uuid: str | None = None, page: int | None = None, size: int | None = None
    ) -> Page[ChatRow]:
        """One page of chats, most recent first. The first page's ``pagination`` is enough for a count."""
        return await self._client._run(_list(creator_uuid, page, size))

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
        mark_as_read: bool | None = None,
    ) -> Page[MessageRow]:
        """One page of a conversation's messages, newest first (404 when there is no conversation)."""
        return await self._client._run(_messages(fan_uuid, creator_uuid, page, size, mark_as_read=mark_as_read))
