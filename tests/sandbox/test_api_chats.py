"""``/chats``, ``/chats/unread`` and ``/chats/{user}/messages`` (+ creator mirrors) through the SDK: complete shapes,
ordering, paging walks, the 400s and 404s, ``markAsRead``, access rules and determinism."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import (
    AsyncFanvueClient,
    BadRequestError,
    CreatorNotAssignedError,
    FanvueClient,
    NotFoundError,
    ValidationError,
)
from onyx_fanvue.models.chats import ChatRow, MessageRow
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.endpoints.chats import NO_CONVERSATION
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

AGENCY_ONLY = ("creatorUuid",)  # ChatRow.creatorUuid is set only on /agencies/chats rows


def _creator(sandbox: FanvueSandbox, i: int = 0) -> str:
    return sandbox.world.creators[i].uuid


def _all_chats(client: FanvueClient, creator: str | None, size: int) -> list[ChatRow]:
    rows: list[ChatRow] = []
    page = 1
    while True:
        answer = client.chats.list(creator_uuid=creator, page=page, size=size)
        assert_complete(answer, optional=AGENCY_ONLY)
        assert answer.pagination.size == len(answer.data) <= size
        rows += answer.data
        if not answer.pagination.has_more:
            return rows
        page += 1


def _all_messages(client: FanvueClient, fan: str, creator: str | None, size: int) -> list[MessageRow]:
    rows: list[MessageRow] = []
    page = 1
    while True:
        answer = client.chats.messages(fan, creator_uuid=creator, page=page, size=size)
        assert_complete(answer)
        rows += answer.data
        if not answer.pagination.has_more:
            return rows
        page += 1


# ------------------------------------------------------------------------------------------ chat list


def test_chat_list_walk_is_complete_and_most_recent_first(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    rows = _all_chats(client, creator, size=3)
    world_chats = sandbox.world.chats[creator]
    assert [r.user.uuid for r in rows] == [c.fan.uuid for c in world_chats]
    assert len(rows) == 10
    last_at = [r.last_message_at for r in rows]
    assert all(a is not None for a in last_at)
    assert last_at == sorted(last_at, key=lambda t: t.timestamp() if t else 0, reverse=True)
    for row, chat in zip(rows, world_chats, strict=True):
        assert row.unread_messages_count == chat.unread_messages_count
        assert row.is_read == (chat.unread_messages_count == 0)
        assert row.last_message is not None
        assert row.last_message.uuid == chat.messages[-1].uuid
        assert row.creator_uuid is None
    assert any(not r.is_read for r in rows)
    assert any(r.is_muted for r in rows)


def test_chat_list_default_page_and_bad_sizes(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    page = client.chats.list(creator_uuid=_creator(sandbox))
    assert (page.pagination.page, page.pagination.size, page.pagination.has_more) == (1, 10, False)
    for bad in ({"size": 0}, {"size": 51}, {"page": 0}):
        with pytest.raises(ValidationError) as caught:
            client.chats.list(creator_uuid=_creator(sandbox), **bad)
        assert caught.value.body.keys() == {"errors"}


def test_creators_own_token_sees_their_own_chats(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox, 1)
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as own:
        mine = _all_chats(own, None, size=4)
        fan = mine[0].user.uuid
        own_messages = _all_messages(own, fan, None, size=50)
    assert mine == _all_chats(client, creator, size=4)
    assert own_messages == _all_messages(client, fan, creator, size=50)
    assert mine != _all_chats(client, _creator(sandbox, 0), size=50)


def test_a_non_creator_has_no_chats(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    page = client.chats.list()
    assert_complete(page)
    assert (page.data, page.pagination.size, page.pagination.has_more) == ([], 0, False)
    unread = client.chats.unread()
    assert_complete(unread)
    assert (unread.unread_chats_count, unread.unread_messages_count) == (0, 0)
    assert set(unread.unread_notifications.model_dump().values()) == {0}
    fan = sandbox.world.chats[_creator(sandbox)][0].fan.uuid
    with pytest.raises(NotFoundError):
        client.chats.messages(fan)


# ------------------------------------------------------------------------------------------ unread


def test_unread_counts_the_creators_inbox(sandbox: FanvueSandbox) -> None:
    creator = _creator(sandbox)
    chats = sandbox.world.chats[creator]
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as own:
        unread = own.chats.unread()
    assert_complete(unread)
    assert unread.unread_chats_count == sum(1 for c in chats if c.unread_messages_count)
    assert unread.unread_messages_count == sum(c.unread_messages_count for c in chats)
    assert unread.unread_chats_count > 0
    notes = unread.unread_notifications
    week = list(sandbox.world.iter_earnings(creator, NOW - timedelta(days=7), NOW))
    assert notes.new_subscriber == sum(1 for r in week if r.source == "subscription")
    assert notes.new_tip == sum(1 for r in week if r.source == "tip")
    assert notes.new_purchase == sum(1 for r in week if r.source in ("post", "message"))
    assert all(isinstance(v, int) and v >= 0 for v in notes.model_dump().values())


def test_unread_empty_fault_zeroes_the_counters(sandbox: FanvueSandbox) -> None:
    sandbox.inject("empty", route="/chats/unread")
    with sandbox.client(_creator(sandbox), retry=NO_RETRY, rate_limited=False) as own:
        unread = own.chats.unread()
    assert_complete(unread)
    assert unread.unread_messages_count == 0
    assert set(unread.unread_notifications.model_dump().values()) == {0}


# ------------------------------------------------------------------------------------------ messages


def test_messages_walk_is_complete_and_newest_first(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    for chat in sandbox.world.chats[creator][:4]:
        rows = _all_messages(client, chat.fan.uuid, creator, size=2)
        assert [m.uuid for m in rows] == [m.uuid for m in reversed(chat.messages)]
        sent = [m.sent_at for m in rows]
        assert sent == sorted(sent, key=lambda t: t.timestamp() if t else 0, reverse=True)
        parties = {(m.sender.uuid, m.recipient.uuid) for m in rows}
        assert parties <= {(chat.fan.uuid, creator), (creator, chat.fan.uuid)}
    priced = [
        m
        for chat in sandbox.world.chats[creator]
        for m in _all_messages(client, chat.fan.uuid, creator, size=50)
        if m.pricing is not None
    ]
    assert priced
    assert all(m.pricing and m.pricing.usd and m.pricing.usd.price.cents >= 300 for m in priced)


def test_no_conversation_is_404_with_a_message(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    world = sandbox.world
    creator = _creator(sandbox)
    silent_fan = world.creators[0].fans[-1].uuid  # only the first ten fans have a chat
    other_creators_fan = world.chats[_creator(sandbox, 1)][0].fan.uuid
    for fan in (silent_fan, other_creators_fan, _creator(sandbox, 2)):
        with pytest.raises(NotFoundError) as caught:
            client.chats.messages(fan, creator_uuid=creator)
        assert not isinstance(caught.value, CreatorNotAssignedError)
        assert caught.value.status_code == 404
        assert caught.value.body == {"message": NO_CONVERSATION}


def test_messages_bad_requests_are_400(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    fan = sandbox.world.chats[creator][0].fan.uuid
    with pytest.raises(BadRequestError) as caught:
        client.chats.messages("not-a-uuid", creator_uuid=creator)
    assert not isinstance(caught.value, ValidationError)
    assert set(caught.value.body) == {"message"}
    path = f"/creators/{creator}/chats/{fan}/messages"
    for params in ({"markAsRead": "maybe"}, {"size": 51}, {"page": -1}):
        with pytest.raises(ValidationError):
            client.request("GET", path, params=params)


def test_mark_as_read_marks_the_whole_conversation(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    creator = _creator(sandbox)
    unread_chat = next(c for c in sandbox.world.chats[creator] if c.unread_messages_count)
    fan = unread_chat.fan.uuid
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as own:
        before = own.chats.unread()
        client.chats.messages(fan, creator_uuid=creator, size=1, mark_as_read=False)
        assert own.chats.unread() == before
        flagged = client.chats.messages(fan, creator_uuid=creator, size=1, mark_as_read=True)
        assert not flagged.data[0].is_read  # the page that marks still shows the state it found
        after = own.chats.unread()
        assert after.unread_chats_count == before.unread_chats_count - 1
        expected = before.unread_messages_count - unread_chat.unread_messages_count
        assert after.unread_messages_count == expected
        row = next(r for r in own.chats.list(size=50).data if r.user.uuid == fan)
    assert (row.is_read, row.unread_messages_count) == (True, 0)
    assert all(m.is_read for m in client.chats.messages(fan, creator_uuid=creator, size=50).data)
    fresh = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))  # read state belongs to one sandbox
    with fresh.client(retry=NO_RETRY, rate_limited=False) as other:
        assert not other.chats.messages(fan, creator_uuid=creator, size=1).data[0].is_read


def test_mark_as_read_defaults_to_true_as_fanvue_documents(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    """Fanvue's spec gives ``markAsRead`` the default ``"true"``: a plain read marks the conversation. The SDK
    therefore always says which it wants, and says ``false`` unless asked (reading must not change an inbox)."""
    creator = _creator(sandbox)
    fan = next(c for c in sandbox.world.chats[creator] if c.unread_messages_count).fan.uuid
    path = f"/creators/{creator}/chats/{fan}/messages"
    client.chats.messages(fan, creator_uuid=creator, size=1)
    assert sandbox.requests[-1].query.endswith("markAsRead=false")
    assert not sandbox.world.chat_marked_read(creator, fan)
    client.request("GET", path, params={"size": 1})  # no markAsRead: Fanvue's default
    assert sandbox.world.chat_marked_read(creator, fan)
    other = next(c for c in sandbox.world.chats[creator] if c.unread_messages_count and c.fan.uuid != fan).fan.uuid
    client.request("GET", f"/creators/{creator}/chats/{other}/messages", params={"markAsRead": "false"})
    assert not sandbox.world.chat_marked_read(creator, other)


# ------------------------------------------------------------------------------------------ access, determinism


def test_a_team_member_without_access_gets_not_assigned(sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[-1].uuid  # sees only the first creator
    allowed, hidden = _creator(sandbox, 0), _creator(sandbox, 1)
    fan = sandbox.world.chats[hidden][0].fan.uuid
    with sandbox.client(member, retry=NO_RETRY, rate_limited=False) as chatter:
        assert chatter.chats.list(creator_uuid=allowed).data
        with pytest.raises(CreatorNotAssignedError):
            chatter.chats.list(creator_uuid=hidden)
        with pytest.raises(CreatorNotAssignedError):
            chatter.chats.messages(fan, creator_uuid=hidden)
        own = chatter.chats.unread()  # a team member has no inbox of their own
        assert (own.unread_chats_count, own.unread_messages_count) == (0, 0)


def test_same_seed_same_answers(sandbox: FanvueSandbox, client: FanvueClient) -> None:
    twin = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
    creator = _creator(sandbox, 2)
    fan = sandbox.world.chats[creator][0].fan.uuid
    paths = [f"/creators/{creator}/chats", f"/creators/{creator}/chats/{fan}/messages"]
    with twin.client(retry=NO_RETRY, rate_limited=False) as other:
        for path in paths:
            mine = client.request("GET", path, params={"size": 50}).json()
            assert mine == other.request("GET", path, params={"size": 50}).json()
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as a, twin.client(creator) as b:
        assert a.request("GET", "/chats/unread").json() == b.request("GET", "/chats/unread").json()


async def test_async_client_reads_the_same_inbox(
    sandbox: FanvueSandbox, client: FanvueClient, async_client: AsyncFanvueClient
) -> None:
    creator = _creator(sandbox)
    page = await async_client.chats.list(creator_uuid=creator, size=4)
    assert_complete(page, optional=AGENCY_ONLY)
    assert page == client.chats.list(creator_uuid=creator, size=4)
    fan = page.data[0].user.uuid
    messages = await async_client.chats.messages(fan, creator_uuid=creator)
    assert_complete(messages)
    assert messages == client.chats.messages(fan, creator_uuid=creator)
    with pytest.raises(NotFoundError):
        await async_client.chats.messages(sandbox.world.creators[0].fans[-1].uuid, creator_uuid=creator)
    unread = await async_client.chats.unread()
    assert_complete(unread)
