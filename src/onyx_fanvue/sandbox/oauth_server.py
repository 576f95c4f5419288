"""An in-memory OAuth 2.0 authorization server modelled on Fanvue's (Ory Hydra).

- ``GET /oauth2/auth``: authorization code + PKCE (S256 required). A ``login_hint`` naming a seeded user (handle
  or uuid) approves at once (302 to ``redirect_uri?code=…&state=…``); otherwise a tiny HTML consent page posts
  to ``POST /oauth2/auth``.
- ``POST /oauth2/token``: ``authorization_code`` (single-use code, 10 min, bound to client, redirect URI, PKCE
  challenge, scopes and user) and ``refresh_token`` (rotating, single-use: a reuse answers 400 ``invalid_grant``
  "The refresh token was already used." and revokes the whole token family). Client auth: HTTP Basic (form-
  encoded id and secret, RFC 6749 §2.3.1) or ``client_id`` + ``client_secret`` in the body.
- ``POST /oauth2/revoke``: RFC 7009, revokes the token's whole family; 200 for any token of a valid client.

Like Hydra (fosite), a refresh retires the access token issued with the refresh token it uses, and a reused
authorization code revokes the tokens it produced. Errors are RFC 6749 ``{error, error_description}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from litestar import Litestar, Request, Response, Router, get, post
from litestar.exceptions import HTTPException

from onyx_fanvue.sandbox.clock import SandboxClock

__all__ = [
    "ACCESS_TOKEN_PREFIX",
    "CODE_LIFETIME",
    "REFRESH_TOKEN_PREFIX",
    "OAuthClientRegistration",
    "OAuthProtocolError",
    "OAuthState",
    "OAuthUser",
    "TokenInfo",
    "create_oauth_app",
    "create_oauth_router",
]

ACCESS_TOKEN_PREFIX = "ory_at_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "ory_rt_"  # noqa: S105 - a prefix, not a secret
CODE_PREFIX = "ory_ac_"
CODE_LIFETIME = timedelta(minutes=10)
OFFLINE_SCOPES = frozenset({"offline_access", "offline"})
"""Either grants a refresh token (Hydra accepts both names)."""

_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_REUSED = "The refresh token was already used."
_INACTIVE = "The token is inactive: it is malformed, expired, revoked or was not issued to this client."


class OAuthProtocolError(Exception):
    """An RFC 6749 error answer: ``error`` code, human ``description`` and HTTP status."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status_code = status_code


def _invalid_client(description: str = "Client authentication failed.") -> OAuthProtocolError:
    return OAuthProtocolError("invalid_client", description, 401)


@dataclass(frozen=True, slots=True)
class OAuthClientRegistration:
    """A registered client: exact-match redirect URIs and the scopes it may ask for."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class OAuthUser:
    """A user who can log in and approve: ``uuid`` and ``handle``."""

    uuid: str
    handle: str


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a valid access token stands for (see :meth:`OAuthState.introspect`)."""

    user_uuid: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime


@dataclass(slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    user_uuid: str
    expires_at: datetime
    family: int | None = None  # set once exchanged: the code is spent


@dataclass(slots=True)
class _Family:
    client_id: str
    user_uuid: str
    scopes: tuple[str, ...]
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Access:
    family: int
    scopes: tuple[str, ...]
    expires_at: datetime
    revoked: bool = False


@dataclass(slots=True)
class _Refresh:
    family: int
    access: str  # the access token issued with it: the one a refresh with this token retires
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A validated ``/oauth2/auth`` request."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str


class OAuthState:
    """The server's data: clients, users, codes and token families. Thread-safe; time from ``clock``."""

    def __init__(
        self,
        clock: SandboxClock | None = None,
        *,
        expires_in: int = 3600,
        code_lifetime: timedelta = CODE_LIFETIME,
        reuse_grace_seconds: float = 0,
    ) -> None:
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        if reuse_grace_seconds < 0:
            raise ValueError("reuse_grace_seconds cannot be negative")
        self.clock = clock or SandboxClock()
        self.expires_in = expires_in
        self.code_lifetime = code_lifetime
        self.reuse_grace_seconds = reuse_grace_seconds
        self._lock = threading.RLock()
        self._clients: dict[str, OAuthClientRegistration] = {}
        self._users: dict[str, OAuthUser] = {}
        self._codes: dict[str, _Code] = {}
        self._families: dict[int, _Family] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._next_family = 0
        self.token_endpoint_hits = 0
        """Requests to ``POST /oauth2/token`` so far (tests check refresh discipline with it)."""

    def count_token_hit(self) -> None:
        with self._lock:
            self.token_endpoint_hits += 1

    # -- registration

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: Iterable[str], scopes: Iterable[str]
    ) -> OAuthClientRegistration:
        """Register (or replace) a client."""
        client = OAuthClientRegistration(client_id, client_secret, tuple(redirect_uris), frozenset(scopes))
        with self._lock:
            self._clients[client_id] = client
        return client

    def add_user(self, uuid: str, handle: str) -> OAuthUser:
        """Add (or replace) a user who can approve requests."""
        user = OAuthUser(uuid, handle)
        with self._lock:
            self._users[uuid] = user
        return user

    @property
    def users(self) -> tuple[OAuthUser, ...]:
        with self._lock:
            return tuple(self._users.values())

    def find_user(self, hint: str) -> OAuthUser | None:
        """The user whose uuid or handle (``@`` optional, any case) is ``hint``."""
        with self._lock:
            if hint in self._users:
                return self._users[hint]
            handle = hint.removeprefix("@").casefold()
            return next((u for u in self._users.values() if u.handle.casefold() == handle), None)

    # -- authorization

    def validate_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Check an authorization request. Errors before the redirect URI is trusted have ``status_code`` 400/401
        and must not redirect; later ones (``status_code`` 302) go back to the client's redirect URI."""
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise _invalid_client("The requested OAuth 2.0 client does not exist.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            raise OAuthProtocolError(
                "invalid_request", "The 'redirect_uri' parameter does not match any registered redirect URI."
            )
        if params.get("response_type") != "code":
            raise OAuthProtocolError("unsupported_response_type", "Only response_type=code is supported.", 302)
        state = params.get("state", "")
        if len(state) < 8:
            raise OAuthProtocolError("invalid_state", "The state is missing or has fewer than 8 characters.", 302)
        challenge = params.get("code_challenge", "")
        if params.get("code_challenge_method") != "S256" or not _CHALLENGE.match(challenge):
            raise OAuthProtocolError("invalid_request", "PKCE with code_challenge_method=S256 is required.", 302)
        scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
        if not set(scopes) <= client.scopes:
            raise OAuthProtocolError("invalid_scope", "The client is not allowed to request some of the scopes.", 302)
        return AuthorizeRequest(client.client_id, redirect_uri, scopes, state, challenge)

    def issue_code(self, request: AuthorizeRequest, user_uuid: str) -> str:
        """A fresh single-use code for ``request`` approved by ``user_uuid``."""
        code = CODE_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            if user_uuid not in self._users:
                raise OAuthProtocolError("access_denied", "Unknown user.", 302)
            self._codes[code] = _Code(
                request.client_id,
                request.redirect_uri,
                request.code_challenge,
                request.scopes,
                user_uuid,
                self.clock.now() + self.code_lifetime,
            )
        return code

    # -- token endpoint

    def authenticate_client(self, client_id: str, client_secret: str) -> OAuthClientRegistration:
        """The client, if the secret is right; else ``invalid_client`` (401)."""
        with self._lock:
            client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
            raise _invalid_client()
        return client

    def exchange_code(
        self, client: OAuthClientRegistration, code: str, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        """Trade a code for tokens (the JSON body of the token response)."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client.client_id:
                raise OAuthProtocolError("invalid_grant", "The authorization code is not valid.")
            if record.family is not None:
                self._revoke_family(record.family)
                raise OAuthProtocolError("invalid_grant", "The authorization code has already been used.")
            if self.clock.now() >= record.expires_at:
                raise OAuthProtocolError("invalid_grant", "The authorization code has expired.")
            if redirect_uri != record.redirect_uri:
                raise OAuthProtocolError(
                    "invalid_grant", "The 'redirect_uri' does not match the one of the authorization request."
                )
            if not _VERIFIER.match(code_verifier) or not hmac.compare_digest(_s256(code_verifier), record.challenge):
                raise OAuthProtocolError("invalid_grant", "The PKCE code challenge did not match the code verifier.")
            family_id = self._next_family
            self._next_family += 1
            self._families[family_id] = _Family(client.client_id, record.user_uuid, record.scopes)
            record.family = family_id
            return self._issue(family_id, record.scopes)

    def refresh(self, client: OAuthClientRegistration, refresh_token: str, scope: str | None) -> dict[str, Any]:
        """Rotate a refresh token (the JSON body of the token response)."""
        with self._lock:
            now = self.clock.now()
            record = self._refresh.get(refresh_token)
            if record is None or self._families[record.family].client_id != client.client_id:
                raise OAuthProtocolError("invalid_grant", _INACTIVE)
            family = self._families[record.family]
            if family.revoked:
                raise OAuthProtocolError("invalid_grant", _REUSED if record.used_at is not None else _INACTIVE)
            if record.used_at is not None:
                in_grace = (now - record.used_at).total_seconds() < self.reuse_grace_seconds
                if not in_grace:
                    self._revoke_family(record.family)
                    raise OAuthProtocolError("invalid_grant", _REUSED)
            scopes = family.scopes
            if scope is not None:
                wanted = tuple(dict.fromkeys(scope.split()))
                if not set(wanted) <= set(family.scopes):
                    raise OAuthProtocolError(
                        "invalid_scope", "The requested scope exceeds the scope of the original grant."
                    )
                scopes = wanted or family.scopes
            if record.used_at is None:
                record.used_at = now
            # fosite retires the access token issued with this refresh token; within a reuse grace period the other
            # refresh's fresh access token must survive, or two workers would revoke each other back and forth
            self._access[record.access].revoked = True
            return self._issue(record.family, scopes)

    def grant(self, client_id: str, user_uuid: str, scopes: Iterable[str]) -> dict[str, Any]:
        """Issue tokens as if ``user_uuid`` had approved ``client_id`` for ``scopes`` (a test shortcut past the
        consent and code exchange; the token endpoint is not hit). Returns the token response body."""
        wanted = tuple(dict.fromkeys(scopes))
        with self._lock:
            client = self._clients.get(client_id)
            if client is None:
                raise KeyError(f"no client {client_id}")
            if user_uuid not in self._users:
                raise KeyError(f"no user {user_uuid}")
            if not set(wanted) <= client.scopes:
                raise ValueError("the client is not allowed some of these scopes")
            family_id = self._next_family
            self._next_family += 1
            self._families[family_id] = _Family(client_id, user_uuid, wanted)
            return self._issue(family_id, wanted)

    def revoke(self, client: OAuthClientRegistration, token: str) -> None:
        """Revoke the family of ``token`` (access or refresh) if it belongs to ``client``; silently otherwise."""
        with self._lock:
            access = self._access.get(token)
            refresh = self._refresh.get(token)
            family_id = access.family if access is not None else refresh.family if refresh is not None else None
            if family_id is not None and self._families[family_id].client_id == client.client_id:
                self._revoke_family(family_id)

    def revoke_user(self, user_uuid: str, client_id: str | None = None) -> int:
        """Revoke every grant of a user (to one client, or all): the user removed the app. Returns how many."""
        with self._lock:
            ids = [
                i
                for i, f in self._families.items()
                if f.user_uuid == user_uuid and not f.revoked and client_id in (None, f.client_id)
            ]
            for family_id in ids:
                self._revoke_family(family_id)
            return len(ids)

    def unspent_refresh_tokens(self, token: str) -> frozenset[str]:
        """The refresh tokens of ``token``'s grant (``token``: any access or refresh token it issued) that were never
        used: while the grant lives exactly one (a refresh spends the token it uses as it issues the next), none once
        the grant is revoked or if ``token`` is unknown. Tests compare a client's stored refresh token with it."""
        with self._lock:
            access = self._access.get(token)
            refresh = self._refresh.get(token)
            family_id = access.family if access is not None else refresh.family if refresh is not None else None
            if family_id is None or self._families[family_id].revoked:
                return frozenset()
            tokens = self._families[family_id].refresh_tokens
            return frozenset(t for t in tokens if self._refresh[t].used_at is None)

    def introspect(self, access_token: str) -> TokenInfo | None:
        """What a bearer token stands for, or ``None`` if it is unknown, expired or revoked."""
        with self._lock:
            access = self._access.get(access_token)
            if access is None or access.revoked or self.clock.now() >= access.expires_at:
                return None
            family = self._families[access.family]
            if family.revoked:
                return None
            return TokenInfo(family.user_uuid, family.client_id, frozenset(access.scopes), access.expires_at)

    def _issue(self, family_id: int, scopes: tuple[str, ...]) -> dict[str, Any]:
        family = self._families[family_id]
        access = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._access[access] = _Access(family_id, scopes, self.clock.now() + timedelta(seconds=self.expires_in))
        family.access_tokens.add(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(scopes),
        }
        if OFFLINE_SCOPES & set(family.scopes):
            refresh = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
            self._refresh[refresh] = _Refresh(family_id, access)
            family.refresh_tokens.add(refresh)
            body["refresh_token"] = refresh
        return body

    def _revoke_family(self, family_id: int) -> None:
        family = self._families[family_id]
        family.revoked = True
        for token in family.access_tokens:
            self._access[token].revoked = True


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------------------------------------- HTTP


def _error_response(error: OAuthProtocolError) -> Response[dict[str, str]]:
    headers = dict(_NO_STORE)
    if error.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="fanvue-sandbox"'
    return Response(
        {"error": error.error, "error_description": error.description},
        status_code=error.status_code,
        headers=headers,
    )


def _on_oauth_error(_: Request[Any, Any, Any], error: OAuthProtocolError) -> Response[dict[str, str]]:
    return _error_response(error)


def _on_http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, str]]:
    code = "invalid_request" if error.status_code < 500 else "server_error"
    return Response(
        {"error": code, "error_description": str(error.detail)}, status_code=error.status_code, headers=_NO_STORE
    )


def _on_any_error(_: Request[Any, Any, Any], __: Exception) -> Response[dict[str, str]]:
    return Response(
        {"error": "server_error", "error_description": "The authorization server failed."},
        status_code=500,
        headers=_NO_STORE,
    )


_EXCEPTION_HANDLERS: Any = {
    OAuthProtocolError: _on_oauth_error,
    HTTPException: _on_http_error,
    Exception: _on_any_error,
}


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def _redirect(url: str) -> Response[str]:
    return Response("", status_code=302, headers={"Location": url, **_NO_STORE})


async def _single_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The form body (or nothing), refusing repeated parameters (RFC 6749 §3.1)."""
    form = await request.form()
    values: dict[str, str] = {}
    for key in form:
        items = form.getall(key)
        if len(items) != 1 or not isinstance(items[0], str):
            raise OAuthProtocolError("invalid_request", f"The parameter {key!r} must appear once, as text.")
        values[key] = items[0]
    return values


def _query_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key in request.query_params:
        items = request.query_params.getall(key)
        if len(items) != 1:
            raise OAuthProtocolError("invalid_request", f"The parameter {key!r} must appear once.")
        values[key] = items[0]
    return values


def _client(state: OAuthState, request: Request[Any, Any, Any], form: Mapping[str, str]) -> OAuthClientRegistration:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise _invalid_client("Only HTTP Basic client authentication is supported.")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_client("The HTTP Basic credentials are malformed.") from None
        raw_id, colon, raw_secret = decoded.partition(":")
        if not colon:
            raise _invalid_client("The HTTP Basic credentials are malformed.")
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form.get("client_id", client_id) != client_id:
            raise _invalid_client("The client_id in the body does not match the HTTP Basic credentials.")
        return state.authenticate_client(client_id, secret)
    if "client_id" in form and "client_secret" in form:
        return state.authenticate_client(form["client_id"], form["client_secret"])
    raise _invalid_client("Client authentication is required.")


def _required(form: Mapping[str, str], *names: str) -> None:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise OAuthProtocolError("invalid_request", f"The request is missing {', '.join(map(repr, missing))}.")


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Fanvue sandbox - authorize</title></head>
<body><h1>Authorize {client}</h1><p>Scopes: {scopes}</p>
<form method="post" action="/oauth2/auth">{hidden}
<label>User <select name="user">{options}</select></label>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>
"""


def _consent_page(state: OAuthState, params: Mapping[str, str], request: AuthorizeRequest) -> Response[str]:
    esc = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in params.items() if k != "login_hint"
    )
    options = "".join(f'<option value="{esc(u.uuid)}">@{esc(u.handle)}</option>' for u in state.users)
    body = _PAGE.format(
        client=esc(request.client_id), scopes=esc(" ".join(request.scopes)), hidden=hidden, options=options
    )
    return Response(body, media_type="text/html", headers=_NO_STORE)


def _authorize(state: OAuthState, params: Mapping[str, str]) -> AuthorizeRequest | Response[str]:
    """Validate; a redirectable error becomes its 302 back to the client."""
    try:
        return state.validate_authorize(params)
    except OAuthProtocolError as error:
        if error.status_code != 302:
            raise
        query = {"error": error.error, "error_description": error.description}
        if params.get("state"):
            query["state"] = params["state"]
        return _redirect(_with_query(params["redirect_uri"], query))


def _approve(state: OAuthState, request: AuthorizeRequest, user: OAuthUser) -> Response[str]:
    code = state.issue_code(request, user.uuid)
    return _redirect(_with_query(request.redirect_uri, {"code": code, "state": request.state}))


def create_oauth_router(state: OAuthState) -> Router:
    """The ``/oauth2`` routes over ``state``, with RFC 6749 error bodies and never a stack trace."""

    @get("/auth")
    async def authorize_page(request: Request[Any, Any, Any]) -> Response[str]:
        params = _query_values(request)
        checked = _authorize(state, params)
        if isinstance(checked, Response):
            return checked
        user = state.find_user(params["login_hint"]) if params.get("login_hint") else None
        if user is not None:
            return _approve(state, checked, user)
        return _consent_page(state, params, checked)

    @post("/auth")
    async def authorize_submit(request: Request[Any, Any, Any]) -> Response[str]:
        form = await _single_values(request)
        checked = _authorize(state, form)
        if isinstance(checked, Response):
            return checked
        user = state.find_user(form.get("user", ""))
        if form.get("decision") != "approve" or user is None:
            query = {
                "error": "access_denied",
                "error_description": "The user denied the request.",
                "state": checked.state,
            }
            return _redirect(_with_query(checked.redirect_uri, query))
        return _approve(state, checked, user)

    @post("/token")
    async def token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        state.count_token_hit()
        form = await _single_values(request)
        client = _client(state, request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            _required(form, "code", "redirect_uri", "code_verifier")
            body = state.exchange_code(client, form["code"], form["redirect_uri"], form["code_verifier"])
        elif grant_type == "refresh_token":
            _required(form, "refresh_token")
            body = state.refresh(client, form["refresh_token"], form.get("scope"))
        elif not grant_type:
            raise OAuthProtocolError("invalid_request", "The request is missing 'grant_type'.")
        else:
            raise OAuthProtocolError("unsupported_grant_type", "Only authorization_code and refresh_token.")
        return Response(body, status_code=200, headers=_NO_STORE)

    @post("/revoke")
    async def revoke(request: Request[Any, Any, Any]) -> Response[str]:
        form = await _single_values(request)
        client = _client(state, request, form)
        _required(form, "token")
        state.revoke(client, form["token"])
        return Response("", status_code=200, headers=_NO_STORE)

    return Router(
        path="/oauth2",
        route_handlers=[authorize_page, authorize_submit, token, revoke],
        exception_handlers=_EXCEPTION_HANDLERS,
    )


def create_oauth_app(state: OAuthState) -> Litestar:
    """A Litestar app serving only the OAuth routes (debug off: no stack trace in any response)."""
    return Litestar(route_handlers=[create_oauth_router(state)], debug=False, exception_handlers=_EXCEPTION_HANDLERS)
