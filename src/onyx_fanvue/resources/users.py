"""``/users/me`` and ``/users/account`` (and a managed creator's account)."""

from __future__ import annotations

from onyx_fanvue.models.users import Account, User
from onyx_fanvue.resources._call import Call, parse_as, segment
from onyx_fanvue.resources._resource import AsyncResource, SyncResource


def _me() -> Call[User]:
    return Call("GET", "/users/me", parse_as(User))


def _account(creator_uuid: str | None) -> Call[Account]:
    path = "/users/account" if creator_uuid is None else f"/creators/{segment(creator_uuid)}/account"
    return Call("GET", path, parse_as(Account))


class Users(SyncResource):
    def me(self) -> User:
        """The authenticated user; creators also get ``likes_count``, ``fan_counts``, ``content_counts``."""
        return self._client._run(_me())

    def account(self, *, creator_uuid: str | None = None) -> Account:
        """The account (status, earnings, fans) of the caller, or of a creator the agency manages."""
        return self._client._run(_account(creator_uuid))


class AsyncUsers(AsyncResource):
    async def me(self) -> User:
        """The authenticated user; creators also get ``likes_count``, ``fan_counts``, ``content_counts``."""
        return await self._client._run(_me())

    async def account(self, *, creator_uuid: str | None = None) -> Account:
        """The account (status, earnings, fans) of the caller, or of a creator the agency manages."""
        return await self._client._run(_account(creator_uuid))
