"""The Fanvue SDK: typed sync and async clients, OAuth with rotation-safe refresh, pagination, typed errors,
retries, client-side rate budgets and webhook verification. It stands alone: nothing here imports the rest of
Onyx. See ``docs/sdk.md``.

    from onyx_fanvue import FanvueClient

    with FanvueClient(access_token="...") as fanvue:
        for row in fanvue.insights.iter_earnings(start_date="2026-01-01T00:00:00Z"):
            print(row.date, row.source, row.net)
"""

from onyx_fanvue._base import DEFAULT_API_VERSION, DEFAULT_BASE_URL, RequestEvent, RetryPolicy
from onyx_fanvue._client import AsyncFanvueClient, BearerToken, FanvueClient
from onyx_fanvue._types import Money
from onyx_fanvue.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    CreatorNotAssignedError,
    FanvueError,
    InvalidClientError,
    InvalidGrantError,
    MalformedResponseError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SunsetAPIVersionError,
    TimeoutError,
    TransportError,
    UnsupportedAPIVersionError,
    ValidationError,
    WebhookVerificationError,
)
from onyx_fanvue.oauth import (
    AsyncMemoryTokenStore,
    AsyncOAuthClient,
    AsyncTokenStore,
    MemoryTokenStore,
    OAuthClient,
    OAuthToken,
    RefreshingAuth,
    TokenStore,
    generate_pkce,
    generate_state,
)
from onyx_fanvue.pagination import (
    AsyncCursorIterator,
    AsyncPageIterator,
    CursorIterator,
    PageIterator,
    PaginationError,
)
from onyx_fanvue.ratelimit import RateBudget, RateLimitInfo
from onyx_fanvue.redaction import Secret, SecretFilter, scrub
from onyx_fanvue.webhooks import WebhookVerifier, parse_event, verify_signature

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_URL",
    "APIStatusError",
    "AsyncCursorIterator",
    "AsyncFanvueClient",
    "AsyncMemoryTokenStore",
    "AsyncOAuthClient",
    "AsyncPageIterator",
    "AsyncTokenStore",
    "AuthenticationError",
    "BadRequestError",
    "BearerToken",
    "CreatorNotAssignedError",
    "CursorIterator",
    "FanvueClient",
    "FanvueError",
    "InvalidClientError",
    "InvalidGrantError",
    "MalformedResponseError",
    "MemoryTokenStore",
    "Money",
    "NotFoundError",
    "OAuthClient",
    "OAuthError",
    "OAuthToken",
    "PageIterator",
    "PaginationError",
    "PermissionDeniedError",
    "RateBudget",
    "RateLimitError",
    "RateLimitInfo",
    "RefreshingAuth",
    "RequestEvent",
    "RetryPolicy",
    "Secret",
    "SecretFilter",
    "ServerError",
    "SunsetAPIVersionError",
    "TimeoutError",
    "TokenStore",
    "TransportError",
    "UnsupportedAPIVersionError",
    "ValidationError",
    "WebhookVerificationError",
    "WebhookVerifier",
    "generate_pkce",
    "generate_state",
    "parse_event",
    "scrub",
    "verify_signature",
]
