"""``RefreshingAuth`` keeps the token in memory on a store with the optional ``generation()`` capability, and goes
to the store only on the first request, inside the leeway, after a 401, after a write made in this process (the
generation moved) and after ``revalidate_after``; a store without the capability is loaded on every request."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from onyx_fanvue.errors import InvalidGrantError
from onyx_fanvue.oauth import (
    TOKEN_URL,
    AsyncMemoryTokenStore,
    MemoryTokenStore,
    MissingTokenError,
    OAuthClient,
    OAuthToken,
    RefreshingAuth,
    TokenStoreGeneration,
)

ME = "https://api.fanvue.com/users/me"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def token(clock: Clock, seconds_left: float, n: int = 0) -> OAuthToken:
    return OAuthToken(
        access_token=f"at-{n}", refresh_token=f"rt-{n}", expires_at=clock() + timedelta(seconds=seconds_left)
    )


class GenerationStore(MemoryTokenStore):
    """A store with the capability that counts its loads. ``save`` is a write made in this process (the generation
    moves); ``written_elsewhere`` is another process's write (only the stored token changes)."""

    def __init__(self, token: OAuthToken | None) -> None:
        super().__init__(token)
        self.loads = 0
        self.writes = 0

    def generation(self) -> int:
        return self.writes

    def load(self) -> OAuthToken | None:
        self.loads += 1
        return super().load()

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        super().save(token, expected=expected)
        self.writes += 1

    def written_elsewhere(self, token: OAuthToken) -> None:
        super().save(token, expected=super().load())


class AsyncGenerationStore(AsyncMemoryTokenStore):
    def __init__(self, token: OAuthToken | None) -> None:
        super().__init__(token)
        self.loads = 0
        self.writes = 0

    def generation(self) -> int:
        return self.writes

    async def load(self) -> OAuthToken | None:
        self.loads += 1
        await asyncio.sleep(0)  # a real store awaits I/O here: let the other callers run into the queue
        return await super().load()

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        await super().save(token, expected=expected)
        self.writes += 1


class Api:
    """``/users/me`` answering 200 to ``accepted`` bearer tokens (all when ``None``) and 401 to the rest."""

    def __init__(self, accepted: set[str] | None = None) -> None:
        self.accepted = accepted
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        bearer = request.headers["Authorization"].removeprefix("Bearer ")
        self.seen.append(bearer)
        ok = self.accepted is None or bearer in self.accepted
        return httpx.Response(200 if ok else 401, json={"uuid": "me"})


def refresher(clock: Clock) -> object:
    issued = [0]

    def refresh(old: OAuthToken) -> OAuthToken:
        issued[0] += 1
        return token(clock, 3600, n=100 + issued[0])

    return refresh


def sync_auth(store: GenerationStore | MemoryTokenStore, clock: Clock, **options: object) -> RefreshingAuth:
    return RefreshingAuth(refresher(clock), store, clock=clock, **options)  # type: ignore[arg-type]


def test_the_sql_like_store_has_the_capability_and_the_memory_stores_do_not() -> None:
    assert isinstance(GenerationStore(None), TokenStoreGeneration)
    assert not isinstance(MemoryTokenStore(), TokenStoreGeneration)
    assert not isinstance(AsyncMemoryTokenStore(), TokenStoreGeneration)


@respx.mock
def test_a_fresh_token_is_loaded_once_for_many_calls() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        for _ in range(50):
            assert http.get(ME).status_code == 200
            clock.advance(1)  # 50 s: within the default 60 s re-validation age
    assert store.loads == 1
    assert api.seen == ["at-0"] * 50


@respx.mock
def test_a_store_without_the_capability_is_loaded_on_every_call() -> None:
    clock = Clock()

    class Counting(MemoryTokenStore):
        loads = 0

        def load(self) -> OAuthToken | None:
            self.loads += 1
            return super().load()

    store = Counting(token(clock, 3600))
    respx.get(ME).mock(side_effect=Api())
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        for _ in range(5):
            http.get(ME)
    assert store.loads == 5


@respx.mock
def test_revalidate_after_zero_loads_on_every_call() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    respx.get(ME).mock(side_effect=Api())
    with httpx.Client(auth=sync_auth(store, clock, revalidate_after=timedelta(0))) as http:
        for _ in range(5):
            http.get(ME)
    assert store.loads == 5


@respx.mock
def test_inside_the_leeway_the_store_is_read_and_the_token_refreshed_once() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock, revalidate_after=timedelta(hours=2))) as http:
        http.get(ME)
        clock.advance(3600 - 200)  # 200 s left: inside the 300 s leeway
        http.get(ME)
        assert store.writes == 1  # one refresh, saved
        loads = store.loads
        for _ in range(10):
            http.get(ME)
    assert loads == 1 + 2  # the first call; then the leeway: a load, and one more under the lock
    assert store.loads == loads + 1  # the saved token is loaded once (its write moved the generation), then held
    assert api.seen == ["at-0", "at-101"] + ["at-101"] * 10


@respx.mock
def test_a_write_made_in_this_process_is_used_by_the_next_call() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        http.get(ME)
        store.save(token(clock, 3600, n=7), expected=store.load())  # e.g. a reconnect through the same store
        loads = store.loads
        http.get(ME)
        http.get(ME)
    assert store.loads == loads + 1
    assert api.seen == ["at-0", "at-7", "at-7"]


@respx.mock
def test_an_empty_store_after_a_write_in_this_process_raises_at_once() -> None:
    """A disconnect made in this process: the next call sends nothing."""
    clock = Clock()

    class Disconnecting(GenerationStore):
        def disconnect(self) -> None:
            with self._data:
                self._token = None
            self.writes += 1

    store = Disconnecting(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        http.get(ME)
        store.disconnect()
        with pytest.raises(MissingTokenError):
            http.get(ME)
    assert api.seen == ["at-0"]


@respx.mock
def test_another_process_s_write_is_read_after_the_revalidation_age() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock, revalidate_after=timedelta(seconds=30))) as http:
        http.get(ME)
        store.written_elsewhere(token(clock, 3600, n=5))
        clock.advance(29)
        http.get(ME)  # still the token in memory: nothing here says it changed
        clock.advance(1)
        http.get(ME)  # 30 s after the load: re-read
        http.get(ME)
    assert api.seen == ["at-0", "at-0", "at-5", "at-5"]
    assert store.loads == 2


@respx.mock
def test_a_clock_stepping_back_re_reads() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    respx.get(ME).mock(side_effect=Api())
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        http.get(ME)
        clock.advance(-5)
        http.get(ME)
        http.get(ME)
    assert store.loads == 2


@respx.mock
def test_a_401_on_the_token_in_memory_re_reads_once_and_retries_once() -> None:
    """Another process refreshed (the server retired our access token): the 401 re-reads, finds its token, retries
    with it and refreshes nothing (T8 unchanged)."""
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api(accepted={"at-0"})
    respx.get(ME).mock(side_effect=api)
    calls = []
    auth = RefreshingAuth(lambda old: calls.append(old) or token(clock, 3600, n=99), store, clock=clock)
    with httpx.Client(auth=auth) as http:
        http.get(ME)
        store.written_elsewhere(token(clock, 3600, n=1))
        api.accepted = {"at-1"}
        assert http.get(ME).status_code == 200
        assert http.get(ME).status_code == 200
    assert api.seen == ["at-0", "at-0", "at-1", "at-1"]
    assert store.loads == 2
    assert calls == []


@respx.mock
def test_a_401_with_nothing_newer_in_the_store_refreshes_once_and_never_loops() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api(accepted={"at-0"})
    respx.get(ME).mock(side_effect=api)
    with httpx.Client(auth=sync_auth(store, clock)) as http:
        http.get(ME)
        api.accepted = set()  # everything is refused now
        assert http.get(ME).status_code == 401
    assert api.seen == ["at-0", "at-0", "at-101"]
    assert store.writes == 1


@respx.mock
def test_invalid_grant_and_reset_forget_the_token_in_memory() -> None:
    clock = Clock()
    store = GenerationStore(token(clock, 3600))
    api = Api(accepted={"at-0"})
    respx.get(ME).mock(side_effect=api)
    token_route = respx.post(TOKEN_URL).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    oauth = OAuthClient("c", "s", "https://onyx.example/cb", clock=clock, sleep=lambda _: None)
    auth = RefreshingAuth(oauth, store)
    with httpx.Client(auth=auth) as http:
        http.get(ME)
        assert store.loads == 1
        auth.reset()
        http.get(ME)
        assert store.loads == 2
        api.accepted = set()  # the grant is gone: 401, and the forced refresh is refused
        with pytest.raises(InvalidGrantError):
            http.get(ME)
        # the user reconnects through another process: the next call must find it, not the token in memory
        store.written_elsewhere(token(clock, 3600, n=8))
        api.accepted = {"at-8"}
        sent = len(api.seen)
        assert http.get(ME).status_code == 200
        assert api.seen[sent:] == ["at-8"]
    assert token_route.call_count == 1
    oauth.close()


def test_revalidate_after_cannot_be_negative_and_generation_must_be_synchronous() -> None:
    clock = Clock()
    with pytest.raises(ValueError, match="revalidate_after"):
        RefreshingAuth(refresher(clock), GenerationStore(None), revalidate_after=timedelta(seconds=-1))  # type: ignore[arg-type]

    class AsyncGeneration(AsyncMemoryTokenStore):
        async def generation(self) -> int:
            return 0

    with pytest.raises(TypeError, match="synchronous"):
        RefreshingAuth(refresher(clock), AsyncGeneration())  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------- async


@respx.mock
async def test_1000_concurrent_calls_on_a_fresh_token_load_it_once() -> None:
    clock = Clock()
    store = AsyncGenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    async with httpx.AsyncClient(auth=RefreshingAuth(refresher(clock), store, clock=clock)) as http:  # type: ignore[arg-type]
        first = await asyncio.gather(*(http.get(ME) for _ in range(1000)))
        assert store.loads == 1  # a cold memory: one caller loads, the others queue and find it
        second = await asyncio.gather(*(http.get(ME) for _ in range(1000)))
    assert store.loads == 1
    assert {r.status_code for r in first + second} == {200}
    assert set(api.seen) == {"at-0"}


@respx.mock
async def test_concurrent_calls_inside_the_leeway_refresh_once_and_then_hold_the_new_token() -> None:
    clock = Clock()
    store = AsyncGenerationStore(token(clock, 200))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    refreshes: list[OAuthToken] = []

    async def refresh(old: OAuthToken) -> OAuthToken:
        refreshes.append(old)
        await asyncio.sleep(0)
        return token(clock, 3600, n=1)

    async with httpx.AsyncClient(auth=RefreshingAuth(refresh, store, clock=clock)) as http:
        await asyncio.gather(*(http.get(ME) for _ in range(100)))
        loads = store.loads
        await asyncio.gather(*(http.get(ME) for _ in range(100)))
    assert len(refreshes) == 1
    assert set(api.seen) == {"at-1"}
    assert loads == 3  # the first in the queue, under the lock, and the saved token once
    assert store.loads == loads


@respx.mock
async def test_async_a_write_in_this_process_and_the_revalidation_age() -> None:
    clock = Clock()
    store = AsyncGenerationStore(token(clock, 3600))
    api = Api()
    respx.get(ME).mock(side_effect=api)
    auth = RefreshingAuth(refresher(clock), store, clock=clock, revalidate_after=timedelta(seconds=10))  # type: ignore[arg-type]
    async with httpx.AsyncClient(auth=auth) as http:
        await http.get(ME)
        await store.save(token(clock, 3600, n=2), expected=await store.load())
        await http.get(ME)  # the generation moved
        store._token = token(clock, 3600, n=3)  # another process's write: the generation stays
        await http.get(ME)
        clock.advance(10)
        await http.get(ME)
    assert api.seen == ["at-0", "at-2", "at-2", "at-3"]


@respx.mock
async def test_async_a_401_re_reads_and_retries_once() -> None:
    clock = Clock()
    store = AsyncGenerationStore(token(clock, 3600))
    api = Api(accepted={"at-0"})
    respx.get(ME).mock(side_effect=api)
    async with httpx.AsyncClient(auth=RefreshingAuth(refresher(clock), store, clock=clock)) as http:  # type: ignore[arg-type]
        await http.get(ME)
        store._token = token(clock, 3600, n=4)  # refreshed by another process
        api.accepted = {"at-4"}
        responses = await asyncio.gather(*(http.get(ME) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert store.writes == 0
    assert api.seen[:6] == ["at-0"] * 6
    assert api.seen[6:] == ["at-4"] * 5
