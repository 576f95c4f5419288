"""OAuth 2.0 for Fanvue: the authorization-code + PKCE flow, the token endpoint, token stores, and an
``httpx.Auth`` that refreshes rotating refresh tokens safely.

Fanvue's auth server (Ory Hydra) rotates refresh tokens: each refresh spends the old one, and spending it twice
answers ``invalid_grant`` and revokes the whole grant. So :class:`RefreshingAuth` refreshes late (``leeway``
before expiry), one refresh at a time per store (single-flight), saves the new token before anyone uses it,
and never asks again with a refresh token that was refused. See ``docs/sdk-oauth.md``.

The package has one module per concern: :mod:`~onyx_fanvue.oauth.pkce` (PKCE and ``state``),
:mod:`~onyx_fanvue.oauth.tokens` (:class:`OAuthToken`), :mod:`~onyx_fanvue.oauth.client` (the token endpoint),
:mod:`~onyx_fanvue.oauth.stores` (where tokens live) and :mod:`~onyx_fanvue.oauth.refreshing` (the ``httpx.Auth``).
"""

from __future__ import annotations

from onyx_fanvue.errors import InvalidTokenResponseError, MissingTokenError, OAuthServerError, TokenStoreConflict
from onyx_fanvue.oauth.client import AUTHORIZE_URL, DEFAULT_SCOPES, REVOKE_URL, TOKEN_URL, AsyncOAuthClient, OAuthClient
from onyx_fanvue.oauth.pkce import PkcePair, generate_pkce, generate_state, pkce_challenge
from onyx_fanvue.oauth.refreshing import DEFAULT_REVALIDATE_AFTER, RefreshEvent, RefreshingAuth
from onyx_fanvue.oauth.stores import (
    AsyncMemoryTokenStore,
    AsyncTokenStore,
    MemoryTokenStore,
    TokenStore,
    TokenStoreGeneration,
)
from onyx_fanvue.oauth.tokens import DEFAULT_EXPIRES_IN, DEFAULT_LEEWAY, OAuthToken

__all__ = [
    "AUTHORIZE_URL",
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_LEEWAY",
    "DEFAULT_REVALIDATE_AFTER",
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
    "TokenStoreGeneration",
    "generate_pkce",
    "generate_state",
    "pkce_challenge",
]
