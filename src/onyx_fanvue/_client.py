"""``FanvueClient`` and ``AsyncFanvueClient``: one surface, two flavours."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import httpx
import pydantic
from pydantic import SecretStr

from onyx_fanvue._base import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    AsyncTransportCore,
    BaseClient,
    Hook,
    RetryPolicy,
    SyncTransportCore,
)
from onyx_fanvue.errors import MalformedResponseError
from onyx_fanvue.ratelimit import RateBudget
from onyx_fanvue.redaction import as_secret, scrub
from onyx_fanvue.resources import (
    Agencies,
    AsyncAgencies,
    AsyncAudience,
    AsyncChats,
    AsyncCreators,
    AsyncInsights,
    AsyncPosts,
    AsyncTrackingLinks,
    AsyncUsers,
    Audience,
    Chats,
    Creators,
    Insights,
    Posts,
    TrackingLinks,
    Users,
)
from onyx_fanvue.resources._call import Call, JsonParser

T = TypeVar("T")


class BearerToken(httpx.Auth):
    """A fixed access token (a ``str`` or a :class:`~pydantic.SecretStr`, held as a
    :class:`~onyx_fanvue.redaction.Secret`). For tokens that expire, use
    :class:`onyx_fanvue.oauth.RefreshingAuth`."""

    def __init__(self, access_token: str | SecretStr) -> None:
        access_token = as_secret(access_token)  # from here on this frame holds no plain token
        if not len(access_token):
            raise ValueError("an access token cannot be empty")
        self._token = access_token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header()
        yield request

    def header(self) -> str:
        """The ``Authorization`` value. Unwrapping the token marks it in use (see
        :class:`~onyx_fanvue.redaction.Secret`), so :func:`~onyx_fanvue.redaction.scrub` keeps knowing it."""
        return f"Bearer {self._token.get_secret_value()}"

    def __repr__(self) -> str:
        return "BearerToken('…redacted…')"


def _auth(access_token: str | SecretStr | None, auth: httpx.Auth | None) -> httpx.Auth | None:
    if access_token is not None and auth is not None:
        raise ValueError("pass either access_token or auth, not both")
    return BearerToken(access_token) if access_token is not None else auth


def _authenticate(
    http: httpx.Client | httpx.AsyncClient, core: BaseClient, auth: httpx.Auth | None, *, owned: bool
) -> None:
    """Put ``auth`` on ``http``. On a client the SDK made, its headers become the client's defaults, and so does a
    fixed :class:`BearerToken` (a plain header: httpx then runs no flow of ours per request); any other auth
    (:class:`~onyx_fanvue.oauth.RefreshingAuth`, a subclass, the caller's own) stays an auth flow, which sets its
    header on each request after the defaults and so wins over them."""
    if owned:
        core.headers_on(http.headers)
    if owned and type(auth) is BearerToken:
        core.fixed_header(http.headers, "Authorization", auth.header(), keep_in_use=auth._token.get_secret_value)
    elif auth is not None:
        http.auth = auth


_BODY_KEPT = 2000
"""Characters of an unusable 2xx body kept on :class:`MalformedResponseError` (scrubbed first)."""


def _parse(call: Call[T], response: httpx.Response) -> T:
    if response.status_code == 204 or not response.content:
        return call.parse(None)
    try:
        if isinstance(call.parse, JsonParser) and (parsed := _from_bytes(call.parse, response.content)):
            return cast("T", parsed[0])
        return call.parse(response.json())
    except (ValueError, pydantic.ValidationError) as error:
        # pydantic's ValidationError is a ValueError; both mean the body is not what Fanvue documents.
        problem = _problem(error)
    # Raised outside the handler, so the error carries no context: pydantic's errors hold the input values.
    raise MalformedResponseError(
        f"{call.method} {call.path}: unexpected response body ({problem})",
        status_code=response.status_code,
        body=scrub(response.text[: 4 * _BODY_KEPT])[:_BODY_KEPT],
    )


def _from_bytes(parser: JsonParser, raw: bytes) -> tuple[Any] | None:
    """The body validated straight from its bytes, or ``None`` when pydantic's JSON validator refuses it. A refusal
    is rare, so the caller then takes the old path (``response.json()``, then validation): it reads what pydantic's
    parser does not (a byte-order mark, UTF-16) and words any error exactly as before."""
    try:
        return (parser.from_json(raw),)
    except pydantic.ValidationError:
        return None


def _problem(error: ValueError) -> str:
    """What was wrong, without the values: pydantic's own text quotes the input (it could be anything)."""
    if isinstance(error, pydantic.ValidationError):
        where = [
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors(include_url=False, include_context=False, include_input=False)[:5]
        ]
        return scrub(f"{error.error_count()} validation error(s): " + "; ".join(where))[:300]
    return scrub(f"{type(error).__name__}: {error}")[:300]


class FanvueClient:
    """The synchronous Fanvue client.

    >>> with FanvueClient(access_token="...") as client:  # doctest: +SKIP
    ...     for row in client.insights.iter_earnings(start_date=..., end_date=...):
    ...         print(row.date, row.net)
    """

    def __init__(
        self,
        access_token: str | SecretStr | None = None,
        *,
        auth: httpx.Auth | None = None,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_budget: RateBudget | None = None,
        rate_limited: bool = True,
        user_uuid: str | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        hooks: Sequence[Hook] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        credentials = _auth(access_token, auth)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=timeout)
        budget = (rate_budget or RateBudget(sleep=sleep)) if rate_limited else None
        self._core = SyncTransportCore(
            self._http,
            sleep=sleep,
            base_url=base_url,
            api_version=api_version,
            retry=retry or RetryPolicy(),
            rate_budget=budget,
            user_uuid=user_uuid,
            hooks=hooks,
        )
        _authenticate(self._http, self._core, credentials, owned=self._owns_http)
        self.users = Users(self)
        self.creators = Creators(self)
        self.agencies = Agencies(self)
        self.insights = Insights(self)
        self.audience = Audience(self)
        self.chats = Chats(self)
        self.tracking_links = TrackingLinks(self)
        self.posts = Posts(self)

    @property
    def api_version(self) -> str:
        return self._core.api_version

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """The escape hatch: any endpoint, with the same headers, auth, rate budget, retries and typed errors."""
        return self._core.request(method, path, params=params, json=json, idempotent=idempotent)

    def _run(self, call: Call[T]) -> T:
        return _parse(call, self._core.request(call.method, call.path, params=call.params, json=call.json))

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncFanvueClient:
    """The asynchronous Fanvue client: the same surface as :class:`FanvueClient`, awaited."""

    def __init__(
        self,
        access_token: str | SecretStr | None = None,
        *,
        auth: httpx.Auth | None = None,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_budget: RateBudget | None = None,
        rate_limited: bool = True,
        user_uuid: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        hooks: Sequence[Hook] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        credentials = _auth(access_token, auth)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=timeout)
        budget = (rate_budget or RateBudget(async_sleep=sleep)) if rate_limited else None
        self._core = AsyncTransportCore(
            self._http,
            sleep=sleep,
            base_url=base_url,
            api_version=api_version,
            retry=retry or RetryPolicy(),
            rate_budget=budget,
            user_uuid=user_uuid,
            hooks=hooks,
        )
        _authenticate(self._http, self._core, credentials, owned=self._owns_http)
        self.users = AsyncUsers(self)
        self.creators = AsyncCreators(self)
        self.agencies = AsyncAgencies(self)
        self.insights = AsyncInsights(self)
        self.audience = AsyncAudience(self)
        self.chats = AsyncChats(self)
        self.tracking_links = AsyncTrackingLinks(self)
        self.posts = AsyncPosts(self)

    @property
    def api_version(self) -> str:
        return self._core.api_version

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """The escape hatch: any endpoint, with the same headers, auth, rate budget, retries and typed errors."""
        return await self._core.request(method, path, params=params, json=json, idempotent=idempotent)

    async def _run(self, call: Call[T]) -> T:
        response = await self._core.request(call.method, call.path, params=call.params, json=call.json)
        return _parse(call, response)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
