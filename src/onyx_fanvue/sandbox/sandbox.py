"""``FanvueSandbox``: the whole offline Fanvue (API + OAuth server + control API) and the Python handle on it."""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar

from onyx_fanvue._base import DEFAULT_API_VERSION
from onyx_fanvue._client import AsyncFanvueClient, FanvueClient
from onyx_fanvue.oauth import AsyncOAuthClient, OAuthClient
from onyx_fanvue.sandbox.access import AccessBook
from onyx_fanvue.sandbox.api import build_app
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.faults import MAX_DELAY_SECONDS, Fault, FaultBoard, FaultKind, FaultSpec
from onyx_fanvue.sandbox.oauth_server import OAuthState, TokenInfo
from onyx_fanvue.sandbox.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW_SECONDS, RateLimiter
from onyx_fanvue.sandbox.transport import SandboxTransport, SyncSandboxTransport, drop_aware
from onyx_fanvue.sandbox.world import EARNING_SOURCES, EarningRow, SpendingRow, World, WorldSpec, build_world, net_of

__all__ = ["ALL_SCOPES", "DEFAULT_REDIRECT_URI", "FanvueSandbox", "SeededUser", "Served"]

ALL_SCOPES: tuple[str, ...] = (
    "openid",
    "offline_access",
    "offline",
    "read:self",
    "read:chat",
    "write:chat",
    "read:fan",
    "read:creator",
    "write:creator",
    "read:media",
    "write:media",
    "read:post",
    "write:post",
    "read:insights",
    "read:tracking_links",
    "write:tracking_links",
    "read:agency",
    "write:agency",
)
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEFAULT_CLIENT_ID = "onyx-sandbox-client"
_LOG_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Served:
    """One answered API request (the sandbox keeps the last 10,000)."""

    method: str
    path: str
    query: str
    route: str
    status: int
    user: str | None
    creator: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class SeededUser:
    uuid: str
    handle: str
    role: str  # "agency admin", "team member" or "creator"


class FanvueSandbox:
    """A seeded Fanvue you can call (in-process or over a socket), break and change while a client runs.

    ``FanvueSandbox(seed=1)`` builds the default world (3 creators, a year of earnings); pass ``spec`` for other
    sizes and ``clock=SandboxClock(instant)`` to freeze time. ``client()`` / ``async_client()`` give SDK clients
    wired to it in-process; ``app`` is the ASGI app to serve (``onyx sandbox`` does).
    """

    def __init__(
        self,
        *,
        seed: int = 1,
        spec: WorldSpec | None = None,
        clock: SandboxClock | None = None,
        expires_in: int = 3600,
        reuse_grace_seconds: float = 0,
        rate_limit: int = DEFAULT_LIMIT,
        rate_window_seconds: float = DEFAULT_WINDOW_SECONDS,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,),
        control_key: str | None = None,
        api_versions: Iterable[str] = (DEFAULT_API_VERSION,),
        sunset_versions: Mapping[str, str] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.spec = spec if spec is not None else WorldSpec(seed=seed)
        self.world: World = build_world(self.spec, self.clock.now())
        self.oauth = OAuthState(self.clock, expires_in=expires_in, reuse_grace_seconds=reuse_grace_seconds)
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.redirect_uris = tuple(redirect_uris)
        self.oauth.register_client(self.client_id, self.client_secret, self.redirect_uris, ALL_SCOPES)
        for user in self.users:
            self.oauth.add_user(user.uuid, user.handle)
        self.access = AccessBook(self.world)
        self.limiter = RateLimiter(self.clock, limit=rate_limit, window_seconds=rate_window_seconds)
        self.faults = FaultBoard(seed=self.spec.seed)
        self.control_key = control_key or secrets.token_urlsafe(24)
        self.api_versions = tuple(api_versions)
        self.sunset_versions = dict(sunset_versions or {})
        self._latency = 0.0
        self.latency = latency
        self.first_use_hooks: list[Callable[[str, TokenInfo], None]] = []
        """Called the first time the API sees an access token (tests check what a client stored before using it)."""
        self._seen_tokens: set[str] = set()
        self._log: deque[Served] = deque(maxlen=_LOG_SIZE)
        self._log_lock = threading.Lock()
        self._app: Any = None

    @property
    def latency(self) -> float:
        """Seconds every API answer is held back (0 to :data:`~onyx_fanvue.sandbox.faults.MAX_DELAY_SECONDS`)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if type(seconds) not in (int, float) or not 0 <= seconds <= MAX_DELAY_SECONDS:  # bool is not a duration
            raise ValueError(f"latency is a number of seconds between 0 and {MAX_DELAY_SECONDS:g}")
        self._latency = float(seconds)

    # ------------------------------------------------------------------------------------------- people

    @property
    def users(self) -> tuple[SeededUser, ...]:
        """Everyone who can sign in: the agency admin, the team, then the creators."""
        world = self.world
        people = [SeededUser(world.admin.uuid, world.admin.person.handle, "agency admin")]
        people += [SeededUser(m.uuid, m.person.handle, "team member") for m in world.team]
        people += [SeededUser(c.uuid, c.person.handle, "creator") for c in world.creators]
        return tuple(people)

    def user(self, who: str) -> str:
        """A seeded user's uuid from their uuid or handle."""
        found = self.oauth.find_user(who)
        if found is None:
            raise KeyError(f"no seeded user {who!r}")
        return found.uuid

    @property
    def admin(self) -> str:
        return self.world.admin.uuid

    def is_creator(self, person_uuid: str) -> bool:
        return self.world.is_creator(person_uuid)

    # ------------------------------------------------------------------------------------------- tokens

    def tokens(self, who: str | None = None, scopes: Iterable[str] = ALL_SCOPES) -> dict[str, Any]:
        """A token response for ``who`` (default: the agency admin) without the consent step."""
        return self.oauth.grant(self.client_id, self.user(who or self.admin), scopes)

    def token(self, who: str | None = None, scopes: Iterable[str] = ALL_SCOPES) -> str:
        """A fresh access token for ``who`` (default: the agency admin)."""
        return str(self.tokens(who, scopes)["access_token"])

    def saw_token(self, access_token: str, info: TokenInfo) -> None:
        """Called by the API for every accepted bearer token; runs the first-use hooks once per token."""
        with self._log_lock:
            if access_token in self._seen_tokens:
                return
            self._seen_tokens.add(access_token)
            hooks = list(self.first_use_hooks)
        for hook in hooks:
            hook(access_token, info)

    @property
    def token_endpoint_hits(self) -> int:
        return self.oauth.token_endpoint_hits

    def revoke_grant(self, who: str) -> int:
        """The user removed the app: every token of theirs stops working (401, then ``invalid_grant``)."""
        return self.oauth.revoke_user(self.user(who))

    # ------------------------------------------------------------------------------------------- faults

    def inject(self, kind: FaultKind | str, **options: Any) -> Fault:
        """Switch a fault on (see :class:`~onyx_fanvue.sandbox.faults.FaultSpec` for the options; a value of the
        wrong type or out of bounds is a ``ValueError``). ``user`` and ``creator`` take a seeded user's handle or
        uuid."""
        return self.add_fault(FaultSpec(FaultKind(kind), **options))

    def add_fault(self, fault: FaultSpec) -> Fault:
        """Switch ``fault`` on, with its ``user``/``creator`` resolved from handles to uuids."""
        resolved = replace(
            fault,
            user=None if fault.user is None else self.user(fault.user),
            creator=None if fault.creator is None else self._person_or_lower(fault.creator),
        )
        return self.faults.add(resolved)

    def _person_or_lower(self, who: str) -> str:
        found = self.oauth.find_user(who)
        return found.uuid if found is not None else who.lower()

    def clear_faults(self) -> None:
        self.faults.clear()

    def unassign(self, member: str, creator_uuid: str) -> bool:
        """Take a creator away from a team member (their creator-scoped calls then answer 404)."""
        return self.access.unassign(self.user(member), creator_uuid)

    def assign(self, member: str, creator_uuid: str, role: str = "CHATTER") -> None:
        self.access.assign(self.user(member), creator_uuid, role)

    def advance(self, seconds: float | timedelta) -> None:
        """Move the sandbox clock (token expiry, code expiry, rate-limit windows)."""
        self.clock.advance(seconds)

    # ------------------------------------------------------------------------------------------- world changes

    def add_earning(
        self,
        creator_uuid: str,
        *,
        gross: int,
        source: str = "tip",
        at: datetime | None = None,
        fan_uuid: str | None = None,
        order_id: str = "",
    ) -> EarningRow:
        """A new payment for the creator (default: now, from the creator's first fan; ``order_id``: its
        ``transactionOrderId``, default a new overlay id)."""
        if gross <= 0:
            raise ValueError("gross is positive cents")
        if source not in EARNING_SOURCES:
            raise ValueError(f"source must be one of {', '.join(EARNING_SOURCES)}")
        creator = self.world.creator(creator_uuid)
        when = (at or self.clock.now()).astimezone(UTC)
        fan = self.world.fan(fan_uuid) if fan_uuid else (creator.fans[0] if creator.fans else None)
        row = EarningRow(
            date=when,
            gross=gross,
            net=net_of(gross),
            source=source,
            transaction_order_id=order_id,
            transaction_order_status="pendingBalance",
            user=None if source in ("referral", "affiliate", "giveaway") else fan,
        )
        return self.world.add_earning(creator_uuid, row)

    def add_refund(
        self,
        creator_uuid: str,
        order_id: str,
        *,
        at: datetime | None = None,
        source: str = "refund",
        gross: int | None = None,
    ) -> SpendingRow:
        """Reverse an earlier payment (by ``transactionOrderId``), landing at ``at`` (default: now)."""
        original = next((r for r in self.world.iter_earnings(creator_uuid) if r.transaction_order_id == order_id), None)
        if original is None:
            raise KeyError(f"no earning {order_id} for creator {creator_uuid}")
        return self.world.add_refund(creator_uuid, original, at or self.clock.now(), source=source, gross=gross)

    def set_followers(self, creator_uuid: str, count: int) -> None:
        self.world.set_followers(creator_uuid, count)

    # ------------------------------------------------------------------------------------------- serving

    @property
    def app(self) -> Any:
        """The ASGI app: the API, the OAuth server under ``/oauth2`` and the control API under ``/_sandbox``."""
        if self._app is None:
            self._app = drop_aware(self._build())
        return self._app

    def _build(self) -> Litestar:
        from onyx_fanvue.sandbox.control import control_router  # noqa: PLC0415 - they import this module
        from onyx_fanvue.sandbox.endpoints import api_route_handlers  # noqa: PLC0415
        from onyx_fanvue.sandbox.oauth_server import create_oauth_router  # noqa: PLC0415

        return build_app([create_oauth_router(self.oauth), control_router(self), *api_route_handlers(self)])

    def record(
        self, method: str, path: str, query: str, route: str, status: int, user: str | None, creator: str | None
    ) -> None:
        served = Served(method, path, query, route, status, user, creator, self.clock.now())
        with self._log_lock:
            self._log.append(served)

    @property
    def requests(self) -> list[Served]:
        """The API requests answered so far (newest last; at most 10,000)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _before(self, request: httpx.Request) -> None:
        """In-process only: a ``connect_timeout`` fault stops the request before it reaches the app."""
        from onyx_fanvue.sandbox.endpoints import route_of  # noqa: PLC0415

        route, creator = route_of(request.method, request.url.path)
        if route is None:
            return
        bearer = request.headers.get("authorization", "").partition(" ")[2]
        info = self.oauth.introspect(bearer)
        user = info.user_uuid if info else None
        subject = creator or user
        kinds = frozenset({FaultKind.CONNECT_TIMEOUT})
        if self.faults.pick(request.method, route, request.url.path, subject, user, kinds=kinds) is not None:
            raise httpx.ConnectTimeout("The sandbox refused to connect (connect_timeout fault).", request=request)

    def transport(self) -> SandboxTransport:
        """An async httpx transport into this sandbox (for ``httpx.AsyncClient`` or ``AsyncFanvueClient``)."""
        return SandboxTransport(self.app, before=self._before)

    def sync_transport(self) -> SyncSandboxTransport:
        """A sync httpx transport into this sandbox (runs the app on a helper thread)."""
        return SyncSandboxTransport(self.app, before=self._before)

    def client(self, who: str | None = None, **options: Any) -> FanvueClient:
        """An SDK client signed in as ``who`` (default: the agency admin), talking to this sandbox in-process."""
        if "access_token" not in options and "auth" not in options:
            options["access_token"] = self.token(who)
        return FanvueClient(transport=self.sync_transport(), **options)

    def async_client(self, who: str | None = None, **options: Any) -> AsyncFanvueClient:
        """The async twin of :meth:`client`."""
        if "access_token" not in options and "auth" not in options:
            options["access_token"] = self.token(who)
        return AsyncFanvueClient(transport=self.transport(), **options)

    def oauth_client(self, redirect_uri: str | None = None, **options: Any) -> OAuthClient:
        """The SDK's OAuth client for this sandbox's app registration, in-process, on the sandbox clock (so token
        expiry is computed in the sandbox's time, which tests move)."""
        options.setdefault("clock", self.clock.now)
        http = httpx.Client(transport=self.sync_transport())
        return OAuthClient(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=redirect_uri or self.redirect_uris[0],
            http_client=http,
            **options,
        )

    def async_oauth_client(self, redirect_uri: str | None = None, **options: Any) -> AsyncOAuthClient:
        """The async twin of :meth:`oauth_client`."""
        options.setdefault("clock", self.clock.now)
        http = httpx.AsyncClient(transport=self.transport())
        return AsyncOAuthClient(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=redirect_uri or self.redirect_uris[0],
            http_client=http,
            **options,
        )
