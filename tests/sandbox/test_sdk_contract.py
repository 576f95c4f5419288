"""The SDK contract, run against both backends: every resource method (and its ``iter_*`` walk) against the live
sandbox, and again against respx serving the sandbox's recorded answers. Both must give the same parsed result,
every answer must fill every field of the SDK's model, and every error must map to the same typed exception.

respx is how the SDK's own suite fakes Fanvue (``tests/fanvue``); the sandbox is how everything above the SDK
does. A difference between the two paths is a bug in one of them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from shapes import assert_complete

from conftest import NO_RETRY, NOW, SPEC
from onyx_fanvue import (
    AuthenticationError,
    CreatorNotAssignedError,
    FanvueClient,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsupportedAPIVersionError,
)
from onyx_fanvue.errors import APIStatusError, FanvueError, MalformedResponseError
from onyx_fanvue.resources._resource import SyncResource
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

OPTIONAL = ("messageUuid", "postUuid", "reversedTransactionOrderId")  # only on some rows (api doc §2.6)
CASE_OPTIONAL = {
    "users.me admin": ("likesCount", "fanCounts", "contentCounts"),  # creator stats: absent for an agency admin
    "chats.list": ("creatorUuid",),  # only the agency-wide /agencies/chats names the creator
    "chats.list mirror": ("creatorUuid",),
}


@dataclass(frozen=True)
class Ids:
    creator: str
    creator_handle: str
    fan: str
    chat_fan: str
    link: str
    post: str
    start: datetime
    end: datetime


def _ids(sandbox: FanvueSandbox) -> Ids:
    world = sandbox.world
    creator = world.creators[0]
    return Ids(
        creator=creator.uuid,
        creator_handle=creator.person.handle,
        fan=next(r.user.uuid for r in world.iter_earnings(creator.uuid) if r.user is not None),
        chat_fan=world.chats[creator.uuid][0].fan.uuid,
        link=world.links[creator.uuid][0].uuid,
        post=creator.post_uuids[0],
        start=world.end - timedelta(days=20),
        end=world.end,
    )


Call = Callable[[FanvueClient, Ids], Any]

# (name, who: "admin" | "creator", call)
CASES: list[tuple[str, str, Call]] = [
    ("users.me admin", "admin", lambda c, i: c.users.me()),
    ("users.me creator", "creator", lambda c, i: c.users.me()),
    ("users.account", "creator", lambda c, i: c.users.account()),
    ("users.account mirror", "admin", lambda c, i: c.users.account(creator_uuid=i.creator)),
    ("creators.list", "admin", lambda c, i: c.creators.list(size=2)),
    ("creators.iter_list", "admin", lambda c, i: list(c.creators.iter_list(size=1))),
    ("insights.earnings", "creator", lambda c, i: c.insights.earnings(start_date=i.start, end_date=i.end, size=5)),
    (
        "insights.iter_earnings mirror",
        "admin",
        lambda c, i: list(c.insights.iter_earnings(creator_uuid=i.creator, start_date=i.start, end_date=i.end, size=7)),
    ),
    (
        "insights.earnings sources",
        "admin",
        lambda c, i: c.insights.earnings(creator_uuid=i.creator, sources=["tip", "message"], size=10),
    ),
    (
        "insights.earnings_summary",
        "admin",
        lambda c, i: c.insights.earnings_summary(
            creator_uuid=i.creator, start_date=i.start, end_date=i.end, granularity="week", timezone="Europe/Berlin"
        ),
    ),
    ("insights.earnings_summary own", "creator", lambda c, i: c.insights.earnings_summary()),
    ("insights.iter_spending", "creator", lambda c, i: list(c.insights.iter_spending(size=3))),
    ("insights.spending refunds", "creator", lambda c, i: c.insights.spending(source="refund", size=2)),
    ("insights.subscribers", "creator", lambda c, i: c.insights.subscribers(start_date=i.start, size=4)),
    (
        "insights.iter_subscribers mirror",
        "admin",
        lambda c, i: list(
            c.insights.iter_subscribers(creator_uuid=i.creator, start_date=i.start, end_date=i.end, size=6)
        ),
    ),
    ("insights.top_spenders", "admin", lambda c, i: c.insights.top_spenders(creator_uuid=i.creator, size=5)),
    ("insights.fan", "creator", lambda c, i: c.insights.fan(i.fan)),
    ("insights.fans", "creator", lambda c, i: c.insights.fans([i.fan, "00000000-0000-4000-8000-000000000000"])),
    ("insights.earnings_percentile", "creator", lambda c, i: c.insights.earnings_percentile()),
    (
        "agencies.earnings",
        "admin",
        lambda c, i: c.agencies.earnings(start_date=i.start.date(), end_date=i.end.date(), size=10),
    ),
    (
        "agencies.subscribers_history",
        "admin",
        lambda c, i: c.agencies.subscribers_history(
            start_date=i.start, end_date=i.end, creator_uuids=[i.creator], size=10
        ),
    ),
    ("agencies.subscribers", "admin", lambda c, i: c.agencies.subscribers(size=5)),
    ("agencies.team_members", "admin", lambda c, i: c.agencies.team_members()),
    ("agencies.chatter_leaderboard", "admin", lambda c, i: c.agencies.chatter_leaderboard()),
    ("agencies.chats", "admin", lambda c, i: c.agencies.chats(size=4)),
    ("audience.subscribers", "creator", lambda c, i: c.audience.subscribers(size=3)),
    ("audience.followers", "creator", lambda c, i: c.audience.followers(size=3)),
    (
        "audience.iter_followers mirror",
        "admin",
        lambda c, i: list(c.audience.iter_followers(creator_uuid=i.creator, size=4)),
    ),
    (
        "audience.iter_subscribers mirror",
        "admin",
        lambda c, i: list(c.audience.iter_subscribers(creator_uuid=i.creator, size=4)),
    ),
    ("audience.smart_lists", "admin", lambda c, i: c.audience.smart_lists(creator_uuid=i.creator)),
    ("chats.list", "creator", lambda c, i: c.chats.list(size=3)),
    ("chats.list mirror", "admin", lambda c, i: c.chats.list(creator_uuid=i.creator, size=3)),
    ("chats.unread", "creator", lambda c, i: c.chats.unread()),
    ("chats.messages mirror", "admin", lambda c, i: c.chats.messages(i.chat_fan, creator_uuid=i.creator, size=2)),
    (
        "tracking_links.iter_list mirror",
        "admin",
        lambda c, i: list(c.tracking_links.iter_list(creator_uuid=i.creator, limit=1)),
    ),
    ("tracking_links.list", "creator", lambda c, i: c.tracking_links.list()),
    ("tracking_links.users", "admin", lambda c, i: c.tracking_links.users(i.link, creator_uuid=i.creator)),
    (
        "tracking_links.create+delete",
        "admin",
        lambda c, i: (
            c.tracking_links.create(name="contract", platform="tiktok", creator_uuid=i.creator).name,
            c.tracking_links.delete(i.link, creator_uuid=i.creator),
        ),
    ),
    ("posts.list", "creator", lambda c, i: c.posts.list(size=4)),
    ("posts.iter_list mirror", "admin", lambda c, i: list(c.posts.iter_list(creator_uuid=i.creator, size=20))),
    ("posts.get", "creator", lambda c, i: c.posts.get(i.post)),
]


@dataclass
class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and keeps every exchange, for respx to serve again."""

    inner: httpx.BaseTransport
    exchanges: dict[tuple[str, str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        self.exchanges[(request.method, str(request.url), request.content)] = (
            response.status_code,
            response.headers.raw,
            body,
        )
        return httpx.Response(response.status_code, headers=response.headers.raw, content=body, request=request)

    def close(self) -> None:
        self.inner.close()


def _who(sandbox: FanvueSandbox, who: str, ids: Ids) -> str:
    return sandbox.admin if who == "admin" else ids.creator


def _complete(value: Any, optional: tuple[str, ...]) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _complete(item, optional)
    elif value is not None and not isinstance(value, str):
        assert_complete(value, optional=optional)


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except FanvueError as error:
        status = error.status_code if isinstance(error, APIStatusError) else None
        return (type(error).__name__, status, str(error))


Exchanges = dict[tuple[str, str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]]


def _live(sandbox: FanvueSandbox, token: str, call: Call, ids: Ids) -> tuple[Any, Exchanges]:
    """The call against the sandbox, and every exchange it made."""
    exchanges: Exchanges = {}
    with FanvueClient(token, transport=Recorder(sandbox.sync_transport(), exchanges), retry=NO_RETRY) as client:
        outcome = _outcome(lambda: call(client, ids))
    assert exchanges, "the call made no request"
    return outcome, exchanges


def _replayed(exchanges: Exchanges, token: str, call: Call, ids: Ids) -> Any:
    """The same call against respx serving the recorded exchanges (an unrecorded request fails the test)."""

    def serve(request: httpx.Request) -> httpx.Response:
        status, headers, body = exchanges[(request.method, str(request.url), request.content)]
        return httpx.Response(status, headers=headers, content=body)

    with respx.mock(assert_all_called=False) as router, FanvueClient(token, retry=NO_RETRY) as client:
        router.route().mock(side_effect=serve)
        return _outcome(lambda: call(client, ids))


@pytest.mark.parametrize(("name", "who", "call"), [pytest.param(n, w, c, id=n) for n, w, c in CASES])
def test_every_method_agrees_on_both_backends(sandbox: FanvueSandbox, name: str, who: str, call: Call) -> None:
    ids = _ids(sandbox)
    token = sandbox.token(_who(sandbox, who, ids))
    live, exchanges = _live(sandbox, token, call, ids)
    assert all(200 <= status < 300 for status, _, _ in exchanges.values()), live
    assert _replayed(exchanges, token, call, ids) == live
    _complete(live, OPTIONAL + CASE_OPTIONAL.get(name, ()))


def test_the_contract_covers_every_resource_method() -> None:
    covered = set()
    for name, _, _ in CASES:
        resource, methods = name.split(" ")[0].split(".", 1)
        covered |= {f"{resource}.{m}" for m in methods.split("+")}
    with FanvueClient("unused") as client:
        public = {
            f"{attr}.{method}"
            for attr, resource in vars(client).items()
            if isinstance(resource, SyncResource)
            for method, _ in inspect.getmembers(type(resource), inspect.isfunction)
            if not method.startswith("_")
        }
    assert public - covered == set()


ERRORS: list[tuple[str, Callable[[FanvueSandbox, Ids], str], Call, type[FanvueError]]] = []


def _error_case(name: str, exc: type[FanvueError]) -> Callable[[Callable[[FanvueSandbox, Ids], str]], Any]:
    def add(setup: Callable[[FanvueSandbox, Ids], str]) -> Any:
        ERRORS.append((name, setup, lambda c, i: c.users.account(creator_uuid=i.creator), exc))
        return setup

    return add


def _admin(sandbox: FanvueSandbox, _: Ids) -> str:
    return sandbox.token()


@_error_case("401 expired", AuthenticationError)
def _expired(sandbox: FanvueSandbox, ids: Ids) -> str:
    token = sandbox.token()
    sandbox.advance(3600)
    return token


@_error_case("403 scope", PermissionDeniedError)
def _scope(sandbox: FanvueSandbox, ids: Ids) -> str:
    return sandbox.token(scopes=("read:self",))


@_error_case("404 not assigned", CreatorNotAssignedError)
def _unassigned(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.unassign(sandbox.admin, ids.creator)
    return sandbox.token()


@_error_case("429 storm", RateLimitError)
def _storm(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.inject("rate_limit", retry_after=9)
    return sandbox.token()


@_error_case("500", ServerError)
def _error500(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.inject("error", status=500)
    return sandbox.token()


@_error_case("502 html", ServerError)
def _error502(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.inject("error", status=502)
    return sandbox.token()


@_error_case("malformed", MalformedResponseError)
def _malformed(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.inject("malformed")
    return sandbox.token()


@_error_case("version", UnsupportedAPIVersionError)
def _version(sandbox: FanvueSandbox, ids: Ids) -> str:
    sandbox.api_versions = ("2099-01-01",)
    return sandbox.token()


@pytest.mark.parametrize(("setup", "call", "exc"), [pytest.param(s, c, e, id=n) for n, s, c, e in ERRORS])
def test_every_error_maps_to_the_same_exception_on_both_backends(
    sandbox: FanvueSandbox, setup: Callable[[FanvueSandbox, Ids], str], call: Call, exc: type[FanvueError]
) -> None:
    ids = _ids(sandbox)
    token = setup(sandbox, ids)
    live, exchanges = _live(sandbox, token, call, ids)
    assert isinstance(live, tuple), live
    assert live[0] == exc.__name__
    assert _replayed(exchanges, token, call, ids) == live


def test_same_seed_same_answers_everywhere() -> None:
    """Two sandboxes built from one seed answer every read in the contract byte for byte alike."""
    bodies: list[list[bytes]] = []
    for _ in range(2):
        sandbox = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW))
        ids = _ids(sandbox)
        seen: list[bytes] = []
        for name, who, call in CASES:
            if "create" in name:
                continue
            _, exchanges = _live(sandbox, sandbox.token(_who(sandbox, who, ids)), call, ids)
            seen += [body for _, (_, _, body) in sorted(exchanges.items())]
        bodies.append(seen)
    assert bodies[0] == bodies[1]
    assert len(bodies[0]) > len(CASES)
