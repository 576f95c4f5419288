"""``RefreshingAuth`` against a respx Fanvue whose token endpoint rotates refresh tokens and answers reuse with
``invalid_grant`` (Ory with grace period 0): single-flight (T1), save-before-use (T5), no-rotation answers (T6),
``invalid_grant`` memory (T7), 401 handling (T8), transient failures (T9) and the leeway rule."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr

from onyx_fanvue.errors import InvalidGrantError
from onyx_fanvue.oauth import (
    TOKEN_URL,
    AsyncMemoryTokenStore,
    AsyncOAuthClient,
    AsyncTokenStore,
    MemoryTokenStore,
    MissingTokenError,
    OAuthClient,
    OAuthServerError,
    OAuthToken,
    RefreshEvent,
    RefreshingAuth,
    TokenStore,
    TokenStoreConflict,
)

ME = "https://api.fanvue.com/users/me"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class AsyncSleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class TokenServer:
    """A token endpoint with rotation and reuse detection; counts every request."""

    def __init__(self, live: str = "rt-0", *, rotate: bool = True) -> None:
        self.live = live
        self.rotate = rotate
        self.issued = 0
        self.calls = 0

    @property
    def access_token(self) -> str:
        return f"at-{self.issued}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        sent = parse_qs(request.content.decode())["refresh_token"][0]
        if sent != self.live:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "The refresh token was already used."}
            )
        self.issued += 1
        body = {"access_token": self.access_token, "token_type": "bearer", "expires_in": 3600, "scope": "read:self"}
        if self.rotate:
            self.live = f"rt-{self.issued}"
            body["refresh_token"] = self.live
        return httpx.Response(200, json=body)


def plain(secret: SecretStr | None) -> str | None:
    """A token field's value (they are secrets, never plain strings)."""
    return None if secret is None else secret.get_secret_value()


def token(clock: Clock, seconds_left: float, *, n: int = 0, refresh: str | None = "rt-0") -> OAuthToken:
    return OAuthToken(
        access_token=f"at-{n}",
        refresh_token=refresh,
        expires_at=clock() + timedelta(seconds=seconds_left),
        scope=frozenset({"read:self"}),
    )


def oauth(clock: Clock) -> OAuthClient:
    return OAuthClient("client-1", "secret-1", "https://onyx.example/cb", clock=clock, sleep=Sleeps())


def async_oauth(clock: Clock) -> AsyncOAuthClient:
    return AsyncOAuthClient("client-1", "secret-1", "https://onyx.example/cb", clock=clock, sleep=AsyncSleeps())


def api_ok(seen: list[str]) -> object:
    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={"uuid": "me"})

    return respond


class CountingStore(MemoryTokenStore):
    """Sets ``reached`` once ``load`` has been called ``target`` times."""

    def __init__(self, token: OAuthToken, target: int) -> None:
        super().__init__(token)
        self.loads = 0
        self.target = target
        self.reached = threading.Event()
        self._count = threading.Lock()

    def load(self) -> OAuthToken | None:
        with self._count:
            self.loads += 1
            if self.loads >= self.target:
                self.reached.set()
        return super().load()


class AsyncCountingStore(AsyncMemoryTokenStore):
    """Counts ``load`` calls; ``await store.loaded(n)`` returns once there were ``n``."""

    def __init__(self, token: OAuthToken) -> None:
        super().__init__(token)
        self.loads = 0
        self.locks = 0
        self._waiters: dict[int, asyncio.Event] = {}

    def lock(self):  # type: ignore[no-untyped-def]
        self.locks += 1
        return super().lock()

    async def load(self) -> OAuthToken | None:
        self.loads += 1
        for target, event in self._waiters.items():
            if self.loads >= target:
                event.set()
        return await super().load()

    async def loaded(self, target: int) -> None:
        if self.loads < target:
            event = self._waiters.setdefault(target, asyncio.Event())
            await asyncio.wait_for(event.wait(), timeout=5)


# ------------------------------------------------------------------------------------------------ T1 single-flight


@respx.mock
async def test_t1_100_concurrent_async_calls_on_a_token_with_30_s_left_make_exactly_one_token_request():
    clock = Clock()
    server = TokenServer()
    store = AsyncCountingStore(token(clock, 30))

    async def token_endpoint(request: httpx.Request) -> httpx.Response:
        await store.loaded(100)  # every task has seen the expiring token: a real race
        return server(request)

    respx.post(TOKEN_URL).mock(side_effect=token_endpoint)
    seen: list[str] = []
    respx.get(ME).mock(side_effect=api_ok(seen))
    async with async_oauth(clock) as client, httpx.AsyncClient(auth=RefreshingAuth(client, store)) as http:
        responses = await asyncio.gather(*(http.get(ME) for _ in range(100)))
    assert server.calls == 1
    assert [r.status_code for r in responses] == [200] * 100
    assert seen == ["Bearer at-1"] * 100
    # each task re-loads once in the process's queue; only the refresher takes the store's lock, and re-loads there
    assert store.loads == 100 + 100 + 1
    assert store.locks == 1, "the other 99 found the new token without queueing on the store's (database) lock"
    stored = await store.load()
    assert stored is not None
    assert plain(stored.refresh_token) == "rt-1"


@respx.mock
def test_t1_20_threads_on_a_token_with_30_s_left_make_exactly_one_token_request():
    clock = Clock()
    server = TokenServer()
    store = CountingStore(token(clock, 30), target=20)

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        assert store.reached.wait(timeout=5)  # every thread has seen the expiring token: a real race
        return server(request)

    respx.post(TOKEN_URL).mock(side_effect=token_endpoint)
    seen: list[str] = []
    respx.get(ME).mock(side_effect=api_ok(seen))
    with (
        oauth(clock) as client,
        httpx.Client(auth=RefreshingAuth(client, store)) as http,
        ThreadPoolExecutor(max_workers=20) as pool,
    ):
        responses = list(pool.map(lambda _: http.get(ME), range(20)))
    assert server.calls == 1
    assert [r.status_code for r in responses] == [200] * 20
    assert seen == ["Bearer at-1"] * 20
    stored = store.load()
    assert stored is not None
    assert plain(stored.refresh_token) == "rt-1"


# ------------------------------------------------------------------------------------------------ T5, T6


@respx.mock
def test_t5_the_new_refresh_token_is_stored_before_the_new_access_token_is_used():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 10))
    checked: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        stored = store.load()
        assert stored is not None
        if request.headers["Authorization"] == f"Bearer {server.access_token}":
            assert plain(stored.refresh_token) == server.live  # already committed when the API first sees it
            assert plain(stored.access_token) == server.access_token
            checked.append(server.access_token)
        return httpx.Response(200)

    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        for _ in range(3):
            http.get(ME)
            clock.advance(3400)  # every call now finds <= 300 s left
    assert checked == ["at-1", "at-2", "at-3"]
    assert server.calls == 3


@respx.mock
async def test_t5_async():
    clock = Clock()
    server = TokenServer()
    store = AsyncMemoryTokenStore(token(clock, 10))
    checked: list[bool] = []

    async def api(request: httpx.Request) -> httpx.Response:
        stored = await store.load()
        assert stored is not None
        checked.append(plain(stored.refresh_token) == server.live == "rt-1")
        return httpx.Response(200)

    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(side_effect=api)
    async with httpx.AsyncClient(auth=RefreshingAuth(async_oauth(clock), store)) as http:
        await http.get(ME)
    assert checked == [True]


@respx.mock
def test_t6_an_answer_without_refresh_token_keeps_the_stored_one_byte_for_byte():
    clock = Clock()
    original = "ory_rt_Zx+/=ü"
    server = TokenServer(live=original, rotate=False)
    store = MemoryTokenStore(token(clock, 10, refresh=original))
    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(return_value=httpx.Response(200))
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        http.get(ME)
    stored = store.load()
    assert stored is not None
    assert plain(stored.refresh_token) == original
    assert stored.refresh_token.get_secret_value().encode() == original.encode()
    assert plain(stored.access_token) == "at-1"
    assert stored.expires_at == clock() + timedelta(seconds=3600)


def test_t6_with_a_callable_refresher_that_returns_no_refresh_token():
    clock = Clock()
    store = MemoryTokenStore(token(clock, 10, refresh="keep-me"))

    def refresher(old: OAuthToken) -> OAuthToken:
        return OAuthToken(access_token="at-new", expires_at=clock() + timedelta(hours=1))

    with respx.mock:
        respx.get(ME).mock(return_value=httpx.Response(200))
        with httpx.Client(auth=RefreshingAuth(refresher, store, clock=clock)) as http:
            http.get(ME)
    stored = store.load()
    assert stored is not None
    assert (plain(stored.access_token), plain(stored.refresh_token)) == ("at-new", "keep-me")


# ------------------------------------------------------------------------------------------------ T7


@respx.mock
def test_t7_invalid_grant_is_remembered_no_further_token_requests():
    clock = Clock()
    server = TokenServer(live="rt-someone-else")  # our refresh token was already used
    before = token(clock, 30)
    store = MemoryTokenStore(before)
    events: list[RefreshEvent] = []
    token_route = respx.post(TOKEN_URL).mock(side_effect=server)
    api = respx.get(ME).mock(return_value=httpx.Response(200))
    auth = RefreshingAuth(oauth(clock), store, on_refresh=events.append)
    with httpx.Client(auth=auth) as http:
        with pytest.raises(InvalidGrantError):
            http.get(ME)
        assert auth.needs_reauth
        for _ in range(60):  # ten simulated minutes of calls every 10 s
            clock.advance(10)
            with pytest.raises(InvalidGrantError, match="already refused"):
                http.get(ME)
    assert token_route.call_count == 1
    assert api.call_count == 0
    assert store.load() is before  # the stored token is untouched
    assert [(e.reason, e.outcome, e.error) for e in events] == [("expiring", "invalid_grant", "InvalidGrantError")]


@respx.mock
def test_t7_reset_or_a_reconnected_token_allow_refreshing_again():
    clock = Clock()
    server = TokenServer(live="rt-other")
    store = MemoryTokenStore(token(clock, 30))
    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(return_value=httpx.Response(200))
    auth = RefreshingAuth(oauth(clock), store)
    with httpx.Client(auth=auth) as http:
        with pytest.raises(InvalidGrantError):
            http.get(ME)
        auth.reset()
        assert not auth.needs_reauth
        with pytest.raises(InvalidGrantError):
            http.get(ME)
        assert server.calls == 2
        # The user connects again: a new grant in the store is refreshed without reset().
        store.save(token(clock, 30, n=9, refresh="rt-other"), expected=store.load())
        assert http.get(ME).status_code == 200
    assert server.calls == 3
    stored = store.load()
    assert stored is not None
    assert plain(stored.refresh_token) == "rt-1"


# ------------------------------------------------------------------------------------------------ T8


@respx.mock
def test_t8_a_401_triggers_one_forced_refresh_and_one_retry():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 3000))  # far from expiry: only the 401 can cause a refresh
    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200 if request.headers["Authorization"] == "Bearer at-1" else 401)

    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(side_effect=api)
    events: list[RefreshEvent] = []
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store, on_refresh=events.append)) as http:
        response = http.get(ME)
    assert response.status_code == 200
    assert server.calls == 1
    assert seen == ["Bearer at-0", "Bearer at-1"]
    assert [(e.reason, e.outcome) for e in events] == [("unauthorized", "refreshed")]
    assert events[0].remaining_seconds == 3000


@respx.mock
def test_t8_a_second_consecutive_401_is_returned_never_looped():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 3000))
    api = respx.get(ME).mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    respx.post(TOKEN_URL).mock(side_effect=server)
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        response = http.get(ME)
    assert response.status_code == 401
    assert server.calls == 1
    assert api.call_count == 2


@respx.mock
async def test_t8_async_and_concurrent_401s_share_one_refresh():
    clock = Clock()
    server = TokenServer()
    store = AsyncCountingStore(token(clock, 3000))

    async def api(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer at-1":
            return httpx.Response(200)
        await store.loaded(10)  # all 10 are rejected together
        return httpx.Response(401)

    async def token_endpoint(request: httpx.Request) -> httpx.Response:
        await store.loaded(20)  # all 10 saw the rejected token again after their 401
        return server(request)

    respx.post(TOKEN_URL).mock(side_effect=token_endpoint)
    respx.get(ME).mock(side_effect=api)
    async with httpx.AsyncClient(auth=RefreshingAuth(async_oauth(clock), store)) as http:
        responses = await asyncio.gather(*(http.get(ME) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert server.calls == 1


@respx.mock
def test_a_401_right_after_this_call_refreshed_is_not_refreshed_again():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 10))
    api = respx.get(ME).mock(return_value=httpx.Response(401))
    respx.post(TOKEN_URL).mock(side_effect=server)
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        assert http.get(ME).status_code == 401
    assert server.calls == 1
    assert api.call_count == 1


@respx.mock
def test_the_retry_after_a_401_resends_the_body():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 3000))
    bodies: list[bytes] = []

    def api(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(201 if request.headers["Authorization"] == "Bearer at-1" else 401)

    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.post("https://api.fanvue.com/chats/u-1/message").mock(side_effect=api)
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        response = http.post("https://api.fanvue.com/chats/u-1/message", json={"text": "hi"})
    assert response.status_code == 201
    assert bodies == [b'{"text":"hi"}'] * 2


# ------------------------------------------------------------------------------------------------ leeway


@pytest.mark.parametrize(
    ("seconds_left", "refreshes"),
    [(3599, 0), (301, 0), (300, 1), (299, 1), (30, 1), (-60, 1)],
)
@respx.mock
def test_refresh_only_with_leeway_or_less_left(seconds_left, refreshes):
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, seconds_left))
    seen: list[str] = []
    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(side_effect=api_ok(seen))
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        http.get(ME)
        http.get(ME)
    assert server.calls == refreshes
    assert seen == [f"Bearer at-{refreshes}"] * 2


@respx.mock
def test_a_custom_leeway_and_a_day_of_calls():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 3600))
    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(return_value=httpx.Response(200))
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store, leeway=timedelta(seconds=60))) as http:
        for _ in range(6 * 360):  # six hours, one call every 10 s
            http.get(ME)
            clock.advance(10)
    assert server.calls in {6, 7}  # 21600 / (3600 - 60) = 6.1


# ------------------------------------------------------------------------------------------------ edge cases


@respx.mock
def test_t9_transient_token_failures_raise_but_do_not_mark_reauth():
    clock = Clock()
    store = MemoryTokenStore(token(clock, 30))
    route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(503))
    respx.get(ME).mock(return_value=httpx.Response(200))
    events: list[RefreshEvent] = []
    auth = RefreshingAuth(oauth(clock), store, on_refresh=events.append)
    with httpx.Client(auth=auth) as http:
        with pytest.raises(OAuthServerError):
            http.get(ME)
        assert route.call_count == 4
        assert not auth.needs_reauth
        route.return_value = httpx.Response(
            200, json={"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600}
        )
        assert http.get(ME).status_code == 200
    assert [e.outcome for e in events] == ["failed", "refreshed"]
    assert events[0].error == "OAuthServerError"


@respx.mock
def test_a_token_without_refresh_token_is_used_as_is():
    clock = Clock()
    store = MemoryTokenStore(token(clock, 10, refresh=None))
    token_route = respx.post(TOKEN_URL)
    api = respx.get(ME).mock(return_value=httpx.Response(401))
    with httpx.Client(auth=RefreshingAuth(oauth(clock), store)) as http:
        assert http.get(ME).status_code == 401
    assert token_route.call_count == 0
    assert api.call_count == 1
    assert api.calls.last.request.headers["Authorization"] == "Bearer at-0"


def test_an_empty_store_raises_missing_token():
    with (
        respx.mock,
        httpx.Client(auth=RefreshingAuth(oauth(Clock()), MemoryTokenStore())) as http,
        pytest.raises(MissingTokenError),
    ):
        http.get(ME)


@respx.mock
def test_on_refresh_gets_no_token_values_and_cannot_break_auth():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 10))
    respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(return_value=httpx.Response(200))
    events: list[RefreshEvent] = []

    def hook(event: RefreshEvent) -> None:
        events.append(event)
        raise RuntimeError("metrics backend down")

    with httpx.Client(auth=RefreshingAuth(oauth(clock), store, on_refresh=hook)) as http:
        assert http.get(ME).status_code == 200
    assert len(events) == 1
    text = repr(events[0])
    assert events[0] == RefreshEvent("expiring", "refreshed", 10.0, None)
    for secret in ("at-0", "rt-0", "at-1", "rt-1"):
        assert secret not in text


@respx.mock
def test_token_requests_on_a_shared_client_do_not_recurse_into_the_auth():
    clock = Clock()
    server = TokenServer()
    store = MemoryTokenStore(token(clock, 10))
    token_route = respx.post(TOKEN_URL).mock(side_effect=server)
    respx.get(ME).mock(return_value=httpx.Response(200))
    with httpx.Client() as http:
        client = OAuthClient("client-1", "secret-1", "https://x/cb", http_client=http, clock=clock, sleep=Sleeps())
        http.auth = RefreshingAuth(client, store)
        assert http.get(ME).status_code == 200
    assert token_route.calls.last.request.headers["Authorization"].startswith("Basic ")
    assert server.calls == 1


async def test_async_callable_refresher():
    clock = Clock()
    store = AsyncMemoryTokenStore(token(clock, 10))

    async def refresher(old: OAuthToken) -> OAuthToken:
        return OAuthToken(access_token="at-x", refresh_token="rt-x", expires_at=clock() + timedelta(hours=1))

    with respx.mock:
        route = respx.get(ME).mock(return_value=httpx.Response(200))
        async with httpx.AsyncClient(auth=RefreshingAuth(refresher, store, clock=clock)) as http:
            await http.get(ME)
    assert route.calls.last.request.headers["Authorization"] == "Bearer at-x"


async def test_async_t7_invalid_grant():
    clock = Clock()
    store = AsyncMemoryTokenStore(token(clock, 10))
    server = TokenServer(live="other")
    with respx.mock:
        route = respx.post(TOKEN_URL).mock(side_effect=server)
        auth = RefreshingAuth(async_oauth(clock), store)
        async with httpx.AsyncClient(auth=auth) as http:
            for _ in range(5):
                with pytest.raises(InvalidGrantError):
                    await http.get(ME)
    assert route.call_count == 1
    assert auth.needs_reauth


async def test_sync_and_async_parts_cannot_be_mixed():
    clock = Clock()
    with respx.mock:
        respx.get(ME).mock(return_value=httpx.Response(200))
        sync_store = MemoryTokenStore(token(clock, 10))
        async with httpx.AsyncClient(auth=RefreshingAuth(async_oauth(clock), sync_store)) as http:
            with pytest.raises(TypeError, match="sync"):
                await http.get(ME)
        async with httpx.AsyncClient(auth=RefreshingAuth(oauth(clock), AsyncMemoryTokenStore(token(clock, 10)))) as a:
            with pytest.raises(TypeError, match="sync"):
                await a.get(ME)
        with (
            httpx.Client(auth=RefreshingAuth(async_oauth(clock), MemoryTokenStore(token(clock, 10)))) as http2,
            pytest.raises(TypeError, match="async"),
        ):
            http2.get(ME)
        with (
            httpx.Client(auth=RefreshingAuth(oauth(clock), AsyncMemoryTokenStore(token(clock, 10)))) as http3,
            pytest.raises(TypeError, match="async"),
        ):
            http3.get(ME)

        async def async_refresher(old: OAuthToken) -> OAuthToken:
            return old

        with (
            httpx.Client(auth=RefreshingAuth(async_refresher, MemoryTokenStore(token(clock, 10)))) as http4,
            pytest.raises(TypeError, match="async"),
        ):
            http4.get(ME)


def test_leeway_cannot_be_negative_and_repr_has_no_secrets():
    with pytest.raises(ValueError, match="negative"):
        RefreshingAuth(oauth(Clock()), MemoryTokenStore(), leeway=timedelta(seconds=-1))
    store = MemoryTokenStore(token(Clock(), 10))
    text = repr(RefreshingAuth(oauth(Clock()), store)) + repr(store) + repr(AsyncMemoryTokenStore(token(Clock(), 1)))
    assert "at-0" not in text
    assert "rt-0" not in text


# ------------------------------------------------------------------------------------------------ stores


def test_memory_store_compare_and_set():
    clock = Clock()
    first, second, third = token(clock, 1), token(clock, 2, n=2), token(clock, 3, n=3)
    store = MemoryTokenStore()
    assert isinstance(store, TokenStore)
    assert store.load() is None
    store.save(first, expected=None)
    with pytest.raises(TokenStoreConflict):
        store.save(second, expected=None)
    store.save(second, expected=first)
    with pytest.raises(TokenStoreConflict):
        store.save(third, expected=first)  # someone saved meanwhile
    assert store.load() is second
    with store.lock():
        pass


async def test_async_memory_store_compare_and_set_and_lock():
    clock = Clock()
    first, second = token(clock, 1), token(clock, 2, n=2)
    store = AsyncMemoryTokenStore(first)
    assert isinstance(store, AsyncTokenStore)
    with pytest.raises(TokenStoreConflict):
        await store.save(second, expected=None)
    await store.save(second, expected=first)
    assert await store.load() is second
    order: list[str] = []

    async def holder(name: str) -> None:
        async with store.lock():
            order.append(f"{name}-in")
            await asyncio.sleep(0)
            order.append(f"{name}-out")

    await asyncio.gather(holder("a"), holder("b"))
    assert order == ["a-in", "a-out", "b-in", "b-out"]


@respx.mock
async def test_t1_through_the_async_fanvue_client():
    # The same single-flight guarantee when the auth is plugged into the SDK's own client (version header,
    # rate budget and retries in between).
    from onyx_fanvue import AsyncFanvueClient  # noqa: PLC0415 - keeps this module's imports about the auth

    clock = Clock()
    server = TokenServer()
    store = AsyncCountingStore(token(clock, 30))

    async def token_endpoint(request: httpx.Request) -> httpx.Response:
        await store.loaded(100)
        return server(request)

    respx.post(TOKEN_URL).mock(side_effect=token_endpoint)
    seen: list[str] = []
    respx.get("https://api.fanvue.com/chats/unread").mock(
        side_effect=lambda r: (
            seen.append(r.headers["Authorization"]),
            httpx.Response(200, json={"unreadChatsCount": 0, "unreadMessagesCount": 0, "unreadNotifications": {}}),
        )[1]
    )
    async with (
        async_oauth(clock) as oauth,
        AsyncFanvueClient(auth=RefreshingAuth(oauth, store), rate_limited=False) as fanvue,
    ):
        await asyncio.gather(*(fanvue.chats.unread() for _ in range(100)))
    assert server.calls == 1
    assert seen == ["Bearer at-1"] * 100
