"""The sandbox's Fanvue API: an endpoint table and the one pipeline every request goes through.

Order of checks (each answer carries Fanvue's body for it):

1. ``X-Fanvue-API-Version`` missing or unknown → 400 ``{error: "Unsupported API version", message}``; a sunset
   version → 410 ``{error, message, nextVersion}``;
2. bearer token unknown, expired or revoked → 401 ``{error: "Unauthorized"}``;
3. rate limit (key ``clientId:userUuid[:creatorUuid]``) → 429 ``{error}`` with ``Retry-After``; from here on every
   answer carries ``X-RateLimit-Limit/-Remaining/-Reset``;
4. injected faults (see :mod:`onyx_fanvue.sandbox.faults`);
5. scopes → 403 ``{error}``; ``/agencies/*`` for agency admins only → 403;
6. ``/creators/{uuid}/*``: malformed uuid → 400 ``{message}``; a creator the member may not see (or that does not
   exist) → 404 ``{message: "Creator not found or not assigned to team member"}``;
7. the handler.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import anyio
import pydantic_core
from litestar import HttpMethod, Litestar, Request, Response, route
from litestar.exceptions import HTTPException

from onyx_fanvue.sandbox._http import ApiError, Query, Reply, check_uuid, not_found
from onyx_fanvue.sandbox.faults import Fault, FaultKind
from onyx_fanvue.sandbox.ratelimit import RateDecision, rate_key
from onyx_fanvue.sandbox.transport import DROP_HEADER
from onyx_fanvue.sandbox.world import World

if TYPE_CHECKING:
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["NOT_ASSIGNED", "Ctx", "Endpoint", "Shape", "mirrored"]

NOT_ASSIGNED = "Creator not found or not assigned to team member"
_log = logging.getLogger("onyx_fanvue.sandbox")
_CREATOR_PREFIX = "/creators/{creator}"
_JSON = "application/json"
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Shape(StrEnum):
    """What a 200 looks like, so an ``empty`` fault can answer the endpoint's own empty form."""

    PAGE = "page"  # {data, pagination}
    CURSOR = "cursor"  # {data, nextCursor}
    ARRAY = "array"  # a bare JSON array
    DATA = "data"  # {data} without paging
    OBJECT = "object"  # a single object


@dataclass(frozen=True)
class Ctx:
    """What a handler gets: who calls, about whom, with which query and body."""

    sandbox: FanvueSandbox
    user: str
    client_id: str
    scopes: frozenset[str]
    creator: str | None
    params: Mapping[str, str]
    query: Query
    body: Any = None

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def subject(self) -> str:
        """The account the request is about: the managed creator, or the caller."""
        return self.creator if self.creator is not None else self.user

    @property
    def now(self) -> datetime:
        return self.sandbox.clock.now()

    def subject_is_creator(self) -> bool:
        return self.sandbox.is_creator(self.subject)


Handler = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Fanvue's template, e.g. ``/creators/{creator}/insights/earnings``
    scopes: tuple[str, ...]
    handler: Handler
    shape: Shape = Shape.OBJECT
    admin_only: bool = False
    empty: Callable[[Any], Any] | None = None  # OBJECT endpoints: the body a permission problem would give
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(self.path))
        object.__setattr__(self, "_regex", re.compile(f"^{pattern}$"))

    @property
    def has_empty_form(self) -> bool:
        """Whether an ``empty`` fault can apply (reads with a list shape or an ``empty`` body; not writes)."""
        return self.method == "GET" and (self.shape is not Shape.OBJECT or self.empty is not None)

    @property
    def creator_scoped(self) -> bool:
        return self.path.startswith(_CREATOR_PREFIX)

    @property
    def litestar_path(self) -> str:
        return re.sub(r"\{([a-z_]+)\}", r"{\1:str}", self.path)

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and bool(self._regex.match(path))

    def empty_body(self, body: Any) -> Any:
        if self.shape is Shape.PAGE:
            page = body.get("pagination", {}).get("page", 1) if isinstance(body, dict) else 1
            return {"data": [], "pagination": {"page": page, "size": 0, "hasMore": False}}
        if self.shape is Shape.CURSOR:
            return {"data": [], "nextCursor": None}
        if self.shape is Shape.ARRAY:
            return []
        if self.shape is Shape.DATA:
            return {"data": []}
        return self.empty(body) if self.empty is not None else body


def mirrored(
    method: str,
    path: str,
    scopes: tuple[str, ...],
    handler: Handler,
    shape: Shape = Shape.OBJECT,
    *,
    creator_scope: str = "read:creator",
    empty: Callable[[Any], Any] | None = None,
) -> list[Endpoint]:
    """The own-account endpoint and its ``/creators/{creator}`` mirror, which also needs ``creator_scope``."""
    return [
        Endpoint(method, path, scopes, handler, shape, empty=empty),
        Endpoint(method, _CREATOR_PREFIX + path, (creator_scope, *scopes), handler, shape, empty=empty),
    ]


# ------------------------------------------------------------------------------------------------ pipeline


def _json_response(body: Any, status: int, headers: Mapping[str, str], *, cut: bool = False) -> Response[bytes]:
    raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    if cut:
        raw = raw[: max(1, len(raw) // 2)]
    return Response(raw, status_code=status, headers=dict(headers), media_type=_JSON)


def _fault_response(fault: Fault, headers: dict[str, str]) -> Response[bytes]:
    if fault.kind is FaultKind.RATE_LIMIT:
        headers.update({"X-RateLimit-Remaining": "0", "Retry-After": str(fault.retry_after)})
        return _json_response({"error": "Too Many Requests"}, 429, headers)
    if fault.status == 500:
        return _json_response({"error": "Internal Server Error"}, 500, headers)
    page = _GATEWAY_PAGE.format(status=fault.status, reason=_REASONS[fault.status]).encode()
    return Response(page, status_code=fault.status, headers=headers, media_type="text/html")


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class Pipeline:
    """Runs one endpoint's checks, faults and handler for a request."""

    def __init__(self, sandbox: FanvueSandbox, endpoint: Endpoint) -> None:
        self.sandbox = sandbox
        self.endpoint = endpoint

    async def __call__(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        sandbox = self.sandbox
        headers: dict[str, str] = {}
        user: str | None = None
        creator = request.path_params.get("creator") if self.endpoint.creator_scoped else None
        try:
            self._check_version(request)
            bearer = _bearer(request) or ""
            info = sandbox.oauth.introspect(bearer)
            if info is None:
                raise ApiError(401, {"error": "Unauthorized"})
            sandbox.saw_token(bearer, info)
            user = info.user_uuid
            decision = self._rate(info.client_id, user, creator)
            headers.update(decision.headers())
            if not decision.allowed:
                raise ApiError(429, {"error": "Too Many Requests"}, decision.headers())
            subject = creator.lower() if creator is not None else user
            response = await self._faulted(request, subject, user, headers)
            if response is not None:
                return self._served(request, response, user, creator)
            self._authorize(info.scopes, user, creator)
            body = await self._body(request)
            ctx = Ctx(
                sandbox,
                user,
                info.client_id,
                info.scopes,
                creator.lower() if creator else None,
                dict(request.path_params),
                Query({k: request.query_params.getall(k) for k in request.query_params}),
                body,
            )
            result = self.endpoint.handler(ctx)
            reply = result if isinstance(result, Reply) else Reply(result)
            response = self._success(request, reply, headers)
        except ApiError as error:
            headers.update(error.headers)
            response = _json_response(error.body, error.status, headers)
        except Exception:  # a sandbox bug: log it here, answer Fanvue's plain 500 (with the rate headers)
            _log.exception("sandbox handler failed: %s %s", request.method, self.endpoint.path)
            response = _json_response({"error": "Internal Server Error"}, 500, headers)
        return self._served(request, response, user, creator)

    def _check_version(self, request: Request[Any, Any, Any]) -> None:
        version = request.headers.get("x-fanvue-api-version")
        sunset = self.sandbox.sunset_versions
        if version in sunset:
            raise ApiError(
                410,
                {
                    "error": "API version sunset",
                    "message": f"API version {version} is no longer available.",
                    "nextVersion": sunset[version],
                },
            )
        if version not in self.sandbox.api_versions:
            supported = ", ".join(self.sandbox.api_versions)
            raise ApiError(
                400,
                {
                    "error": "Unsupported API version",
                    "message": f"Send the X-Fanvue-API-Version header with one of: {supported}.",
                },
            )

    def _rate(self, client_id: str, user: str, creator: str | None) -> RateDecision:
        return self.sandbox.limiter.take(rate_key(client_id, user, creator.lower() if creator else None))

    async def _faulted(
        self, request: Request[Any, Any, Any], subject: str, user: str, headers: dict[str, str]
    ) -> Response[bytes] | None:
        """Apply latency and any fault that stops the request here; ``None`` lets it go on."""
        faults = self.sandbox.faults
        method, route_, path = request.method, self.endpoint.path, request.url.path
        delay = self.sandbox.latency
        slow = faults.pick(method, route_, path, subject, user, kinds=frozenset({FaultKind.LATENCY}))
        if slow is not None:
            delay += slow.seconds
        if delay > 0:
            await anyio.sleep(delay)
        kinds = _SERVER_FAULTS if self.endpoint.has_empty_form else _SERVER_FAULTS - {FaultKind.EMPTY}
        fault = faults.pick(method, route_, path, subject, user, kinds=kinds)
        request.state.sandbox_fault = fault
        if fault is None:
            return None
        if fault.kind is FaultKind.HANG:
            await anyio.sleep(fault.seconds)
            return None
        if fault.kind in (FaultKind.ERROR, FaultKind.RATE_LIMIT):
            return _fault_response(fault, headers)
        if fault.kind is FaultKind.RESET:
            return _json_response({"error": "connection dropped"}, 200, {**headers, DROP_HEADER.decode(): "1"})
        return None  # MALFORMED and EMPTY act on the handler's answer

    def _authorize(self, scopes: frozenset[str], user: str, creator: str | None) -> None:
        missing = [s for s in self.endpoint.scopes if s not in scopes]
        if missing:
            raise ApiError(403, {"error": f"Forbidden: missing scope {' '.join(missing)}"})
        access = self.sandbox.access
        if self.endpoint.admin_only and not access.is_admin(user):
            raise ApiError(403, {"error": "Forbidden: agency admin access required"})
        if creator is not None:
            uuid = check_uuid(creator, "creatorUserUuid")
            if not access.can_access(user, uuid) or not self.sandbox.is_creator(uuid):
                raise not_found(NOT_ASSIGNED)

    async def _body(self, request: Request[Any, Any, Any]) -> Any:
        if self.endpoint.method not in ("POST", "PUT", "PATCH"):
            return None
        raw = await request.body()
        if not raw:
            return None
        try:  # pydantic's parser: runaway nesting, huge numbers, NaN and bad UTF-8 are errors, not crashes
            return pydantic_core.from_json(raw, allow_inf_nan=False)
        except ValueError:
            raise ApiError(400, {"errors": ["The request body must be JSON."]}) from None

    def _success(self, request: Request[Any, Any, Any], reply: Reply, headers: dict[str, str]) -> Response[bytes]:
        fault: Fault | None = request.state.sandbox_fault
        body = reply.body
        if fault is not None and fault.kind is FaultKind.EMPTY and reply.status == 200:
            body = self.endpoint.empty_body(body)
        if reply.status == 204:
            return Response(b"", status_code=204, headers=headers)
        cut = fault is not None and fault.kind is FaultKind.MALFORMED
        return _json_response(body, reply.status, headers, cut=cut)

    def _served(
        self, request: Request[Any, Any, Any], response: Response[bytes], user: str | None, creator: str | None
    ) -> Response[bytes]:
        status = response.status_code or 200
        self.sandbox.record(
            request.method,
            request.url.path,
            request.url.query,
            self.endpoint.path,
            status,
            user,
            creator,
        )
        return response


_SERVER_FAULTS = frozenset(
    {
        FaultKind.ERROR,
        FaultKind.HANG,
        FaultKind.RATE_LIMIT,
        FaultKind.MALFORMED,
        FaultKind.EMPTY,
        FaultKind.RESET,
    }
)


def _handler(sandbox: FanvueSandbox, endpoint: Endpoint) -> Any:
    pipeline = Pipeline(sandbox, endpoint)

    async def handle(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await pipeline(request)

    return route(
        endpoint.litestar_path,
        http_method=[HttpMethod(endpoint.method)],
        name=f"{endpoint.method} {endpoint.path}",
        status_code=200,  # the pipeline sets each answer's status; Litestar's 204 default for DELETE forbids bodies
    )(handle)


def _not_found(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if error.status_code == 405:
        return _json_response({"message": "Method not allowed"}, 405, {})
    if error.status_code == 404:
        return _json_response({"message": "Not found"}, 404, {})
    return _json_response({"message": "Bad request"}, error.status_code if error.status_code < 500 else 500, {})


def _failed(_: Request[Any, Any, Any], __: Exception) -> Response[bytes]:
    return _json_response({"error": "Internal Server Error"}, 500, {})


def api_handlers(sandbox: FanvueSandbox, endpoints: Iterable[Endpoint]) -> list[Any]:
    return [_handler(sandbox, e) for e in endpoints]


EXCEPTION_HANDLERS: Any = {HTTPException: _not_found, Exception: _failed}


def build_app(route_handlers: list[Any]) -> Litestar:
    """The Litestar app (debug off: no stack trace ever reaches a client)."""
    return Litestar(
        route_handlers=route_handlers, debug=False, exception_handlers=EXCEPTION_HANDLERS, logging_config=None
    )
