"""The clients' request core against respx: headers, paths, params, errors, retries, paging, hooks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
import respx

from onyx_fanvue import AsyncFanvueClient, BearerToken, FanvueClient, RateBudget, RetryPolicy
from onyx_fanvue.errors import (
    AuthenticationError,
    BadRequestError,
    CreatorNotAssignedError,
    FanvueError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SunsetAPIVersionError,
    TimeoutError,
    TransportError,
    UnsupportedAPIVersionError,
    ValidationError,
)
from onyx_fanvue.pagination import PaginationError

API = "https://api.fanvue.com"
TOKEN = "secret-access-token-123"
EARNING = {
    "date": "2026-05-01T10:00:00Z",
    "gross": 1500,
    "net": 1200,
    "currency": "USD",
    "source": "tip",
    "transactionOrderId": "FV-ORDER-1",
    "transactionOrderStatus": "availableForPayout",
    "user": {"uuid": "fan-1", "handle": "fan", "displayName": "Fan", "nickname": None, "isTopSpender": False},
}
CREATOR = {
    "uuid": "c-1",
    "handle": "luna",
    "displayName": "Luna",
    "nickname": None,
    "isTopSpender": False,
    "avatarUrl": None,
    "registeredAt": "2025-01-01T00:00:00Z",
}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class AsyncSleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(**kwargs) -> FanvueClient:
    kwargs.setdefault("sleep", Sleeps())
    return FanvueClient(access_token=TOKEN, **kwargs)


@respx.mock
def test_every_call_sends_the_version_header_auth_and_user_agent():
    route = respx.get(f"{API}/creators").respond(
        200, json={"data": [CREATOR], "pagination": {"page": 1, "size": 1, "hasMore": False}}
    )
    with client() as fanvue:
        page = fanvue.creators.list(page=1, size=1)
    request = route.calls.last.request
    assert request.headers["X-Fanvue-API-Version"] == "2025-06-26"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("onyx-fanvue")
    assert request.url.params["page"] == "1"
    assert page.data[0].display_name == "Luna"


@respx.mock
def test_the_api_version_is_configurable():
    route = respx.get(f"{API}/users/me").respond(
        200,
        json={
            "uuid": "u",
            "email": "e",
            "handle": "h",
            "bio": "",
            "displayName": "d",
            "isCreator": False,
            "createdAt": "2025-01-01T00:00:00Z",
        },
    )
    with client(api_version="2027-01-01") as fanvue:
        fanvue.users.me()
    assert route.calls.last.request.headers["X-Fanvue-API-Version"] == "2027-01-01"


@respx.mock
def test_creator_scoped_paths_and_comma_joined_arrays():
    route = respx.get(f"{API}/creators/c-1/insights/earnings").respond(
        200, json={"data": [EARNING], "nextCursor": None}
    )
    with client() as fanvue:
        page = fanvue.insights.earnings(
            creator_uuid="c-1",
            start_date=datetime(2026, 5, 1, tzinfo=UTC),
            end_date=date(2026, 5, 2),
            sources=["tip", "message"],
            size=50,
        )
    params = route.calls.last.request.url.params
    assert params["source"] == "tip,message"
    assert params["startDate"] == "2026-05-01T00:00:00+00:00"
    assert params["endDate"] == "2026-05-02"
    assert params["size"] == "50"
    assert "cursor" not in params
    row = page.data[0]
    assert (row.gross.cents, row.net.cents, row.source) == (1500, 1200, "tip")


def test_naive_datetimes_are_refused_before_any_request():
    with client() as fanvue, pytest.raises(ValueError, match="timezone-aware"):
        fanvue.insights.earnings(start_date=datetime(2026, 5, 1))


def test_path_ids_cannot_escape_their_segment():
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=r".*").respond(200, json={"data": [], "nextCursor": None})
        with client() as fanvue:
            fanvue.insights.earnings(creator_uuid="../users/me?x=1")
        assert route.calls.last.request.url.raw_path.startswith(b"/creators/..%2Fusers%2Fme%3Fx%3D1/insights")


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            400,
            {"error": "Unsupported API version", "message": "Use 2025-06-26"},
            UnsupportedAPIVersionError,
            "Unsupported",
        ),
        (400, {"errors": ["startDate must be a date", "size too big"]}, ValidationError, "size too big"),
        (400, {"message": "Invalid UUID"}, BadRequestError, "Invalid UUID"),
        (401, {"error": "Unauthorized"}, AuthenticationError, "Unauthorized"),
        (403, {"error": "Forbidden"}, PermissionDeniedError, "Forbidden"),
        (404, {"message": "Creator not found or not assigned to team member"}, CreatorNotAssignedError, "not assigned"),
        (404, {"message": "Not found"}, NotFoundError, "Not found"),
        (410, {"error": "Gone", "message": "sunset", "nextVersion": "2026-01-01"}, SunsetAPIVersionError, "sunset"),
        (418, "I'm a teapot", FanvueError, "teapot"),
    ],
)
@respx.mock
def test_every_error_shape_maps_to_its_type(status, body, error, text):
    kwargs = {"json": body} if not isinstance(body, str) else {"text": body}
    respx.get(f"{API}/users/me").respond(status, **kwargs)
    with client() as fanvue, pytest.raises(error) as raised:
        fanvue.users.me()
    assert text in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert raised.value.status_code == status  # type: ignore[attr-defined]
    if error is ValidationError:
        assert raised.value.errors == ["startDate must be a date", "size too big"]  # type: ignore[attr-defined]
    if error is SunsetAPIVersionError:
        assert raised.value.next_version == "2026-01-01"  # type: ignore[attr-defined]


@respx.mock
def test_429_is_retried_after_retry_after_then_succeeds():
    sleeps = Sleeps()
    route = respx.get(f"{API}/chats/unread").mock(
        side_effect=[
            httpx.Response(429, json={"error": "Too Many Requests"}, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"unreadChatsCount": 1, "unreadMessagesCount": 2, "unreadNotifications": {}}),
        ]
    )
    with client(sleep=sleeps) as fanvue:
        counts = fanvue.chats.unread()
    assert route.call_count == 2
    assert sleeps[0] >= 2
    assert counts.unread_messages_count == 2


@respx.mock
def test_retries_are_bounded_and_the_last_error_is_raised():
    sleeps = Sleeps()
    route = respx.get(f"{API}/users/me").respond(503, json={"error": "Service Unavailable"})
    with client(sleep=sleeps, retry=RetryPolicy(max_retries=3)) as fanvue, pytest.raises(ServerError):
        fanvue.users.me()
    assert route.call_count == 4
    assert len(sleeps) == 3
    assert all(0 <= s <= RetryPolicy().max_delay for s in sleeps)


@respx.mock
def test_retries_can_be_switched_off():
    route = respx.get(f"{API}/users/me").respond(500)
    with client(retry=RetryPolicy(max_retries=0)) as fanvue, pytest.raises(ServerError):
        fanvue.users.me()
    assert route.call_count == 1


@respx.mock
def test_a_non_idempotent_request_is_not_retried_on_5xx_or_after_sending():
    route = respx.post(f"{API}/tracking-links").respond(502)
    with client() as fanvue, pytest.raises(ServerError):
        fanvue.tracking_links.create(name="insta", platform="instagram")
    assert route.call_count == 1
    timeout = respx.post(f"{API}/creators/c-1/tracking-links").mock(side_effect=httpx.ReadTimeout("slow"))
    with client() as fanvue, pytest.raises(TimeoutError) as raised:
        fanvue.tracking_links.create(name="insta", platform="instagram", creator_uuid="c-1")
    assert timeout.call_count == 1
    assert raised.value.sent


@respx.mock
def test_transport_errors_are_typed_and_retried_for_reads():
    route = respx.get(f"{API}/users/me").mock(side_effect=httpx.ConnectError("refused"))
    with client() as fanvue, pytest.raises(TransportError) as raised:
        fanvue.users.me()
    assert route.call_count == 3
    assert not raised.value.sent


@respx.mock
def test_a_2xx_with_the_wrong_shape_is_a_typed_error_not_an_empty_result():
    respx.get(f"{API}/insights/earnings").respond(200, json={"data": [{**EARNING, "gross": 9.99}], "nextCursor": None})
    with client() as fanvue, pytest.raises(MalformedResponseError):
        fanvue.insights.earnings()
    respx.get(f"{API}/creators").respond(200, text="<html>oops</html>")
    with client() as fanvue, pytest.raises(MalformedResponseError):
        fanvue.creators.list()


@respx.mock
def test_cursor_paging_follows_next_cursor_and_can_resume():
    pages = {
        None: {"data": [EARNING, EARNING], "nextCursor": "c2"},
        "c2": {"data": [EARNING], "nextCursor": "c3"},
        "c3": {"data": [EARNING], "nextCursor": None},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    route = respx.get(f"{API}/insights/earnings").mock(side_effect=answer)
    with client() as fanvue:
        assert len(list(fanvue.insights.iter_earnings(size=2))) == 4
        assert route.call_count == 3
        resumed = fanvue.insights.iter_earnings(cursor="c3")
        assert len(list(resumed)) == 1
        assert resumed.done
        assert resumed.cursor is None


@respx.mock
def test_page_paging_stops_on_has_more_false_and_on_an_empty_page():
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(
            200,
            json={
                "data": [CREATOR] * (2 if page < 3 else 1),
                "pagination": {"page": page, "size": 2, "hasMore": page < 3},
            },
        )

    route = respx.get(f"{API}/creators").mock(side_effect=answer)
    with client() as fanvue:
        assert len(list(fanvue.creators.iter_list(size=2))) == 5
    assert route.call_count == 3

    respx.get(f"{API}/posts").respond(200, json={"data": [], "pagination": {"page": 1, "size": 0, "hasMore": True}})
    with client() as fanvue:
        assert list(fanvue.posts.iter_list()) == []


@respx.mock
def test_paging_guards_against_endless_and_looping_servers():
    respx.get(f"{API}/insights/earnings").mock(
        side_effect=lambda r: httpx.Response(
            200, json={"data": [EARNING], "nextCursor": f"n{r.url.params.get('cursor', '0')}x"}
        )
    )
    with client() as fanvue:
        iterator = fanvue.insights.iter_earnings(max_pages=3)
        with pytest.raises(PaginationError):
            list(iterator)
        assert iterator.cursor is not None, "a guarded iteration can be resumed"
    respx.get(f"{API}/tracking-links").respond(200, json={"data": [], "nextCursor": "same"})
    with client() as fanvue, pytest.raises(PaginationError, match="repeated"):
        list(fanvue.tracking_links.iter_list(cursor="same"))


@respx.mock
def test_hooks_see_every_attempt_without_the_token():
    events = []
    respx.get(f"{API}/users/me").mock(
        side_effect=[httpx.Response(500), httpx.Response(401, json={"error": "Unauthorized"})]
    )
    with client(hooks=[events.append]) as fanvue, pytest.raises(AuthenticationError):
        fanvue.users.me()
    assert [(e.attempt, e.status_code, e.error) for e in events] == [
        (1, 500, "ServerError"),
        (2, 401, "AuthenticationError"),
    ]
    assert all(TOKEN not in repr(e) for e in events)
    assert events[0].request_headers["authorization"] == "[redacted]"


@respx.mock
def test_the_raw_request_escape_hatch_gets_headers_errors_and_retries():
    route = respx.get(f"{API}/notifications").respond(
        200, json={"data": [], "pagination": {"page": 1, "size": 0, "hasMore": False}}
    )
    with client() as fanvue:
        response = fanvue.request("GET", "/notifications", params={"eventType": 3})
    assert response.json()["data"] == []
    assert route.calls.last.request.headers["X-Fanvue-API-Version"] == "2025-06-26"
    respx.get(f"{API}/vault/folders").respond(403, json={"error": "Forbidden"})
    with client() as fanvue, pytest.raises(PermissionDeniedError):
        fanvue.request("GET", "/vault/folders")


@respx.mock
async def test_the_async_client_has_the_same_surface():
    sleeps = AsyncSleeps()
    pages = {None: {"data": [EARNING], "nextCursor": "c2"}, "c2": {"data": [EARNING], "nextCursor": None}}
    respx.get(f"{API}/creators/c-1/insights/earnings").mock(
        side_effect=lambda r: httpx.Response(200, json=pages[r.url.params.get("cursor")])
    )
    respx.get(f"{API}/chats/unread").mock(
        side_effect=[
            httpx.Response(429, json={"error": "Too Many Requests"}, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"unreadChatsCount": 0, "unreadMessagesCount": 0, "unreadNotifications": {}}),
        ]
    )
    async with AsyncFanvueClient(access_token=TOKEN, sleep=sleeps) as fanvue:
        rows = [row async for row in fanvue.insights.iter_earnings(creator_uuid="c-1")]
        assert len(rows) == 2
        await fanvue.chats.unread()
    assert sleeps[0] >= 3


def test_access_token_and_auth_are_exclusive_and_repr_hides_the_token():
    with pytest.raises(ValueError, match="either"):
        FanvueClient(access_token=TOKEN, auth=BearerToken(TOKEN))
    assert TOKEN not in repr(BearerToken(TOKEN))


def test_errors_are_one_family():
    for error in (
        UnsupportedAPIVersionError,
        CreatorNotAssignedError,
        RateLimitError,
        TimeoutError,
        MalformedResponseError,
    ):
        assert issubclass(error, FanvueError)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_800_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


ME = {
    "uuid": "u",
    "email": "e",
    "handle": "h",
    "bio": "",
    "displayName": "d",
    "isCreator": False,
    "createdAt": "2025-01-01T00:00:00Z",
}


@respx.mock
def test_an_exhausted_server_budget_makes_the_next_call_wait_for_the_reset():
    fake = FakeTime()
    budget = RateBudget(clock=fake.monotonic, wall_clock=fake.wall, sleep=fake.sleep)
    reset = int(fake.wall()) + 30
    respx.get(f"{API}/users/me").respond(
        200,
        json=ME,
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    with client(rate_budget=budget) as fanvue:
        fanvue.users.me()
        assert fake.sleeps == []
        fanvue.users.me()
    assert 29 <= sum(fake.sleeps) <= 31


@respx.mock
def test_creators_have_their_own_buckets():
    fake = FakeTime()
    budget = RateBudget(capacity=1, period=60, clock=fake.monotonic, wall_clock=fake.wall, sleep=fake.sleep)
    respx.get(url__regex=rf"{API}/creators/c-\d/insights/earnings").respond(200, json={"data": [], "nextCursor": None})
    with client(rate_budget=budget) as fanvue:
        fanvue.insights.earnings(creator_uuid="c-1")
        fanvue.insights.earnings(creator_uuid="c-2")
        assert fake.sleeps == [], "two creators, two buckets"
        fanvue.insights.earnings(creator_uuid="c-1")
    assert sum(fake.sleeps) >= 59


@respx.mock
def test_a_bare_string_is_one_value_not_a_list_of_characters():
    earnings = respx.get(f"{API}/insights/earnings").respond(200, json={"data": [], "nextCursor": None})
    fans = respx.get(f"{API}/insights/fans").respond(200, json={"results": {}, "errors": []})
    agency = respx.get(f"{API}/agencies/subscribers").respond(
        200, json={"data": [], "pagination": {"page": 1, "size": 0, "hasMore": False}}
    )
    uuid = "0b6c6c36-4b8e-4c8f-9a43-0d0c9b1c2d3e"
    with client() as fanvue:
        fanvue.insights.earnings(sources="tip")
        fanvue.insights.fans(uuid)
        fanvue.agencies.subscribers(creator_uuids="c-1")
    assert earnings.calls.last.request.url.params["source"] == "tip"
    assert fans.calls.last.request.url.params["fanUuids"] == uuid
    assert agency.calls.last.request.url.params["creatorUuids"] == "c-1"


def test_list_limits_are_checked_before_sending():
    with client() as fanvue:
        with pytest.raises(ValueError, match="at most 100 chatter"):
            fanvue.agencies.chatter_leaderboard(chatter_uuids=[f"u{n}" for n in range(101)])
        with pytest.raises(ValueError, match="at least one"):
            fanvue.insights.fans([])
