"""The OAuth client: Fanvue's authorize URL, code exchange, refresh and revocation, sync and async.

Every secret it handles (client secret, code, PKCE verifier, refresh token, the tokens it gets back) is a
:class:`~onyx_fanvue.redaction.Secret` in its frames and attributes; forms keep them wrapped until the request is
built, where they are unwrapped inline. The token endpoint's error text is scrubbed of every secret the process
holds (and of the values this very request sent) before it becomes an exception.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, quote_plus, urlencode

import httpx
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from onyx_fanvue._errors_map import parse_retry_after
from onyx_fanvue.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidTokenResponseError,
    OAuthError,
    OAuthServerError,
    TimeoutError,
    TransportError,
)
from onyx_fanvue.oauth._common import REDACTED as _REDACTED
from onyx_fanvue.oauth._common import utcnow as _utcnow
from onyx_fanvue.oauth.pkce import check_verifier as _check_verifier
from onyx_fanvue.oauth.tokens import OAuthToken, read_token
from onyx_fanvue.redaction import Secret, as_secret, scrub

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_SCOPES",
    "DEFAULT_TIMEOUT",
    "REVOKE_URL",
    "TOKEN_URL",
    "AsyncOAuthClient",
    "OAuthClient",
]

AUTHORIZE_URL = "https://auth.fanvue.com/oauth2/auth"
TOKEN_URL = "https://auth.fanvue.com/oauth2/token"  # noqa: S105 - a URL, not a secret
REVOKE_URL = "https://auth.fanvue.com/oauth2/revoke"
DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "offline",
    "read:self",
    "read:creator",
    "read:insights",
    "read:fan",
    "read:chat",
    "read:tracking_links",
    "read:post",
    "read:agency",
)
"""The read-only scopes Onyx needs, plus the system scopes: without ``offline_access`` there is no refresh token."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_TRANSIENT_STATUS = frozenset({408, 429})
_SAID_KEPT = 300
"""Characters of the server's ``error_description`` kept (after scrubbing)."""


def _scrub(text: str, sent: tuple[SecretStr | None, ...]) -> str:
    """Server text without any secret: those the process holds, and even short ones this request sent."""
    return scrub(text[: 16 * _SAID_KEPT], *sent)[:_SAID_KEPT]


T = TypeVar("T")
_Parser = Callable[[httpx.Response, datetime], T]
_Form = dict[str, "str | Secret"]


def _wire(form: _Form) -> dict[str, str]:
    """The form as sent: secrets unwrapped. Called inline in the request's construction, so no frame of this
    module keeps the result."""
    return {key: value.get_secret_value() if isinstance(value, Secret) else value for key, value in form.items()}


def _ignore_body(response: httpx.Response, requested_at: datetime) -> None:
    """Revocation answers 200 with an empty body (RFC 7009)."""


def _transport_error(error: httpx.TransportError, what: str) -> TransportError:
    # Before the request is written nothing can have happened server-side; after it, the token may have rotated.
    sent = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = TimeoutError if isinstance(error, httpx.TimeoutException) else TransportError
    return kind(f"{what}: {type(error).__name__}", sent=sent)


def _error_from_response(response: httpx.Response, what: str, sent: tuple[SecretStr | None, ...]) -> OAuthError:
    """The typed error for a non-2xx token-endpoint answer (RFC 6749 §5.2 ``{error, error_description}``)."""
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    code: str | None = None
    description: str | None = None
    if isinstance(body, Mapping):
        if isinstance(body.get("error"), str) and body["error"]:
            code = _scrub(body["error"], sent)[:100]
        if isinstance(body.get("error_description"), str) and body["error_description"]:
            description = _scrub(body["error_description"], sent)
    message = (
        f"{what} failed: HTTP {status}" + (f" {code}" if code else "") + (f": {description}" if description else "")
    )
    if status >= 500 or status in _TRANSIENT_STATUS:
        fallback = "temporarily_unavailable" if status in {429, 503} else "server_error"
        return OAuthServerError(
            message,
            error=code or fallback,
            description=description,
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if code == "invalid_grant":
        return InvalidGrantError(message, error=code, description=description, status_code=status)
    if code == "invalid_client" or (code is None and status == 401):
        return InvalidClientError(message, error="invalid_client", description=description, status_code=status)
    return OAuthError(message, error=code or f"http_{status}", description=description, status_code=status)


class _RetryBudget:
    """Which failed token-endpoint attempts may be retried, for one call.

    Transient answers (5xx, 429, 408) and failures before sending: yes, up to ``max_retries``. Ambiguous ones (a
    timeout or dropped connection after sending, a 2xx with an unusable body): only ``max_ambiguous`` times,
    because the server may already have rotated the refresh token and a second use would be a reuse."""

    def __init__(self, max_ambiguous: int, max_retry_after: float) -> None:
        self._ambiguous_left = max_ambiguous
        self._max_retry_after = max_retry_after

    def __call__(self, error: BaseException) -> bool:
        if isinstance(error, OAuthServerError):
            return error.retry_after is None or error.retry_after <= self._max_retry_after
        if isinstance(error, TransportError) and not error.sent:
            return True
        if isinstance(error, TransportError | InvalidTokenResponseError) and self._ambiguous_left > 0:
            self._ambiguous_left -= 1
            return True
        return False


class _OAuthCore:
    """Configuration, request bodies and answer parsing shared by :class:`OAuthClient` and
    :class:`AsyncOAuthClient`."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        redirect_uri: str,
        *,
        authorize_url: str,
        token_url: str,
        revoke_url: str,
        scopes: Iterable[str],
        clock: Callable[[], datetime] | None,
        max_retries: int,
        max_ambiguous_retries: int,
        base_delay: float,
        max_delay: float,
        max_retry_after: float,
    ) -> None:
        client_secret = as_secret(client_secret)  # from here on this frame holds no plain secret
        if not client_id or not len(client_secret) or not redirect_uri:
            raise ValueError("client_id, client_secret and redirect_uri are required")
        if max_retries < 0 or max_ambiguous_retries < 0:
            raise ValueError("retry counts cannot be negative")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.scopes: tuple[str, ...] = tuple(dict.fromkeys(scopes))
        self.clock: Callable[[], datetime] = clock or _utcnow
        self.max_retries = max_retries
        self.max_ambiguous_retries = max_ambiguous_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        # RFC 6749 §2.3.1 form-encodes id and secret before Basic; identical to the starter's plain
        # "id:secret" for the usual URL-safe credentials, and what Ory decodes. A Secret too, so that a server
        # echoing the header's value is scrubbed as well.
        self._basic = Secret(
            base64.b64encode(
                f"{quote_plus(client_id)}:{quote_plus(client_secret.get_secret_value())}".encode()
            ).decode()
        )

    def authorization_url(
        self, state: str, code_challenge: str, scopes: Iterable[str] | None = None, **extra: str
    ) -> str:
        """The URL to send the user's browser to. ``extra`` adds parameters such as ``prompt`` or
        ``response_mode``; it cannot override the ones this method sets."""
        if not state or not code_challenge:
            raise ValueError("state and code_challenge are required")
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(dict.fromkeys(self.scopes if scopes is None else scopes)),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        clash = params.keys() & extra.keys()
        if clash:
            raise ValueError(f"extra parameters may not override {sorted(clash)}")
        return f"{self.authorize_url}?{urlencode({**params, **extra}, quote_via=quote)}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._basic.get_secret_value()}", "Accept": "application/json"}

    def _build(self, http: httpx.Client | httpx.AsyncClient, url: str, form: _Form) -> httpx.Request:
        """The POST as it goes on the wire: the only place the form's secrets and the credentials are unwrapped."""
        return http.build_request("POST", url, data=_wire(form), headers=self._headers())

    def _exchange_form(self, code: Secret, code_verifier: Secret) -> _Form:
        if not len(code):
            raise ValueError("the authorization code is empty")
        _check_verifier(code_verifier)
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier,
        }

    def _refresh_form(self, refresh_token: Secret) -> _Form:
        if not len(refresh_token):
            raise ValueError("the refresh token is empty")
        # No ``scope``: asking for anything beyond the original grant makes Ory answer 400.
        return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}

    def _revoke_form(self, token: Secret, token_type_hint: str) -> _Form:
        if not len(token):
            raise ValueError("the token to revoke is empty")
        return {"token": token, "token_type_hint": token_type_hint, "client_id": self.client_id}

    def _budget(self) -> _RetryBudget:
        return _RetryBudget(self.max_ambiguous_retries, self.max_retry_after)

    def _wait(self, state: RetryCallState) -> float:
        """Full-jitter exponential backoff, never shorter than the server's ``Retry-After``."""
        backoff: float = wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)(state)
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, OAuthServerError) and error.retry_after is not None:
            return max(backoff, error.retry_after)
        return backoff

    def _check(self, response: httpx.Response, what: str, sent: tuple[Secret, ...]) -> None:
        if not 200 <= response.status_code < 300:
            raise _error_from_response(response, what, (*sent, self._client_secret, self._basic))

    def _exchange_parser(self, scopes: Iterable[str] | None) -> _Parser[OAuthToken]:
        requested = frozenset(self.scopes if scopes is None else scopes)

        def parse(response: httpx.Response, requested_at: datetime) -> OAuthToken:
            # RFC 6749 §5.1: no scope in the answer means exactly the scopes that were requested.
            return read_token(response, requested_at, scope=requested)

        return parse

    def _refresh_parser(self, refresh_token: Secret, previous: OAuthToken | None) -> _Parser[OAuthToken]:
        def parse(response: httpx.Response, requested_at: datetime) -> OAuthToken:
            # No rotation this time: the token we sent stays the valid one (the same object).
            scope = None if previous is None else previous.scope
            return read_token(response, requested_at, refresh=refresh_token, scope=scope)

        return parse

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, client_secret={_REDACTED})"


class OAuthClient(_OAuthCore):
    """Fanvue's OAuth endpoints over a sync ``httpx.Client``.

    Client authentication is HTTP Basic ``client_id:client_secret`` plus ``client_id`` in the form body, as
    Fanvue's official starter does. Transient failures are retried (at most ``max_retries``, honouring
    ``Retry-After``; an ambiguous one at most ``max_ambiguous_retries``); ``sleep`` is injectable for tests."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        redirect_uri: str,
        *,
        authorize_url: str = AUTHORIZE_URL,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        http_client: httpx.Client | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_ambiguous_retries: int = 1,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = 30.0,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            redirect_uri,
            authorize_url=authorize_url,
            token_url=token_url,
            revoke_url=revoke_url,
            scopes=scopes,
            clock=clock,
            max_retries=max_retries,
            max_ambiguous_retries=max_ambiguous_retries,
            base_delay=base_delay,
            max_delay=max_delay,
            max_retry_after=max_retry_after,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep

    def exchange_code(
        self, code: str | SecretStr, code_verifier: str | SecretStr, *, scopes: Iterable[str] | None = None
    ) -> OAuthToken:
        """Trade the callback's ``code`` (and the session's PKCE verifier) for tokens. ``scopes`` are those
        requested (default: the client's), used only when the answer has no ``scope``."""
        code, code_verifier = as_secret(code), as_secret(code_verifier)  # no plain secret left in this frame
        form = self._exchange_form(code, code_verifier)
        return self._post(self.token_url, form, "code exchange", (code, code_verifier), self._exchange_parser(scopes))

    def refresh(self, refresh_token: str | SecretStr, *, previous: OAuthToken | None = None) -> OAuthToken:
        """Spend ``refresh_token`` (pass ``token.refresh_token``) for a new token. Without a new refresh token in
        the answer, ``refresh_token`` is kept; without a scope, ``previous``'s. Raises :class:`InvalidGrantError`
        when it is dead."""
        refresh_token = as_secret(refresh_token)
        form = self._refresh_form(refresh_token)
        return self._post(
            self.token_url, form, "token refresh", (refresh_token,), self._refresh_parser(refresh_token, previous)
        )

    def revoke(self, token: str | SecretStr, token_type_hint: str = "refresh_token") -> None:  # noqa: S107
        """Revoke ``token`` (RFC 7009; revoking a refresh token ends the grant)."""
        token = as_secret(token)
        form = self._revoke_form(token, token_type_hint)
        self._post(self.revoke_url, form, "token revocation", (token,), _ignore_body)

    def _post(self, url: str, form: _Form, what: str, sent: tuple[Secret, ...], parse: _Parser[T]) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._budget()),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._post_once(url, form, what, sent, parse)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _post_once(self, url: str, form: _Form, what: str, sent: tuple[Secret, ...], parse: _Parser[T]) -> T:
        request = self._build(self._http, url, form)
        requested_at = self.clock()
        try:
            # auth=None: a shared client's own auth (maybe a RefreshingAuth) must not wrap token requests.
            response = self._http.send(request, auth=None, follow_redirects=False)
        except httpx.TransportError as error:
            raise _transport_error(error, what) from None
        self._check(response, what, sent)
        # Parsed inside the retry loop: an unusable 2xx body is ambiguous (the token may have rotated).
        return parse(response, requested_at)

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncOAuthClient(_OAuthCore):
    """:class:`OAuthClient` over an ``httpx.AsyncClient``: the same surface, awaitable."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        redirect_uri: str,
        *,
        authorize_url: str = AUTHORIZE_URL,
        token_url: str = TOKEN_URL,
        revoke_url: str = REVOKE_URL,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_ambiguous_retries: int = 1,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = 30.0,
    ) -> None:
        super().__init__(
            client_id,
            client_secret,
            redirect_uri,
            authorize_url=authorize_url,
            token_url=token_url,
            revoke_url=revoke_url,
            scopes=scopes,
            clock=clock,
            max_retries=max_retries,
            max_ambiguous_retries=max_ambiguous_retries,
            base_delay=base_delay,
            max_delay=max_delay,
            max_retry_after=max_retry_after,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)
        self._sleep = sleep

    async def exchange_code(
        self, code: str | SecretStr, code_verifier: str | SecretStr, *, scopes: Iterable[str] | None = None
    ) -> OAuthToken:
        """Trade the callback's ``code`` (and the session's PKCE verifier) for tokens."""
        code, code_verifier = as_secret(code), as_secret(code_verifier)
        form = self._exchange_form(code, code_verifier)
        return await self._post(
            self.token_url, form, "code exchange", (code, code_verifier), self._exchange_parser(scopes)
        )

    async def refresh(self, refresh_token: str | SecretStr, *, previous: OAuthToken | None = None) -> OAuthToken:
        """Spend ``refresh_token`` for a new token (see :meth:`OAuthClient.refresh`)."""
        refresh_token = as_secret(refresh_token)
        form = self._refresh_form(refresh_token)
        return await self._post(
            self.token_url, form, "token refresh", (refresh_token,), self._refresh_parser(refresh_token, previous)
        )

    async def revoke(self, token: str | SecretStr, token_type_hint: str = "refresh_token") -> None:  # noqa: S107
        """Revoke ``token`` (RFC 7009)."""
        token = as_secret(token)
        form = self._revoke_form(token, token_type_hint)
        await self._post(self.revoke_url, form, "token revocation", (token,), _ignore_body)

    async def _post(self, url: str, form: _Form, what: str, sent: tuple[Secret, ...], parse: _Parser[T]) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._budget()),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post_once(url, form, what, sent, parse)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _post_once(self, url: str, form: _Form, what: str, sent: tuple[Secret, ...], parse: _Parser[T]) -> T:
        request = self._build(self._http, url, form)
        requested_at = self.clock()
        try:
            response = await self._http.send(request, auth=None, follow_redirects=False)
        except httpx.TransportError as error:
            raise _transport_error(error, what) from None
        self._check(response, what, sent)
        return parse(response, requested_at)

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
