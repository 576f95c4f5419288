"""OAuth 2.0 for Fanvue: the authorization-code + PKCE flow, the token endpoint, token stores, and an
``httpx.Auth`` that refreshes rotating refresh tokens safely.

Fanvue's auth server (Ory Hydra) rotates refresh tokens: each refresh spends the old one, and spending it twice
answers ``invalid_grant`` and revokes the whole grant. So :class:`RefreshingAuth` refreshes late (``leeway``
before expiry), one refresh at a time per store (single-flight), saves the new token before anyone uses it,
and never asks again with a refresh token that was refused. See ``docs/sdk-oauth.md``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import inspect
import math
import re
import secrets
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar, cast, runtime_checkable
from urllib.parse import quote, quote_plus, urlencode

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from onyx_fanvue._errors_map import parse_retry_after, redact
from onyx_fanvue.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidTokenResponseError,
    MissingTokenError,
    OAuthError,
    OAuthServerError,
    TimeoutError,
    TokenStoreConflict,
    TransportError,
)

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_LEEWAY",
    "DEFAULT_SCOPES",
    "REVOKE_URL",
    "TOKEN_URL",
    "AsyncMemoryTokenStore",
    "AsyncOAuthClient",
    "AsyncTokenStore",
    "InvalidTokenResponseError",
    "MemoryTokenStore",
    "MissingTokenError",
    "OAuthClient",
    "OAuthServerError",
    "OAuthToken",
    "PkcePair",
    "RefreshEvent",
    "RefreshingAuth",
    "TokenStore",
    "TokenStoreConflict",
    "generate_pkce",
    "generate_state",
    "pkce_challenge",
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
DEFAULT_EXPIRES_IN = 3600
"""Seconds an access token lives when the token response has no ``expires_in`` (Fanvue documents ~1 h)."""
DEFAULT_LEEWAY = timedelta(seconds=300)
"""Refresh when this much life or less is left (trusted clients use 60-300 s)."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_REDACTED = "'…redacted…'"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_TRANSIENT_STATUS = frozenset({408, 429})


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------------- PKCE


@dataclass(frozen=True, slots=True, repr=False)
class PkcePair:
    """A PKCE verifier (keep it server-side, bound to the user's session) and its S256 challenge (send it)."""

    verifier: str
    challenge: str
    method: Literal["S256"] = "S256"

    def __repr__(self) -> str:
        return f"PkcePair(verifier={_REDACTED}, challenge={self.challenge!r}, method='S256')"


def _check_verifier(verifier: str) -> None:
    if not _VERIFIER.match(verifier):
        raise ValueError("a PKCE code verifier is 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``: base64url(SHA-256(verifier)) without padding."""
    _check_verifier(verifier)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def generate_pkce(nbytes: int = 64) -> PkcePair:
    """A fresh PKCE pair. ``nbytes`` of randomness (32-96) give a verifier of 43-128 characters (default 86)."""
    if not 32 <= nbytes <= 96:
        raise ValueError("nbytes must be 32-96 so that the verifier has 43-128 characters")
    verifier = secrets.token_urlsafe(nbytes)
    return PkcePair(verifier=verifier, challenge=pkce_challenge(verifier))


def generate_state(nbytes: int = 32) -> str:
    """An unguessable OAuth ``state`` of ``nbytes`` random bytes (at least 16, i.e. 128 bits; default 256)."""
    if nbytes < 16:
        raise ValueError("state needs at least 128 bits (nbytes >= 16)")
    return secrets.token_urlsafe(nbytes)


# ---------------------------------------------------------------------------------------------------- tokens


def _expires_in(value: Any) -> float:
    if value is None:
        return float(DEFAULT_EXPIRES_IN)
    if isinstance(value, bool):
        raise InvalidTokenResponseError("token response: 'expires_in' is not a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InvalidTokenResponseError("token response: 'expires_in' is not a number") from None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidTokenResponseError("token response: 'expires_in' is not a positive number")
    return float(value)


def _scope(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise InvalidTokenResponseError("token response: 'scope' is not a space-separated string")


def _optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidTokenResponseError(f"token response: {key!r} is not a string")
    return value


@dataclass(frozen=True, slots=True, repr=False, kw_only=True)
class OAuthToken:
    """One token response, immutable. ``expires_at`` is aware UTC. ``repr``/``str`` never show a token value."""

    access_token: str
    refresh_token: str | None = None
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    scope: frozenset[str] = frozenset()
    id_token: str | None = None

    def __post_init__(self) -> None:
        if not self.access_token:
            raise ValueError("access_token must be a non-empty string")
        if self.expires_at.tzinfo is None or self.expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        # frozen: normalise through object.__setattr__ so equal instants compare (and CAS) equal
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(UTC))
        object.__setattr__(self, "scope", frozenset(self.scope))

    @classmethod
    def from_response(
        cls, payload: Mapping[str, Any], requested_at: datetime, previous: OAuthToken | None = None
    ) -> OAuthToken:
        """Build a token from the token endpoint's JSON. ``requested_at`` is when the request was SENT, so
        latency can only make the token look shorter-lived. Without ``expires_in``: 3600 s. Without
        ``refresh_token`` or ``scope``: ``previous``'s are kept (unchanged, byte for byte).

        Raises :class:`InvalidTokenResponseError` (naming the field, never a value)."""
        if requested_at.tzinfo is None or requested_at.utcoffset() is None:
            raise ValueError("requested_at must be timezone-aware")
        if not isinstance(payload, Mapping):
            raise InvalidTokenResponseError("token response: not a JSON object")
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise InvalidTokenResponseError("token response: 'access_token' is missing or not a non-empty string")
        token_type = _optional_str(payload, "token_type") or "bearer"
        lifetime = _expires_in(payload.get("expires_in"))
        refresh = _optional_str(payload, "refresh_token")
        if refresh is None and previous is not None:
            refresh = previous.refresh_token
        raw_scope = payload.get("scope")
        scope = _scope(raw_scope) if raw_scope is not None else previous.scope if previous else frozenset[str]()
        return cls(
            access_token=access,
            refresh_token=refresh,
            token_type=token_type,
            expires_at=requested_at.astimezone(UTC) + timedelta(seconds=lifetime),
            scope=scope,
            id_token=_optional_str(payload, "id_token"),
        )

    def remaining(self, now: datetime) -> timedelta:
        """Life left at ``now`` (negative once expired)."""
        return self.expires_at - now

    def is_expired(self, now: datetime) -> bool:
        """Whether the access token has expired at ``now``."""
        return self.remaining(now) <= timedelta(0)

    def needs_refresh(self, now: datetime, leeway: timedelta = DEFAULT_LEEWAY) -> bool:
        """Whether ``leeway`` or less of life is left at ``now`` (300 s left with the default: yes; 301 s: no)."""
        return self.remaining(now) <= leeway

    def __repr__(self) -> str:
        refresh = _REDACTED if self.refresh_token is not None else "None"
        id_token = _REDACTED if self.id_token is not None else "None"
        return (
            f"OAuthToken(access_token={_REDACTED}, refresh_token={refresh}, token_type={self.token_type!r}, "
            f"expires_at={self.expires_at.isoformat()!r}, scope={sorted(self.scope)!r}, id_token={id_token})"
        )

    __str__ = __repr__


# ---------------------------------------------------------------------------------------------------- client


def _scrub(text: str, secret_values: Iterable[str | None]) -> str:
    """Remove every value we sent (tokens, code, verifier, client secret) from server text, which may echo them."""
    for value in secret_values:
        if value and len(value) >= 4:
            text = text.replace(value, "[redacted]")
    return redact(text)[:300]


T = TypeVar("T")
_Parser = Callable[[httpx.Response, datetime], T]


def _ignore_body(response: httpx.Response, requested_at: datetime) -> None:
    """Revocation answers 200 with an empty body (RFC 7009)."""


def _transport_error(error: httpx.TransportError, what: str) -> TransportError:
    # Before the request is written nothing can have happened server-side; after it, the token may have rotated.
    sent = not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = TimeoutError if isinstance(error, httpx.TimeoutException) else TransportError
    return kind(f"{what}: {type(error).__name__}", sent=sent)


def _error_from_response(response: httpx.Response, what: str, secret_values: tuple[str | None, ...]) -> OAuthError:
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
            code = _scrub(body["error"], secret_values)[:100]
        if isinstance(body.get("error_description"), str) and body["error_description"]:
            description = _scrub(body["error_description"], secret_values)
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
        client_secret: str,
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
        if not client_id or not client_secret or not redirect_uri:
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
        # "id:secret" for the usual URL-safe credentials, and what Ory decodes.
        credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
        self._basic = "Basic " + base64.b64encode(credentials).decode("ascii")

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
        return {"Authorization": self._basic, "Accept": "application/json"}

    def _exchange_form(self, code: str, code_verifier: str) -> dict[str, str]:
        if not code:
            raise ValueError("the authorization code is empty")
        _check_verifier(code_verifier)
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier,
        }

    def _refresh_form(self, refresh_token: str) -> dict[str, str]:
        if not refresh_token:
            raise ValueError("the refresh token is empty")
        # No ``scope``: asking for anything beyond the original grant makes Ory answer 400.
        return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}

    def _revoke_form(self, token: str, token_type_hint: str) -> dict[str, str]:
        if not token:
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

    def _check(self, response: httpx.Response, what: str, secret_values: tuple[str | None, ...]) -> None:
        if not 200 <= response.status_code < 300:
            raise _error_from_response(response, what, (*secret_values, self._client_secret))

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise InvalidTokenResponseError(
                f"token response: HTTP {response.status_code} with a body that is not JSON"
            ) from None

    def _exchange_parser(self, scopes: Iterable[str] | None) -> _Parser[OAuthToken]:
        requested = frozenset(self.scopes if scopes is None else scopes)

        def parse(response: httpx.Response, requested_at: datetime) -> OAuthToken:
            payload = self._json(response)
            token = OAuthToken.from_response(payload, requested_at)
            if payload.get("scope") is None:
                # RFC 6749 §5.1: no scope in the answer means exactly the scopes that were requested.
                token = replace(token, scope=requested)
            return token

        return parse

    def _refresh_parser(self, refresh_token: str, previous: OAuthToken | None) -> _Parser[OAuthToken]:
        def parse(response: httpx.Response, requested_at: datetime) -> OAuthToken:
            payload = self._json(response)
            token = OAuthToken.from_response(payload, requested_at, previous)
            if not payload.get("refresh_token"):
                # No rotation this time: the token we sent stays the valid one (kept byte for byte).
                token = replace(token, refresh_token=refresh_token)
            return token

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
        client_secret: str,
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

    def exchange_code(self, code: str, code_verifier: str, *, scopes: Iterable[str] | None = None) -> OAuthToken:
        """Trade the callback's ``code`` (and the session's PKCE verifier) for tokens. ``scopes`` are those
        requested (default: the client's), used only when the answer has no ``scope``."""
        form = self._exchange_form(code, code_verifier)
        return self._post(self.token_url, form, "code exchange", (code, code_verifier), self._exchange_parser(scopes))

    def refresh(self, refresh_token: str, *, previous: OAuthToken | None = None) -> OAuthToken:
        """Spend ``refresh_token`` for a new token. Without a new refresh token in the answer, ``refresh_token``
        is kept; without a scope, ``previous``'s. Raises :class:`InvalidGrantError` when it is dead."""
        form = self._refresh_form(refresh_token)
        return self._post(
            self.token_url, form, "token refresh", (refresh_token,), self._refresh_parser(refresh_token, previous)
        )

    def revoke(self, token: str, token_type_hint: str = "refresh_token") -> None:  # noqa: S107 - a hint name
        """Revoke ``token`` (RFC 7009; revoking a refresh token ends the grant)."""
        form = self._revoke_form(token, token_type_hint)
        self._post(self.revoke_url, form, "token revocation", (token,), _ignore_body)

    def _post(
        self, url: str, form: dict[str, str], what: str, secret_values: tuple[str | None, ...], parse: _Parser[T]
    ) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._budget()),
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._post_once(url, form, what, secret_values, parse)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _post_once(
        self, url: str, form: dict[str, str], what: str, secret_values: tuple[str | None, ...], parse: _Parser[T]
    ) -> T:
        request = self._http.build_request("POST", url, data=form, headers=self._headers())
        requested_at = self.clock()
        try:
            # auth=None: a shared client's own auth (maybe a RefreshingAuth) must not wrap token requests.
            response = self._http.send(request, auth=None, follow_redirects=False)
        except httpx.TransportError as error:
            raise _transport_error(error, what) from None
        self._check(response, what, secret_values)
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
        client_secret: str,
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

    async def exchange_code(self, code: str, code_verifier: str, *, scopes: Iterable[str] | None = None) -> OAuthToken:
        """Trade the callback's ``code`` (and the session's PKCE verifier) for tokens."""
        form = self._exchange_form(code, code_verifier)
        return await self._post(
            self.token_url, form, "code exchange", (code, code_verifier), self._exchange_parser(scopes)
        )

    async def refresh(self, refresh_token: str, *, previous: OAuthToken | None = None) -> OAuthToken:
        """Spend ``refresh_token`` for a new token (see :meth:`OAuthClient.refresh`)."""
        form = self._refresh_form(refresh_token)
        return await self._post(
            self.token_url, form, "token refresh", (refresh_token,), self._refresh_parser(refresh_token, previous)
        )

    async def revoke(self, token: str, token_type_hint: str = "refresh_token") -> None:  # noqa: S107 - a hint name
        """Revoke ``token`` (RFC 7009)."""
        form = self._revoke_form(token, token_type_hint)
        await self._post(self.revoke_url, form, "token revocation", (token,), _ignore_body)

    async def _post(
        self, url: str, form: dict[str, str], what: str, secret_values: tuple[str | None, ...], parse: _Parser[T]
    ) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._budget()),
            sleep=self._sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post_once(url, form, what, secret_values, parse)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _post_once(
        self, url: str, form: dict[str, str], what: str, secret_values: tuple[str | None, ...], parse: _Parser[T]
    ) -> T:
        request = self._http.build_request("POST", url, data=form, headers=self._headers())
        requested_at = self.clock()
        try:
            response = await self._http.send(request, auth=None, follow_redirects=False)
        except httpx.TransportError as error:
            raise _transport_error(error, what) from None
        self._check(response, what, secret_values)
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


# ---------------------------------------------------------------------------------------------------- stores


@runtime_checkable
class TokenStore(Protocol):
    """Where one connection's token lives (sync).

    ``save`` is an atomic compare-and-set against the token that was loaded (``expected``; ``None`` = the store
    was empty) and raises :class:`TokenStoreConflict` if someone else saved meanwhile. ``lock()`` serialises
    refreshes across everything sharing the store (threads here; processes for a SQL store)."""

    def load(self) -> OAuthToken | None:
        """The current token, or ``None`` when there is none."""
        ...

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Replace ``expected`` with ``token`` atomically, or raise :class:`TokenStoreConflict`."""
        ...

    def lock(self) -> AbstractContextManager[object]:
        """A context manager held while one refresh runs."""
        ...


@runtime_checkable
class AsyncTokenStore(Protocol):
    """:class:`TokenStore` for asyncio: awaitable ``load``/``save``, and ``lock()`` is an async context manager."""

    async def load(self) -> OAuthToken | None:
        """The current token, or ``None`` when there is none."""
        ...

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Replace ``expected`` with ``token`` atomically, or raise :class:`TokenStoreConflict`."""
        ...

    def lock(self) -> AbstractAsyncContextManager[object]:
        """An async context manager held while one refresh runs."""
        ...


class MemoryTokenStore:
    """A :class:`TokenStore` in memory, shared by the threads of one process."""

    def __init__(self, token: OAuthToken | None = None) -> None:
        self._token = token
        self._data = threading.Lock()  # makes save's compare-and-set atomic
        self._refresh = threading.Lock()  # what lock() hands out; held for a whole refresh

    def load(self) -> OAuthToken | None:
        """The current token."""
        with self._data:
            return self._token

    def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set: raise :class:`TokenStoreConflict` unless the stored token is still ``expected``."""
        with self._data:
            if self._token != expected:
                raise TokenStoreConflict("the stored token changed since it was loaded")
            self._token = token

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Serialise refreshes among the threads sharing this store."""
        with self._refresh:
            yield

    def __repr__(self) -> str:
        return f"MemoryTokenStore({self._token!r})"


class AsyncMemoryTokenStore:
    """An :class:`AsyncTokenStore` in memory, for the tasks of ONE event loop (its lock is an ``asyncio.Lock``).

    A separate class from :class:`MemoryTokenStore` because one object cannot have both a sync and an async
    ``load``."""

    def __init__(self, token: OAuthToken | None = None) -> None:
        self._token = token
        self._refresh = asyncio.Lock()

    async def load(self) -> OAuthToken | None:
        """The current token."""
        return self._token

    async def save(self, token: OAuthToken, *, expected: OAuthToken | None) -> None:
        """Compare-and-set: raise :class:`TokenStoreConflict` unless the stored token is still ``expected``."""
        # No await between compare and set: atomic within the event loop.
        if self._token != expected:
            raise TokenStoreConflict("the stored token changed since it was loaded")
        self._token = token

    @asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        """Serialise refreshes among the tasks sharing this store."""
        async with self._refresh:
            yield

    def __repr__(self) -> str:
        return f"AsyncMemoryTokenStore({self._token!r})"


# ---------------------------------------------------------------------------------------------------- auth

RefreshReason = Literal["expiring", "unauthorized"]
RefreshOutcome = Literal["refreshed", "invalid_grant", "failed"]


@dataclass(frozen=True, slots=True)
class RefreshEvent:
    """What ``on_refresh`` sees of one token request made by :class:`RefreshingAuth`. No token values."""

    reason: RefreshReason
    """``expiring``: ``leeway`` or less was left; ``unauthorized``: the API answered 401."""
    outcome: RefreshOutcome
    remaining_seconds: float
    """Life the old access token had left when the refresh started (negative if expired)."""
    error: str | None = None
    """The exception's class name when the refresh failed."""


SyncRefresher = Callable[[OAuthToken], OAuthToken]
AsyncRefresher = Callable[[OAuthToken], Awaitable[OAuthToken]]


def _fingerprint(value: str) -> str:
    # Remember refused refresh tokens by digest, so this object never holds more secrets than it must.
    return hashlib.sha256(value.encode()).hexdigest()


def _not_sync(what: str) -> TypeError:
    return TypeError(f"{what} is async: use this RefreshingAuth with httpx.AsyncClient")


def _not_async(what: str) -> TypeError:
    return TypeError(f"{what} is sync: use this RefreshingAuth with httpx.Client, or an async {what}")


class RefreshingAuth(httpx.Auth):
    """``httpx.Auth`` that sends ``Authorization: Bearer`` from a token store and refreshes safely.

    - Refreshes only when ``leeway`` (default 300 s) or less of life is left, or once after a 401.
    - Single-flight: refreshes run under ``store.lock()`` and re-load first, so concurrent requests that all
      found the token expiring make exactly one token request and then use the token it produced. Async
      requests of one process queue on an in-process lock first, so only one of them takes ``store.lock()``.
    - Saves the new token (compare-and-set) BEFORE the new access token is sent anywhere.
    - A response without a refresh token keeps the old one.
    - 401: one forced refresh and one retry; a second 401 is returned as is (the caller raises
      ``AuthenticationError``). Never loops.
    - ``invalid_grant`` raises :class:`InvalidGrantError`, and that refresh token is never sent again by this
      object (until :meth:`reset`, or until the store holds another refresh token, e.g. after reconnecting).

    ``refresher`` is an :class:`OAuthClient` (use with ``httpx.Client`` and a :class:`TokenStore`), an
    :class:`AsyncOAuthClient` (``httpx.AsyncClient``, :class:`AsyncTokenStore`), or a callable taking the current
    token and returning (or, async, awaiting to) the new one. ``on_refresh`` gets a :class:`RefreshEvent` per
    token request; its exceptions are ignored."""

    requires_request_body = True  # so that the one retry after a 401 can resend the body

    def __init__(
        self,
        refresher: OAuthClient | AsyncOAuthClient | SyncRefresher | AsyncRefresher,
        store: TokenStore | AsyncTokenStore,
        *,
        leeway: timedelta = DEFAULT_LEEWAY,
        clock: Callable[[], datetime] | None = None,
        on_refresh: Callable[[RefreshEvent], None] | None = None,
    ) -> None:
        if leeway < timedelta(0):
            raise ValueError("leeway cannot be negative")
        self._refresher = refresher
        self._store = store
        self.leeway = leeway
        if clock is None:
            clock = refresher.clock if isinstance(refresher, _OAuthCore) else _utcnow
        self._clock = clock
        self._on_refresh = on_refresh
        self._refused: set[str] = set()
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _gate(self) -> asyncio.Lock:
        """This process's queue in front of ``store.lock()`` (one per event loop: an asyncio lock belongs to one)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Lock()
        return gate

    @property
    def needs_reauth(self) -> bool:
        """Whether a refresh was refused with ``invalid_grant`` (the user must connect again)."""
        return bool(self._refused)

    def reset(self) -> None:
        """Forget refused refresh tokens, allowing token requests with them again."""
        self._refused.clear()

    # -- shared decisions

    def _wants_refresh(self, token: OAuthToken, stale: OAuthToken | None) -> bool:
        if token.refresh_token is None:
            return False  # nothing to refresh with: send what we have and let the API decide
        if stale is not None:
            # After a 401: refresh only if nobody replaced the rejected token yet.
            return token.access_token == stale.access_token
        return token.needs_refresh(self._clock(), self.leeway)

    @staticmethod
    def _present(token: OAuthToken | None) -> OAuthToken:
        if token is None:
            raise MissingTokenError("the token store is empty: connect the account first")
        return token

    def _check_not_refused(self, token: OAuthToken) -> str:
        assert token.refresh_token is not None  # noqa: S101 - _wants_refresh guarantees it
        fingerprint = _fingerprint(token.refresh_token)
        if fingerprint in self._refused:
            raise InvalidGrantError(
                "this refresh token was already refused (invalid_grant): the user must connect again",
                error="invalid_grant",
            )
        return fingerprint

    def _emit(self, reason: RefreshReason, outcome: RefreshOutcome, remaining: float, error: str | None) -> None:
        if self._on_refresh is None:
            return
        # A metrics hook must never break authentication.
        with contextlib.suppress(Exception):
            self._on_refresh(RefreshEvent(reason, outcome, remaining, error))

    @staticmethod
    def _keep_refresh_token(new: OAuthToken, old: OAuthToken) -> OAuthToken:
        return new if new.refresh_token is not None else replace(new, refresh_token=old.refresh_token)

    # -- sync

    def _sync_store(self) -> TokenStore:
        store = self._store
        if inspect.iscoroutinefunction(store.load):
            raise _not_sync("the token store")
        return cast("TokenStore", store)

    def _call_sync_refresher(self, token: OAuthToken) -> OAuthToken:
        refresher = self._refresher
        if isinstance(refresher, AsyncOAuthClient):
            raise _not_sync("the OAuth client")
        if isinstance(refresher, OAuthClient):
            assert token.refresh_token is not None  # noqa: S101 - checked by the caller
            return refresher.refresh(token.refresh_token, previous=token)
        result = refresher(token)
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            raise _not_sync("the refresh callable")
        return result

    def _token_sync(self, stale: OAuthToken | None) -> tuple[OAuthToken, bool]:
        store = self._sync_store()
        token = self._present(store.load())
        if not self._wants_refresh(token, stale):
            return token, False
        with store.lock():
            token = self._present(store.load())  # whoever held the lock before us may have refreshed already
            if not self._wants_refresh(token, stale):
                return token, False
            reason: RefreshReason = "expiring" if stale is None else "unauthorized"
            fingerprint = self._check_not_refused(token)
            remaining = token.remaining(self._clock()).total_seconds()
            try:
                new = self._keep_refresh_token(self._call_sync_refresher(token), token)
            except InvalidGrantError as error:
                self._refused.add(fingerprint)
                self._emit(reason, "invalid_grant", remaining, type(error).__name__)
                raise
            except Exception as error:
                self._emit(reason, "failed", remaining, type(error).__name__)
                raise
            store.save(new, expected=token)  # committed before the new access token leaves this process
            self._emit(reason, "refreshed", remaining, None)
            return new, True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize ``request``; refresh first if needed; refresh once and retry once after a 401."""
        token, refreshed = self._token_sync(None)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        # A token this flow just obtained that is rejected will not be fixed by yet another rotation.
        if response.status_code != 401 or refreshed:
            return
        new, _ = self._token_sync(token)
        if new.access_token == token.access_token:
            return
        request.headers["Authorization"] = f"Bearer {new.access_token}"
        yield request

    # -- async

    def _async_store(self) -> AsyncTokenStore:
        store = self._store
        if not inspect.iscoroutinefunction(store.load):
            raise _not_async("token store")
        return cast("AsyncTokenStore", store)

    async def _call_async_refresher(self, token: OAuthToken) -> OAuthToken:
        refresher = self._refresher
        if isinstance(refresher, OAuthClient):
            raise _not_async("OAuth client")
        if isinstance(refresher, AsyncOAuthClient):
            assert token.refresh_token is not None  # noqa: S101 - checked by the caller
            return await refresher.refresh(token.refresh_token, previous=token)
        result = refresher(token)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _token_async(self, stale: OAuthToken | None) -> tuple[OAuthToken, bool]:
        store = self._async_store()
        token = self._present(await store.load())
        if not self._wants_refresh(token, stale):
            return token, False
        # Callers of this process queue here first: the one that refreshes goes on to the store's lock (which may
        # span processes, and costs a database round trip); the rest re-read and find its new token.
        async with self._gate():
            token = self._present(await store.load())
            if not self._wants_refresh(token, stale):
                return token, False
            return await self._refresh_async(store, token, stale)

    async def _refresh_async(
        self, store: AsyncTokenStore, token: OAuthToken, stale: OAuthToken | None
    ) -> tuple[OAuthToken, bool]:
        async with store.lock():
            token = self._present(await store.load())  # whoever held the lock before us may have refreshed
            if not self._wants_refresh(token, stale):
                return token, False
            reason: RefreshReason = "expiring" if stale is None else "unauthorized"
            fingerprint = self._check_not_refused(token)
            remaining = token.remaining(self._clock()).total_seconds()
            try:
                new = self._keep_refresh_token(await self._call_async_refresher(token), token)
            except InvalidGrantError as error:
                self._refused.add(fingerprint)
                self._emit(reason, "invalid_grant", remaining, type(error).__name__)
                raise
            except Exception as error:
                self._emit(reason, "failed", remaining, type(error).__name__)
                raise
            await store.save(new, expected=token)  # committed before the new access token is sent
            self._emit(reason, "refreshed", remaining, None)
            return new, True

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorize ``request``; refresh first if needed; refresh once and retry once after a 401."""
        token, refreshed = await self._token_async(None)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code != 401 or refreshed:
            return
        new, _ = await self._token_async(token)
        if new.access_token == token.access_token:
            return
        request.headers["Authorization"] = f"Bearer {new.access_token}"
        yield request

    def __repr__(self) -> str:
        return f"RefreshingAuth(leeway={self.leeway.total_seconds():g}s, needs_reauth={self.needs_reauth})"
