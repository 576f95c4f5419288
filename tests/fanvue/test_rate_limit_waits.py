"""How long a request may be held back by Fanvue's rate limit, and which header decides (docs/sdk.md).

* On a 429, ``Retry-After`` wins: the refused request, and every later call on its bucket, may go again after
  ``Retry-After``, whatever the same answer's ``X-RateLimit-Remaining: 0`` / ``X-RateLimit-Reset`` say; without a
  ``Retry-After``, the 429's reset stands in for it.
* On any other answer ``X-RateLimit-Remaining: 0`` paces the bucket until ``X-RateLimit-Reset``.
* No request ever sleeps out a 429 longer than it may: ``RetryPolicy.max_wait`` per request, and a caller's
  :class:`~onyx_fanvue.ratelimit.WaitBudget` shared by every request in its scope. A wait that does not fit raises
  :class:`RateLimitError` at once, with ``retry_after`` saying when to come back.

Time is fake: the rate budget's clocks and every sleep (pacing and retries) move one counter, so the tests see the
waits exactly and take no time. Each test runs the sync and the async client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from onyx_fanvue import AsyncFanvueClient, FanvueClient, RateBudget, RetryPolicy
from onyx_fanvue.errors import RateLimitError
from onyx_fanvue.ratelimit import WaitBudget

API = "https://api.fanvue.com"
TOKEN = "secret-access-token-123"
ME = {
    "uuid": "u",
    "email": "e",
    "handle": "h",
    "bio": "",
    "displayName": "d",
    "isCreator": False,
    "createdAt": "2025-01-01T00:00:00Z",
}
EMPTY_PAGE = {"data": [], "nextCursor": None}
WALL = 1_800_000_000.0


class FakeTime:
    """One clock for the rate budget (monotonic and wall) and every sleep of the client."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    @property
    def slept(self) -> float:
        return sum(self.sleeps)


Caller = Callable[[Callable[[Any], Any]], Any]
"""Runs ``use(client)`` on a fresh client (sync or async) and returns what it returned."""


def _budget(fake: FakeTime) -> RateBudget:
    return RateBudget(clock=fake.monotonic, wall_clock=fake.wall, sleep=fake.sleep, async_sleep=fake.async_sleep)


def _sync_caller(fake: FakeTime, **options: Any) -> Caller:
    def run(use: Callable[[Any], Any]) -> Any:
        with FanvueClient(access_token=TOKEN, rate_budget=_budget(fake), sleep=fake.sleep, **options) as client:
            return use(client)

    return run


def _async_caller(fake: FakeTime, **options: Any) -> Caller:
    def run(use: Callable[[Any], Any]) -> Any:
        async def main() -> Any:
            budget = _budget(fake)
            async with AsyncFanvueClient(
                access_token=TOKEN, rate_budget=budget, sleep=fake.async_sleep, **options
            ) as client:
                result = use(client)
                while asyncio.iscoroutine(result):
                    result = await result
                return result

        return asyncio.run(main())

    return run


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def caller(flavour: str, fake: FakeTime, **options: Any) -> Caller:
    return (_sync_caller if flavour == "sync" else _async_caller)(fake, **options)


def too_many(fake: FakeTime, *, retry_after: float | None, reset_in: float | None) -> httpx.Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if reset_in is not None:
        headers |= {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(fake.wall() + reset_in)),
        }
    return httpx.Response(429, json={"error": "Too Many Requests"}, headers=headers)


def me(client: Any) -> Any:
    return client.users.me()


def twice(client: Any) -> Any:
    """Two calls on the same bucket, the first of which may fail."""
    if isinstance(client, FanvueClient):
        with contextlib.suppress(RateLimitError):
            client.users.me()
        return client.users.me()

    async def both() -> Any:
        with contextlib.suppress(RateLimitError):
            await client.users.me()
        return await client.users.me()

    return both()


# ------------------------------------------------------------------------------------------------ precedence


@respx.mock
def test_a_429s_retry_after_wins_over_a_later_reset(flavour: str) -> None:
    """Retry-After 1 s with the window reset 60 s away: the refused request goes again after 1 s, not 60."""
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(
        side_effect=lambda _: (
            too_many(fake, retry_after=1, reset_in=60) if fake.now < 0.5 else httpx.Response(200, json=ME)
        )
    )
    caller(flavour, fake)(me)
    assert route.call_count == 2
    assert 1 <= fake.slept < 5, fake.sleeps


@respx.mock
def test_a_429s_retry_after_wins_over_an_earlier_reset(flavour: str) -> None:
    """Retry-After 20 s with the window reset in 5 s: the refused request waits the 20 s Fanvue asked for."""
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(
        side_effect=lambda _: (
            too_many(fake, retry_after=20, reset_in=5) if fake.now < 0.5 else httpx.Response(200, json=ME)
        )
    )
    caller(flavour, fake)(me)
    assert route.call_count == 2
    assert 20 <= fake.slept < 30, fake.sleeps


@respx.mock
def test_while_a_refused_request_is_retried_its_bucket_waits_retry_after_not_the_reset(flavour: str) -> None:
    """The retry succeeds, so nothing closes the bucket: the next call goes at once."""
    fake = FakeTime()
    answers = iter(
        [too_many(fake, retry_after=1, reset_in=60), httpx.Response(200, json=ME), httpx.Response(200, json=ME)]
    )
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: next(answers))
    caller(flavour, fake)(twice)
    assert route.call_count == 3
    assert fake.sleeps == [pytest.approx(1.0)]


@respx.mock
def test_a_request_still_refused_when_it_gives_up_closes_its_bucket_until_the_reset(flavour: str) -> None:
    """Retry-After 1 s, window reset in 60 s, and every retry refused too: after giving up, later calls on that
    bucket wait for the reset instead of asking again every second (or, when that does not fit, fail unsent)."""
    fake = FakeTime()
    answers = iter(
        [*(too_many(fake, retry_after=1, reset_in=60 - fake.now) for _ in range(3)), httpx.Response(200, json=ME)]
    )
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: next(answers))
    caller(flavour, fake)(twice)
    assert route.call_count == 4
    assert fake.sleeps[:2] == [pytest.approx(1.0, abs=1.0), pytest.approx(1.0, abs=1.0)]  # the 429's own retries
    assert fake.slept == pytest.approx(60.0)  # then the next call waited for the window's reset


@respx.mock
def test_a_closed_bucket_that_does_not_fit_the_allowance_fails_the_next_call_unsent(flavour: str) -> None:
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: too_many(fake, retry_after=1, reset_in=60))
    with WaitBudget(5), pytest.raises(RateLimitError) as raised:
        caller(flavour, fake)(twice)
    assert route.call_count == 3  # the second call was not sent
    assert "not sent" in str(raised.value)
    assert raised.value.retry_after == pytest.approx(60.0, abs=1.0)  # until the reset the last 429 announced


@respx.mock
def test_a_429_without_retry_after_waits_for_its_reset(flavour: str) -> None:
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(
        side_effect=lambda _: (
            too_many(fake, retry_after=None, reset_in=12) if fake.now < 0.5 else httpx.Response(200, json=ME)
        )
    )
    caller(flavour, fake)(me)
    assert route.call_count == 2
    assert 12 <= fake.slept < 20, fake.sleeps


@respx.mock
def test_remaining_zero_on_a_success_paces_the_next_call_until_the_reset(flavour: str) -> None:
    """Pacing is not a refusal: even with no wait allowed for 429s, the next call waits for the reset (once)."""
    fake = FakeTime()
    paced = httpx.Response(
        200,
        json=ME,
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(WALL) + 30)},
    )
    answers = iter([paced, httpx.Response(200, json=ME)])
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: next(answers))
    with WaitBudget(0):
        caller(flavour, fake)(twice)
    assert route.call_count == 2
    assert fake.sleeps == [pytest.approx(30.0)]


# ------------------------------------------------------------------------------------------------ the bound


@respx.mock
def test_a_retry_after_longer_than_the_request_may_wait_raises_at_once(flavour: str) -> None:
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: too_many(fake, retry_after=3600, reset_in=60))
    with pytest.raises(RateLimitError) as raised:
        caller(flavour, fake, retry=RetryPolicy(max_wait=60))(me)
    assert route.call_count == 1
    assert fake.sleeps == []
    assert raised.value.retry_after == 3600


@respx.mock
def test_a_storm_holds_one_request_at_most_max_wait(flavour: str) -> None:
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: too_many(fake, retry_after=4, reset_in=60))
    with pytest.raises(RateLimitError) as raised:
        caller(flavour, fake, retry=RetryPolicy(max_retries=10, max_wait=10))(me)
    assert fake.slept <= 10
    assert route.call_count == 3  # two waits of 4 s fit in 10, a third does not
    assert raised.value.retry_after == 4


@respx.mock
def test_a_wait_budget_is_shared_by_the_calls_in_its_scope(flavour: str) -> None:
    """A storm answering Retry-After 2: the first call retries twice (4 s of the 5 s) and gives up, which closes
    its bucket until the window's reset; the next call would wait for that, more than the 1 s left, and raises
    without sending anything."""
    fake = FakeTime()
    route = respx.get(f"{API}/users/me").mock(side_effect=lambda _: too_many(fake, retry_after=2, reset_in=60))
    with WaitBudget(5) as budget, pytest.raises(RateLimitError) as raised:
        caller(flavour, fake)(twice)
    assert route.call_count == 3
    assert fake.slept == pytest.approx(4.0)
    assert budget.spent == pytest.approx(4.0)
    assert raised.value.retry_after == pytest.approx(60.0, abs=1.0)  # until the reset the last 429 announced
    assert "not sent" in str(raised.value)


@respx.mock
def test_a_refused_bucket_never_holds_another_bucket(flavour: str) -> None:
    """Creator c-1 is refused for 30 s; creator c-2's calls (another Fanvue bucket) neither wait nor fail."""
    fake = FakeTime()
    refused = respx.get(f"{API}/creators/c-1/insights/earnings").mock(
        side_effect=lambda _: too_many(fake, retry_after=30, reset_in=60)
    )
    other = respx.get(f"{API}/creators/c-2/insights/earnings").respond(200, json=EMPTY_PAGE)

    def both(client: Any) -> Any:
        if isinstance(client, FanvueClient):
            with pytest.raises(RateLimitError):
                client.insights.earnings(creator_uuid="c-1")
            return [client.insights.earnings(creator_uuid="c-2") for _ in range(3)]

        async def run() -> Any:
            with pytest.raises(RateLimitError):
                await client.insights.earnings(creator_uuid="c-1")
            return [await client.insights.earnings(creator_uuid="c-2") for _ in range(3)]

        return run()

    with WaitBudget(10):
        caller(flavour, fake)(both)
    assert refused.call_count == 1
    assert other.call_count == 3
    assert fake.sleeps == []


@respx.mock
async def test_while_one_bucket_sits_out_a_429_another_buckets_calls_go_on() -> None:
    """Call order, not speed: creator c-2's calls start once c-1 sits out its 429, and c-1's wait lasts until they
    are all done. Had c-2 waited on c-1's bucket, its own wait would hang on the same gate: the test times out."""
    fake = FakeTime()
    order: list[str] = []
    sitting_out, others_done = asyncio.Event(), asyncio.Event()

    async def gated_sleep(seconds: float) -> None:
        sitting_out.set()
        await asyncio.wait_for(others_done.wait(), timeout=5)
        fake.sleep(seconds)  # time moves when the wait ends

    def answer(creator: str) -> Callable[[httpx.Request], httpx.Response]:
        def respond(_: httpx.Request) -> httpx.Response:
            order.append(creator)
            if creator == "c-1" and order.count("c-1") == 1:
                return too_many(fake, retry_after=30, reset_in=60)
            return httpx.Response(200, json=EMPTY_PAGE)

        return respond

    respx.get(f"{API}/creators/c-1/insights/earnings").mock(side_effect=answer("c-1"))
    respx.get(f"{API}/creators/c-2/insights/earnings").mock(side_effect=answer("c-2"))
    budget = RateBudget(clock=fake.monotonic, wall_clock=fake.wall, async_sleep=gated_sleep)
    async with AsyncFanvueClient(access_token=TOKEN, rate_budget=budget, sleep=gated_sleep) as client:

        async def others() -> None:
            await sitting_out.wait()
            for _ in range(3):
                await client.insights.earnings(creator_uuid="c-2")
            others_done.set()

        await asyncio.gather(client.insights.earnings(creator_uuid="c-1"), others())
    assert order == ["c-1", "c-2", "c-2", "c-2", "c-1"]
    assert fake.sleeps == [pytest.approx(30.0)]
