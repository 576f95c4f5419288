"""The control API under ``/_sandbox``: switch faults, move the clock, change the world, read counters.

Every route needs the header ``X-Sandbox-Key: <control key>`` (printed by ``onyx sandbox``): a debug surface
without auth is one of the incidents Onyx exists to avoid. Errors are ``{message}`` with a 4xx status.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from litestar import Request, Response, Router, delete, get, post, put
from litestar.exceptions import HTTPException

from onyx_fanvue.sandbox.control_bodies import (
    Advance,
    Assignment,
    BodyError,
    Followers,
    Latency,
    NewEarning,
    NewRefund,
    TokenRequest,
    parse_body,
    parse_fault,
)
from onyx_fanvue.sandbox.world import iso

if TYPE_CHECKING:
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["control_router"]

T = TypeVar("T")


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _problem(_: Request[Any, Any, Any], error: Exception) -> Response[dict[str, str]]:
    if isinstance(error, ControlError | BodyError):
        return Response({"message": error.message}, status_code=error.status)
    if isinstance(error, HTTPException) and error.status_code < 500:
        return Response({"message": str(error.detail)}, status_code=error.status_code)
    return Response({"message": "The sandbox control API failed."}, status_code=500)


def control_router(sandbox: FanvueSandbox) -> Router:  # noqa: PLR0915 - one small closure per route
    def guard(request: Request[Any, Any, Any]) -> None:
        given = request.headers.get("x-sandbox-key", "")
        if not hmac.compare_digest(given.encode(), sandbox.control_key.encode()):
            raise ControlError(401, "Send the control key in the X-Sandbox-Key header.")

    def lookup(call: Callable[[], T]) -> T:
        try:
            return call()
        except KeyError as error:
            raise ControlError(404, str(error.args[0]) if error.args else "Not found") from None
        except ValueError as error:
            raise ControlError(400, str(error)) from None

    @get("/")
    async def info(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        return {
            "seed": sandbox.spec.seed,
            "now": iso(sandbox.clock.now()),
            "clientId": sandbox.client_id,
            "redirectUris": list(sandbox.redirect_uris),
            "rateLimit": {"limit": sandbox.limiter.limit, "windowSeconds": sandbox.limiter.window.total_seconds()},
            "latencySeconds": sandbox.latency,
            "users": [{"uuid": u.uuid, "handle": u.handle, "role": u.role} for u in sandbox.users],
            "creators": [c.uuid for c in sandbox.world.creators],
        }

    @get("/faults")
    async def list_faults(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        guard(request)
        return [f.to_json() for f in sandbox.faults.list()]

    @post("/faults", status_code=201)
    async def add_fault(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        spec = parse_fault(await request.body())
        return lookup(lambda: sandbox.add_fault(spec)).to_json()

    @delete("/faults/{fault_id:int}", status_code=204)
    async def remove_fault(request: Request[Any, Any, Any]) -> None:
        guard(request)
        fault_id = request.path_params["fault_id"]
        if not sandbox.faults.remove(fault_id):
            raise ControlError(404, f"No fault {fault_id}.")

    @delete("/faults", status_code=204)
    async def clear_faults(request: Request[Any, Any, Any]) -> None:
        guard(request)
        sandbox.faults.clear()

    @post("/clock/advance")
    async def advance(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        body = parse_body(await request.body(), Advance)
        lookup(lambda: sandbox.advance(body.seconds))
        return {"now": iso(sandbox.clock.now())}

    @put("/latency")
    async def latency(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        sandbox.latency = parse_body(await request.body(), Latency).seconds
        return {"latencySeconds": sandbox.latency}

    @post("/creators/{creator:str}/earnings", status_code=201)
    async def add_earning(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        body = parse_body(await request.body(), NewEarning)
        row = lookup(
            lambda: sandbox.add_earning(
                creator, gross=body.gross, source=body.source, at=body.date, fan_uuid=body.fan_uuid
            )
        )
        return row.to_json()

    @post("/creators/{creator:str}/refunds", status_code=201)
    async def add_refund(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        body = parse_body(await request.body(), NewRefund)
        row = lookup(
            lambda: sandbox.add_refund(
                creator, body.transaction_order_id, at=body.date, source=body.source, gross=body.gross
            )
        )
        return row.to_json()

    @put("/creators/{creator:str}/followers")
    async def followers(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        count = parse_body(await request.body(), Followers).count
        lookup(lambda: sandbox.set_followers(creator, count))
        return {"followers": count}

    @delete("/members/{member:str}/creators/{creator:str}", status_code=204)
    async def unassign(request: Request[Any, Any, Any]) -> None:
        guard(request)
        member, creator = request.path_params["member"], request.path_params["creator"]
        lookup(lambda: sandbox.unassign(member, creator))

    @put("/members/{member:str}/creators/{creator:str}", status_code=204)
    async def assign(request: Request[Any, Any, Any]) -> None:
        guard(request)
        member, creator = request.path_params["member"], request.path_params["creator"]
        role = parse_body(await request.body(), Assignment).role
        lookup(lambda: sandbox.assign(member, creator, role))

    @post("/users/{user:str}/revoke")
    async def revoke(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        user = request.path_params["user"]
        return {"revokedGrants": lookup(lambda: sandbox.revoke_grant(user))}

    @post("/tokens", status_code=201)
    async def tokens(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        body = parse_body(await request.body(), TokenRequest)
        scopes = body.scopes
        return lookup(lambda: sandbox.tokens(body.user, scopes) if scopes is not None else sandbox.tokens(body.user))

    @get("/stats")
    async def stats(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        served = sandbox.requests
        return {
            "tokenEndpointHits": sandbox.token_endpoint_hits,
            "requests": len(served),
            "byStatus": {str(k): v for k, v in sorted(Counter(s.status for s in served).items())},
            "byRoute": dict(sorted(Counter(f"{s.method} {s.route}" for s in served).items())),
        }

    return Router(
        path="/_sandbox",
        route_handlers=[
            info,
            list_faults,
            add_fault,
            remove_fault,
            clear_faults,
            advance,
            latency,
            add_earning,
            add_refund,
            followers,
            unassign,
            assign,
            revoke,
            tokens,
            stats,
        ],
        exception_handlers={Exception: _problem},
    )
