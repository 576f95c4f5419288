"""The request core shared by :class:`FanvueClient` and :class:`AsyncFanvueClient`.

Every request gets the version header, a user agent and the caller's auth; is paced by the client-side rate
budget; has its failures mapped to typed errors; and is retried (tenacity) when that is safe.

Which rate-limit header wins: on a 429, ``Retry-After`` (Fanvue's instruction for that refusal) decides when the
request, and any other call on its bucket, may go again; the same answer's ``X-RateLimit-Remaining``/``-Reset`` are
not applied (without a ``Retry-After``, the 429's reset stands in for it). A request still refused when it gives
up (retries spent, or a wait it may not take) closes its bucket until that ``Reset``: later calls wait for the
window instead of asking again every ``Retry-After``. On any other answer, ``Remaining: 0`` paces the bucket until
``Reset``. Sitting out a 429 is bounded: see :attr:`RetryPolicy.max_wait` and
:class:`~onyx_fanvue.ratelimit.WaitBudget`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from onyx_fanvue._errors_map import error_from_response
from onyx_fanvue.errors import FanvueError, RateLimitError, ServerError, TimeoutError, TransportError
from onyx_fanvue.ratelimit import (
    RateBudget,
    RateLimitInfo,
    WaitAllowance,
    current_wait_allowance,
    parse_rate_limit_headers,
    parse_raw_rate_limit_headers,
    rate_limit_key,
)
from onyx_fanvue.redaction import scrub

DEFAULT_BASE_URL = "https://api.fanvue.com"
DEFAULT_API_VERSION = "2025-06-26"
"""The only Fanvue API version seen so far; sent as ``X-Fanvue-API-Version`` on every call."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@functools.cache
def _user_agent() -> str:
    # cached: reading the installed version from package metadata costs more than the rest of a request's plumbing
    try:
        return f"onyx-fanvue/{version('onyx-fanvue')} httpx/{httpx.__version__}"
    except PackageNotFoundError:  # a source tree that was never installed
        return f"onyx-fanvue httpx/{httpx.__version__}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to retry. ``RetryPolicy(max_retries=0)`` switches retries off.

    429 is retried for every method (Fanvue did not process the request), honouring ``Retry-After``; 5xx and
    transport errors only for idempotent methods, or when the request never left (connection refused).

    ``max_wait`` bounds how long one request may sit out 429s in all: the waits before its retries and the wait for
    a bucket a 429 closed. A wait that does not fit raises :class:`RateLimitError` at once (``retry_after`` says
    when Fanvue will take the request) instead of sleeping; a caller's
    :class:`~onyx_fanvue.ratelimit.WaitBudget` can lower it further for a whole group of calls.
    """

    max_retries: int = 2
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 60.0

    def retryable(self, error: BaseException, method: str) -> bool:
        if isinstance(error, RateLimitError):
            return True
        idempotent = method.upper() in IDEMPOTENT_METHODS
        if isinstance(error, ServerError):
            return idempotent and error.status_code in RETRYABLE_STATUS
        if isinstance(error, TransportError):
            return idempotent or not error.sent
        return False

    def wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, but never less than the server's ``Retry-After``."""
        backoff = wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)(state)
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return max(backoff, error.retry_after)
        return backoff


class _Held:
    """What one request may still spend sitting out 429s: the policy's ``max_wait`` and, when the caller opened
    one, its scoped allowance (whichever has less left)."""

    def __init__(self, limit: float, scope: WaitAllowance | None) -> None:
        self._limit = limit
        self._scope = scope
        self._spent = 0.0

    def left(self) -> float:
        own = max(0.0, self._limit - self._spent)
        return own if self._scope is None else min(own, max(0.0, self._scope.left()))

    def spend(self, seconds: float) -> None:
        self._spent += seconds
        if self._scope is not None:
            self._scope.spend(seconds)


def _refused(state: RetryCallState) -> RateLimitError | None:
    error = state.outcome.exception() if state.outcome is not None else None
    return error if isinstance(error, RateLimitError) else None


class _HeldTooLong(stop_base):
    """Stop retrying a 429 whose wait does not fit in what the request may still sit out."""

    def __init__(self, held: _Held) -> None:
        self._held = held

    def __call__(self, retry_state: RetryCallState) -> bool:
        return _refused(retry_state) is not None and retry_state.upcoming_sleep > self._held.left() + 1e-9


class _PastDeadline(stop_base):
    """tenacity's ``stop_after_delay``, counted from when the request began: its first attempt runs before the
    retry loop is set up (see ``request``), so the loop's own start would leave that attempt out."""

    def __init__(self, seconds: float, started: float) -> None:
        self._seconds = seconds
        self._started = started

    def __call__(self, retry_state: RetryCallState) -> bool:
        ended = retry_state.outcome_timestamp
        return ended is not None and ended - self._started >= self._seconds


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """What an event hook sees of one attempt. It never contains a token: the auth header is not included."""

    method: str
    url: str
    attempt: int
    status_code: int | None
    elapsed: float
    error: str | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)


Hook = Callable[[RequestEvent], None]
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


_bucket_key = functools.lru_cache(maxsize=4096)(rate_limit_key)
""":func:`rate_limit_key` remembered per (user, path): it splits and unquotes the path on every call, and one
client asks again and again for the same few paths."""


def _safe_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: ("[redacted]" if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def _transport_error(error: httpx.TransportError, where: str) -> TransportError:
    # Before the request is written nothing can have happened server-side; after, it may have.
    sent = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = TimeoutError if isinstance(error, httpx.TimeoutException) else TransportError
    return kind(f"{where}: {type(error).__name__}: {scrub(str(error))}", sent=sent)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class BaseClient:
    """Options and the per-attempt logic shared by both clients."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        retry: RetryPolicy,
        rate_budget: RateBudget | None,
        user_uuid: str | None,
        hooks: Sequence[Hook],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.retry = retry
        self.rate_budget = rate_budget
        self.user_uuid = user_uuid
        self.hooks = tuple(hooks)
        self._per_request: dict[str, str] | None = self._headers()
        """The SDK's headers, sent with each request; ``None`` once :meth:`headers_on` made them the client's."""
        self._keep_in_use: Callable[[], object] | None = None

    def _headers(self) -> dict[str, str]:
        return {"X-Fanvue-API-Version": self.api_version, "User-Agent": _user_agent(), "Accept": "application/json"}

    def headers_on(self, headers: httpx.Headers) -> None:
        """Make the SDK's headers the defaults of the ``httpx`` client it owns (``headers``: that client's), once,
        instead of merging them into every request (httpx copies the client's headers and replaces each given one,
        a few microseconds per header per request). Only for a client the SDK made: a caller's own keeps its
        defaults, and the SDK's headers go with each request instead, winning over them as before."""
        if self._per_request is not None:
            headers.update(self._per_request)
            self._per_request = None

    def fixed_header(self, headers: httpx.Headers, name: str, value: str, *, keep_in_use: Callable[[], object]) -> None:
        """Set a fixed credential's header on the client the SDK owns (``headers``: its defaults) once.
        ``keep_in_use`` is still called before each request, its result unused: it unwraps the
        :class:`~onyx_fanvue.redaction.Secret`, which keeps the secret remembered by scrub as in use, as the auth
        flow it replaces did (about a microsecond; the flow and its header write cost several)."""
        headers[name] = value
        self._keep_in_use = keep_in_use

    def _budget_key(self, path: str) -> str:
        return _bucket_key(self.user_uuid, path)

    def _emit(self, event: RequestEvent) -> None:
        for hook in self.hooks:
            hook(event)

    def _seconds_until(self, info: RateLimitInfo) -> float:
        if self.rate_budget is not None:
            return self.rate_budget.seconds_until(info.reset_at)
        return max(0.0, info.reset_at.timestamp() - time.time())

    def _finish(
        self,
        request: httpx.Request,
        response: httpx.Response,
        path: str,
        key: str | None,
        attempt: int,
        started: float,
    ) -> None:
        """Record rate-limit headers in ``key``'s bucket (``None``: no rate budget), report the attempt, and raise
        the typed error for an error status."""
        elapsed = time.monotonic() - started
        # no local for the headers: a traceback's locals show them, unscrubbed (tests/fanvue/test_token_leaks.py)
        info = parse_raw_rate_limit_headers(response.headers.raw, response.headers.encoding)
        error: FanvueError | None = None
        if response.status_code >= 400:
            error = error_from_response(
                response.status_code, _body(response), response.headers, method=request.method, path=path
            )
        if isinstance(error, RateLimitError):
            # Retry-After wins over the same answer's Remaining/Reset; without one, the reset stands in for it.
            if error.retry_after is None and info is not None and info.remaining <= 0:
                error.retry_after = self._seconds_until(info)
            if self.rate_budget is not None and key is not None and error.retry_after is not None:
                self.rate_budget.penalize(key, error.retry_after)
        elif self.rate_budget is not None and key is not None and info is not None:
            self.rate_budget.observe(key, info)
        if self.hooks:  # building the event costs a URL copy and a header scrub: only when someone listens
            self._emit(
                RequestEvent(
                    request.method,
                    str(request.url.copy_with(query=None)),
                    attempt,
                    response.status_code,
                    elapsed,
                    None if error is None else type(error).__name__,
                    _safe_headers(request.headers),
                )
            )
        if error is not None:
            raise error

    def _failed(self, request: httpx.Request, error: TransportError, attempt: int, started: float) -> None:
        if not self.hooks:
            return
        self._emit(
            RequestEvent(
                request.method,
                str(request.url.copy_with(query=None)),
                attempt,
                None,
                time.monotonic() - started,
                type(error).__name__,
                _safe_headers(request.headers),
            )
        )

    def _gave_up(self, path: str, refused: RateLimitError) -> None:
        """A request still refused when it gives up closes its bucket until the refusal's window resets (at most
        one period): a persistent 429 is not asked again every ``Retry-After`` by the calls after it."""
        info = parse_rate_limit_headers(refused.headers)
        if self.rate_budget is None or info is None or info.remaining > 0:
            return
        seconds = min(self.rate_budget.seconds_until(info.reset_at), self.rate_budget.period)
        if seconds > 0:
            self.rate_budget.penalize(self._budget_key(path), seconds)

    def _held(self) -> _Held:
        return _Held(self.retry.max_wait, current_wait_allowance())

    def _retry_options(self, method: str, held: _Held, started: float, *, idempotent: bool | None) -> dict[str, Any]:
        """tenacity options for one request begun at ``started`` (monotonic); ``idempotent`` overrides what the
        method implies. Sitting out a 429 is spent from ``held``; a wait that does not fit stops the retries (the
        429 is raised)."""
        retry_method = method if idempotent is None else ("GET" if idempotent else "POST")

        def spend(state: RetryCallState) -> None:
            if _refused(state) is not None:
                held.spend(state.upcoming_sleep)

        return {
            "stop": stop_after_attempt(self.retry.max_retries + 1)
            | _PastDeadline(self.retry.max_total_seconds, started)
            | _HeldTooLong(held),
            "wait": self.retry.wait,
            "retry": retry_if_exception(lambda e: self.retry.retryable(e, retry_method)),
            "before_sleep": spend,
            "reraise": True,
        }


def _not_sent(method: str, path: str, refused: RateLimitError) -> RateLimitError:
    return RateLimitError(f"{method} {path}: {refused}", status_code=429, retry_after=refused.retry_after)


def clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop ``None`` values; join lists with commas (Fanvue's explode=false arrays) unless already a list of
    repeated values wrapped in a tuple (``filter`` on /chats repeats)."""
    cleaned: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, list):
            cleaned[key] = ",".join(str(v) for v in value)
        elif isinstance(value, tuple):
            cleaned[key] = list(value)
        elif isinstance(value, bool):
            cleaned[key] = "true" if value else "false"
        else:
            cleaned[key] = value
    return cleaned


class SyncTransportCore(BaseClient):
    """Executes requests on an ``httpx.Client``."""

    def __init__(self, http: httpx.Client, *, sleep: Callable[[float], None] = time.sleep, **options: Any) -> None:
        super().__init__(**options)
        self.http = http
        self._sleep = sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        method = method.upper()
        held = self._held()
        started = time.monotonic()
        try:
            # Most requests succeed at once: the first attempt runs without tenacity (setting up its loop cost
            # about as much as the rest of the SDK's plumbing); a failure is handed to the loop as its attempt 1.
            try:
                return self._once(method, path, params, json, 1, held)
            except Exception as error:  # re-raised below as the loop's attempt 1: the policy decides
                first: Exception | None = error
            options = self._retry_options(method, held, started, idempotent=idempotent)
            for attempt in Retrying(sleep=self._sleep, **options):
                with attempt:
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    return self._once(method, path, params, json, attempt.retry_state.attempt_number, held)
        except RateLimitError as refused:
            self._gave_up(path, refused)
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _once(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any, number: int, held: _Held
    ) -> httpx.Response:
        if self._keep_in_use is not None:
            self._keep_in_use()
        key = None
        if self.rate_budget is not None:
            key = self._budget_key(path)
            try:
                self.rate_budget.acquire(key, held)
            except RateLimitError as refused:
                raise _not_sent(method, path, refused) from None
        request = self.http.build_request(
            method, f"{self.base_url}{path}", params=clean_params(params), json=json, headers=self._per_request
        )
        started = time.monotonic()
        try:
            response = self.http.send(request)  # not streamed: send() has read the body
        except httpx.TransportError as failure:
            error = _transport_error(failure, f"{method} {path}")
            self._failed(request, error, number, started)
            raise error from None
        self._finish(request, response, path, key, number, started)
        return response


class AsyncTransportCore(BaseClient):
    """Executes requests on an ``httpx.AsyncClient``."""

    def __init__(
        self, http: httpx.AsyncClient, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, **options: Any
    ) -> None:
        super().__init__(**options)
        self.http = http
        self._sleep = sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        method = method.upper()
        held = self._held()
        started = time.monotonic()
        try:
            # the first attempt without tenacity, a failure handed to its loop as attempt 1: see the sync core
            try:
                return await self._once(method, path, params, json, 1, held)
            except Exception as error:  # re-raised below as the loop's attempt 1: the policy decides
                first: Exception | None = error
            options = self._retry_options(method, held, started, idempotent=idempotent)
            async for attempt in AsyncRetrying(sleep=self._sleep, **options):
                with attempt:
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    return await self._once(method, path, params, json, attempt.retry_state.attempt_number, held)
        except RateLimitError as refused:
            self._gave_up(path, refused)
            raise
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _once(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: Any, number: int, held: _Held
    ) -> httpx.Response:
        if self._keep_in_use is not None:
            self._keep_in_use()
        key = None
        if self.rate_budget is not None:
            key = self._budget_key(path)
            try:
                # a token there now is taken without a coroutine; only a wait (or a refusal) needs the async path
                if self.rate_budget.try_acquire(key) > 0:
                    await self.rate_budget.acquire_async(key, held)
            except RateLimitError as refused:
                raise _not_sent(method, path, refused) from None
        request = self.http.build_request(
            method, f"{self.base_url}{path}", params=clean_params(params), json=json, headers=self._per_request
        )
        started = time.monotonic()
        try:
            response = await self.http.send(request)  # not streamed: send() has read the body
        except httpx.TransportError as failure:
            error = _transport_error(failure, f"{method} {path}")
            self._failed(request, error, number, started)
            raise error from None
        self._finish(request, response, path, key, number, started)
        return response
