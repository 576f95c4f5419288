"""Chats are counted without walking every page: exact for any size, in O(log pages) requests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from onyx_adapters.gateway import FanvueGateway
from onyx_core.catalog import Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.stats import Metric, Ok
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@dataclass
class _Pagination:
    has_more: bool


@dataclass
class _Page:
    data: list[int]
    pagination: _Pagination


class _ChatList:
    """Fanvue's page-style chat list over ``total`` chats, counting the requests."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.requests: list[int] = []

    async def list(self, *, creator_uuid: str | None, page: int, size: int) -> _Page:
        self.requests.append(page)
        rows = list(range(self.total))[(page - 1) * size : page * size]
        return _Page(rows, _Pagination(page * size < self.total))


class _OverReportingChatList(_ChatList):
    """Says "more" after an exactly full last page too (the API reference hedges on this)."""

    async def list(self, *, creator_uuid: str | None, page: int, size: int) -> _Page:
        answer = await super().list(creator_uuid=creator_uuid, page=page, size=size)
        return _Page(answer.data, _Pagination(page * size <= self.total and bool(answer.data)))


@dataclass
class _Client:
    chats: _ChatList


@pytest.mark.parametrize("total", [*range(160), 199, 200, 201, 1000, 1049, 1050, 1051, 10_000, 123_457])
async def test_the_count_is_exact_for_any_number_of_chats(total: int) -> None:
    chats = _ChatList(total)
    gateway = FanvueGateway(lambda connection: pytest.fail("not used"))
    client: Any = _Client(chats)
    assert await gateway._chat_count(client, "creator") == total
    pages = max(1, math.ceil(total / 50))
    assert len(chats.requests) <= 2 * math.ceil(math.log2(pages)) + 2, chats.requests
    assert len(set(chats.requests)) == len(chats.requests), "no page is asked twice"


@pytest.mark.parametrize("total", [50, 100, 150, 1000, 51, 99])
async def test_a_full_last_page_that_claims_more_still_counts_exactly(total: int) -> None:
    gateway = FanvueGateway(lambda connection: pytest.fail("not used"))
    client: Any = _Client(_OverReportingChatList(total))
    assert await gateway._chat_count(client, None) == total


async def test_sandbox_chats_are_counted_through_the_agency_and_the_own_connection() -> None:
    sandbox = FanvueSandbox(spec=WorldSpec(seed=4, creators=1, days=30), clock=SandboxClock(NOW))
    creator = sandbox.world.creators[0]
    agency = Connection(
        ConnectionId("agency"), ConnectionKind.AGENCY, AgencyId("a"), None, sandbox.admin, ConnectionStatus.ACTIVE, None
    )
    own = Connection(
        ConnectionId("own"),
        ConnectionKind.CREATOR,
        AgencyId("a"),
        CreatorId(creator.uuid),
        creator.uuid,
        ConnectionStatus.ACTIVE,
        None,
    )
    tokens = {agency.id: sandbox.token(), own.id: sandbox.token(creator.person.handle)}
    clients = {cid: sandbox.async_client(access_token=token) for cid, token in tokens.items()}
    gateway = FanvueGateway(lambda connection: clients[connection.id])
    subject = Creator(CreatorId(creator.uuid), AgencyId("a"), creator.person.handle, creator.person.display_name, NOW)
    truth = len(sandbox.world.chats[creator.uuid])  # one page in the sandbox; the stub above covers many
    assert truth > 0
    try:
        for connection in (agency, own):
            before = len(sandbox.requests)
            observed = {o.metric: o for o in await gateway.fetch_stats(connection, subject, NOW)}
            chats = observed[Metric.CHATS]
            assert isinstance(chats, Ok)
            assert chats.value == truth
            assert len([r for r in sandbox.requests[before:] if r.path.endswith("/chats")]) == 1
    finally:
        for client in clients.values():
            await client.aclose()
