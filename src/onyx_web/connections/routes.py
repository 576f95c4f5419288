"""Connecting Fanvue from the browser (OAuth 2 authorization code + PKCE S256), and each connection's health.

- ``POST /api/connections/fanvue/start`` (a member who may manage connections, from her cookie session):
  the core's ``begin_connect`` makes a single-use ``state`` (256 bits) bound to the session and a PKCE verifier
  (64 characters) kept server-side, encrypted; the answer is the authorize URL to send the browser to.
- ``POST /api/invites/{token}/connect`` (public): a creator connects her own account through a creator-connect
  invitation (``begin_creator_connect``); the invitation secret is also set in a short-lived ``__Host-`` cookie,
  so the callback is finished by the browser that started it.
- ``GET /connections/fanvue/callback`` (public: the browser lands here from Fanvue): ``finish_connect`` takes the
  attempt (whatever happens next, it is used up); a missing, unknown, used, expired or other-session ``state``
  answers 400 before any token request. Then the code is exchanged with the attempt's verifier (the composition
  root's OAuth client: the same one ``onyx connect`` uses), the grant is stored encrypted
  (``store_agency_grant`` / ``store_creator_grant``), the agency's creators are imported, the action is audited,
  and the browser is sent (303) to ``/connections?connected=agency`` (or ``=creator``: the page thanks her).
- ``GET /api/connections`` and ``GET /api/connections/{connection_id}``: health, from what the stored connection
  already knows (never a call to Fanvue).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.response import Redirect
from msgspec import Meta

from onyx_adapters.connect import (
    GrantElsewhereError,
    StoredGrant,
    UnreadableConnectionError,
    WrongAccountError,
    store_agency_grant,
    store_creator_grant,
)
from onyx_adapters.runtime import Runtime
from onyx_core.accounts import (
    AccountsDeps,
    Permission,
    Principal,
    authenticate_session,
    begin_connect,
    begin_creator_connect,
    finish_connect,
    peek_invite,
    record_audit,
    require,
)
from onyx_core.accounts.errors import InvalidInvite, NotAuthenticated
from onyx_core.accounts.model import AuditAction, InviteKind, OAuthAttempt
from onyx_core.accounts.usecases.connections import (
    ConnectionHealth,
    get_connection_health,
    list_connection_health,
)
from onyx_core.errors import InvalidCiphertextError, NotFoundError, OnyxError
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.usecases import import_creators
from onyx_fanvue.errors import FanvueError, InvalidGrantError
from onyx_fanvue.oauth import DEFAULT_SCOPES, OAuthToken, pkce_challenge
from onyx_fanvue.redaction import install_log_filter
from onyx_web.accounts.authentication import PUBLIC, Credentials, credentials_of
from onyx_web.accounts.caller import client_ip, principal_of, refuse_cross_site
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import Problem, problem_spec
from onyx_web.runtime import Web, WebRuntime

__all__ = [
    "CALLBACK_PATH",
    "INVITE_COOKIE",
    "AuthorizeUrl",
    "ConnectionView",
    "ConnectionsController",
    "CreatorConnectBody",
    "StartBody",
    "connection_view",
    "fanvue_callback",
    "invite_connect",
    "needed_scopes",
    "readable",
]

CALLBACK_PATH = "/connections/fanvue/callback"
"""Where Fanvue sends the browser back: ``ONYX_FANVUE_REDIRECT_URI`` must be this path on the web's own origin."""
INVITE_COOKIE = "__Host-onyx_invite_connect"
"""Holds a creator's invitation secret between her start and the callback (10 minutes at most)."""
DONE = "/connections"
KNOWN_OAUTH_ERRORS = frozenset(
    {
        "access_denied",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "login_required",
        "consent_required",
        "interaction_required",
    }
)

logger = logging.getLogger("onyx_web.connections")
install_log_filter("onyx_web.connections")

HintField = Annotated[str, Meta(max_length=200)] | None


@dataclass(frozen=True, slots=True)
class StartBody:
    reconnect_connection_id: Annotated[str, Meta(max_length=200)] | None = None
    """Reconnect this connection (the same Fanvue account must grant again)."""
    login_hint: HintField = None
    """Passed to the authorization server (the Fanvue sandbox approves a seeded user at once with it)."""


@dataclass(frozen=True, slots=True)
class CreatorConnectBody:
    login_hint: HintField = None


@dataclass(frozen=True, slots=True)
class AuthorizeUrl:
    authorize_url: str


@dataclass(frozen=True, slots=True)
class ConnectionView:
    id: str
    kind: str
    """``agency`` or ``creator``."""
    account_name: str
    fanvue_user_uuid: str
    creator_id: str | None
    status: str
    """``active``, ``needs_reconsent`` or ``revoked``."""
    stored_status: str
    scopes_granted: list[str]
    scopes_needed: list[str]
    scopes_missing: list[str]
    last_used_at: datetime | None
    last_refreshed_at: datetime | None
    last_error: str | None
    reconnect: str | None
    """``reconnect`` (POST /api/connections/fanvue/start with ``reconnect_connection_id``), ``creator_invite``
    (a new creator-connect invitation), or ``None`` while active."""
    reconnect_hint: str | None


_HINTS = {
    "reconnect": "Reconnect: start Connect Fanvue again with this connection's id and sign in as the same account.",
    "creator_invite": "Only the creator can grant access again: send her a new creator-connect invitation.",
}


def connection_view(health: ConnectionHealth) -> ConnectionView:
    hint = None if health.reconnect is None else health.reconnect.value
    return ConnectionView(
        id=health.id,
        kind=health.kind.value,
        account_name=health.account_name,
        fanvue_user_uuid=health.fanvue_user_uuid,
        creator_id=health.creator_id,
        status=health.state.value,
        stored_status=health.stored_status.value,
        scopes_granted=list(health.scopes_granted),
        scopes_needed=list(health.scopes_needed),
        scopes_missing=list(health.scopes_missing),
        last_used_at=health.last_used_at,
        last_refreshed_at=health.last_refreshed_at,
        last_error=health.last_error,
        reconnect=hint,
        reconnect_hint=None if hint is None else _HINTS[hint],
    )


def _authorize_url(runtime: Runtime, state: str, verifier: str, login_hint: str | None) -> str:
    extra = {"login_hint": login_hint} if login_hint else {}
    return runtime.oauth.authorization_url(state, pkce_challenge(verifier), **extra)


_ERRORS = {
    400: problem_spec("Bad request"),
    401: problem_spec("Not logged in, or no browser session (an API token cannot connect)"),
    403: problem_spec("The role cannot manage connections, or the CSRF token is missing or wrong"),
    404: problem_spec("No such connection in the caller's agency"),
    503: problem_spec("Connecting Fanvue is not configured on this server"),
}


_UNREADABLE = problem_spec("Stored connections cannot be decrypted with this server's ONYX_CIPHER_KEYS")


@contextmanager
def readable() -> Iterator[None]:
    """Stored tokens under a key the ring lacks: the server's configuration is at fault, and says so (not a 500)."""
    try:
        yield
    except InvalidCiphertextError:
        raise Problem(
            503, "Stored connections cannot be decrypted with this server's keys: check ONYX_CIPHER_KEYS."
        ) from None


class ConnectionsController(Controller):
    path = "/api/connections"
    tags = ["connections"]  # noqa: RUF012 (Litestar's own attribute)

    @post("/fanvue/start", status_code=200, responses=_ERRORS)
    async def start(
        self, request: Request[Any, Any, Any], data: JSONBody[StartBody], accounts: Accounts, web: Web
    ) -> AuthorizeUrl:
        """Start connecting (or reconnecting) the agency's Fanvue account: send the browser to ``authorize_url``."""
        credentials = request.auth
        if not isinstance(credentials, Credentials) or credentials.scheme != "session":
            raise Problem(401, "Connect Fanvue from a browser session (an API token cannot).")
        runtime = web.fanvue()
        start = await begin_connect(
            accounts, principal_of(request), session_secret=credentials.secret, reconnect=data.reconnect_connection_id
        )
        return AuthorizeUrl(_authorize_url(runtime, start.state, start.code_verifier, data.login_hint))

    @get(responses={401: _ERRORS[401], 403: _ERRORS[403], 503: _UNREADABLE})
    async def list_connections(
        self, request: Request[Any, Any, Any], accounts: Accounts, web: Web
    ) -> list[ConnectionView]:
        """Every connection of the agency the caller may see, with its health."""
        needed = needed_scopes(web)
        with readable():
            return [connection_view(h) for h in await list_connection_health(accounts, principal_of(request), needed)]

    @get(
        "/{connection_id:str}",
        responses={401: _ERRORS[401], 403: _ERRORS[403], 404: _ERRORS[404], 503: _UNREADABLE},
    )
    async def get_connection(
        self,
        request: Request[Any, Any, Any],
        connection_id: Annotated[str, PathParameter(max_length=200)],
        accounts: Accounts,
        web: Web,
    ) -> ConnectionView:
        """One connection's health (404 for another agency's or one outside the caller's creator scope)."""
        with readable():
            health = await get_connection_health(accounts, principal_of(request), connection_id, needed_scopes(web))
            return connection_view(health)


def needed_scopes(web: WebRuntime) -> tuple[str, ...]:
    """The scopes Onyx asks Fanvue for (the composition root's OAuth client's)."""
    return DEFAULT_SCOPES if web.runtime is None else web.runtime.oauth.scopes


@post(
    "/api/invites/{token:str}/connect",
    opt={PUBLIC: True},
    status_code=200,
    tags=["connections"],
    responses={
        404: problem_spec("The invitation is unknown, used, revoked, expired or not a creator-connect one"),
        403: _ERRORS[403],
        503: _ERRORS[503],
    },
)
async def invite_connect(
    request: Request[Any, Any, Any],
    token: Annotated[str, PathParameter(max_length=200)],
    data: JSONBody[CreatorConnectBody],
    accounts: Accounts,
    web: Web,
) -> Response[AuthorizeUrl]:
    """A creator connects her own Fanvue account through a creator-connect invitation (no Onyx account needed)."""
    refuse_cross_site(request, "Start from Onyx's own page.")
    try:
        # the link first: a dead link is 404 whatever this server's configuration (nothing to learn from a guess)
        if (await peek_invite(accounts, secret=token)).kind is not InviteKind.CREATOR_CONNECT:
            raise InvalidInvite("not a creator-connect invitation")
        runtime = web.fanvue()
        start = await begin_creator_connect(accounts, invite_secret=token)
    except InvalidInvite:
        raise Problem(
            404, "This invitation link is not valid (used, revoked, expired or not for connecting)."
        ) from None
    cookie = Cookie(
        key=INVITE_COOKIE,
        value=token,
        path="/",
        domain=None,
        secure=True,
        httponly=True,
        samesite="lax",
        max_age=int(accounts.policy.oauth_attempt_lifetime.total_seconds()),
    )
    url = _authorize_url(runtime, start.state, start.code_verifier, data.login_hint)
    return Response(AuthorizeUrl(url), status_code=200, cookies=[cookie])


def _gone_invite_cookie() -> Cookie:
    return Cookie(
        key=INVITE_COOKIE, value="", path="/", domain=None, secure=True, httponly=True, samesite="lax", max_age=0
    )


@get(
    "/connections/fanvue/callback",
    opt={PUBLIC: True},
    status_code=303,
    tags=["connections"],
    include_in_schema=True,
    responses={
        400: problem_spec("Missing, unknown, used, expired or other-session state; refused or failed sign-in"),
        401: _ERRORS[401],
        403: _ERRORS[403],
        409: problem_spec("The Fanvue account cannot be stored here (another agency's, not the reconnected one)"),
        502: problem_spec("Fanvue did not complete the connection; nothing was stored"),
        503: _ERRORS[503],
    },
)
async def fanvue_callback(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    web: Web,
    code: Annotated[str | None, QueryParameter(max_length=2048)] = None,
    oauth_state: Annotated[str | None, QueryParameter(name="state", max_length=512)] = None,
    error: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Redirect:
    """Where Fanvue sends the browser back after the sign-in: store the grant, import creators, go to
    ``/connections``."""
    if error is not None:
        # refused or failed at Fanvue: no token request; the attempt expires unused (a creator keeps her invitation)
        said = error if error in KNOWN_OAUTH_ERRORS else "an error"
        raise Problem(400, f"Fanvue answered {said}: nothing was connected. Start again to retry.")
    credentials = credentials_of(request)
    session = credentials.secret if credentials is not None and credentials.scheme == "session" else None
    # a creator's attempt is finished by the browser that started it: it holds the invitation in a cookie ("" never
    # matches, so a browser without it is refused rather than let through unbound)
    invite = request.cookies.get(INVITE_COOKIE, "")
    attempt = await finish_connect(accounts, state=oauth_state or "", session_secret=session, invite_secret=invite)
    principal = await _member_of(accounts, attempt, session)
    if not code:
        raise Problem(400, "Fanvue's answer carries no code: start again.")
    runtime = web.fanvue()  # after the state: a made-up callback learns nothing of the configuration
    token = await _exchange(runtime, code, attempt)
    grant = await _store(runtime, attempt, token, accounts, principal, request)
    await _import(runtime, attempt, grant)
    reconnected = grant.connection.token_version > 1
    action = AuditAction.CONNECTION_RECONNECTED if reconnected else AuditAction.CONNECTION_ADDED
    details = {"kind": grant.connection.kind.value, "handle": grant.handle}
    await record_audit(
        accounts, principal, action, target=grant.connection.id, details=details, ip=client_ip(request),
        agency_id=attempt.agency_id,
    )  # fmt: skip
    location = f"{DONE}?connected={'agency' if attempt.invite_id is None else 'creator'}"  # the page says so
    cookies = [] if attempt.invite_id is None else [_gone_invite_cookie()]
    return Redirect(location, status_code=303, cookies=cookies)


async def _member_of(accounts: AccountsDeps, attempt: OAuthAttempt, session: str | None) -> Principal | None:
    """The member finishing her own attempt, still logged in and still allowed to manage connections (the role
    may have changed since she started); ``None`` for a creator's attempt."""
    if attempt.invite_id is not None:
        return None
    try:
        principal = await authenticate_session(accounts, session or "")
    except NotAuthenticated:
        raise Problem(401, "Your session ended: log in and connect again.") from None
    if principal.member.id != attempt.member_id:
        raise Problem(400, "This sign-in belongs to another session: start again.")
    require(principal, Permission.MANAGE_CONNECTIONS)
    return principal


async def _exchange(runtime: Runtime, code: str, attempt: OAuthAttempt) -> OAuthToken:
    try:
        return await runtime.oauth.exchange_code(code, attempt.code_verifier)
    except InvalidGrantError:
        raise Problem(400, "Fanvue refused the sign-in code (expired or already used): connect again.") from None
    except (FanvueError, ValueError) as failure:
        logger.warning("code exchange failed: %s", type(failure).__name__)
        raise Problem(502, "Fanvue did not complete the connection; nothing was stored. Try again.") from None


async def _store(
    runtime: Runtime,
    attempt: OAuthAttempt,
    token: OAuthToken,
    accounts: AccountsDeps,
    principal: Principal | None,
    request: Request[Any, Any, Any],
) -> StoredGrant:
    try:
        if attempt.invite_id is not None:
            return await store_creator_grant(
                runtime.ctx, token, client_options=runtime.client_options, agency_id=attempt.agency_id
            )
        return await store_agency_grant(
            runtime.ctx,
            token,
            attempt.agency_id,
            await _agency_name(runtime, attempt.agency_id),
            client_options=runtime.client_options,
            reconnect=_reconnected(attempt),
        )
    except (FanvueError, OnyxError) as failure:
        await record_audit(
            accounts, principal, AuditAction.CONNECTION_FAILED, details={"why": type(failure).__name__},
            ip=client_ip(request), agency_id=attempt.agency_id,
        )  # fmt: skip
        raise _store_problem(failure) from None


def _store_problem(failure: Exception) -> Problem:
    if isinstance(failure, GrantElsewhereError):
        return Problem(409, "This Fanvue account is already connected to another agency; nothing was stored.")
    if isinstance(failure, WrongAccountError):
        return Problem(409, "Sign in as the Fanvue account of the connection you reconnect; nothing was stored.")
    if isinstance(failure, NotFoundError):
        return Problem(409, "This Fanvue account is not one of the agency's creators; nothing was stored.")
    if isinstance(failure, UnreadableConnectionError):
        logger.error("stored tokens unreadable with the configured cipher keys: %s", failure.connection_id)
        return Problem(503, "The stored connection cannot be read with this server's keys; nothing was changed.")
    logger.warning("storing the grant failed: %s", type(failure).__name__)
    return Problem(502, "Fanvue did not complete the connection; nothing was stored. Try again.")


def _reconnected(attempt: OAuthAttempt) -> ConnectionId | None:
    return None if attempt.reconnect_connection_id is None else ConnectionId(attempt.reconnect_connection_id)


async def _agency_name(runtime: Runtime, agency_id: AgencyId) -> str:
    async with runtime.ctx.uow() as uow:
        agency = await uow.agencies.get(agency_id)
    return agency.name if agency is not None else agency_id


async def _import(runtime: Runtime, attempt: OAuthAttempt, grant: StoredGrant) -> None:
    """Import the agency's creators with its new grant (as ``onyx sync`` does first). A failure leaves the
    connection stored: the next sync imports them."""
    if attempt.invite_id is not None:
        return
    try:
        await import_creators(runtime.ctx, attempt.agency_id)
    except (FanvueError, OnyxError) as failure:
        logger.warning("importing creators after connecting %s failed: %s", grant.connection.id, type(failure).__name__)
