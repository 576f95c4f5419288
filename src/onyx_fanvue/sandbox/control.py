"""The control API under ``/_sandbox``: switch faults, move the clock, change the world, read counters.

Every route needs the header ``X-Sandbox-Key: <control key>`` (printed by ``onyx sandbox``): a debug surface
without auth is one of the incidents Onyx exists to avoid. Errors are ``{message}`` with a 4xx status.
"""

from __future__ import annotations

import hmac
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, Router, delete, get, post, put
from litestar.exceptions import HTTPException

from onyx_fanvue.sandbox.faults import Fault, FaultKind
from onyx_fanvue.sandbox.world import iso

if TYPE_CHECKING:
    from onyx_fanvue.sandbox.sandbox import FanvueSandbox

__all__ = ["control_router"]

_FAULT_FIELDS = {
    "kind": "kind",
    "route": "route",
    "creator": "creator",
    "user": "user",
    "method": "method",
    "rate": "rate",
    "times": "times",
    "status": "status",
    "seconds": "seconds",
    "retryAfter": "retry_after",
}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _problem(_: Request[Any, Any, Any], error: Exception) -> Response[dict[str, str]]:
    if isinstance(error, ControlError):
        return Response({"message": error.message}, status_code=error.status)
    if isinstance(error, HTTPException) and error.status_code < 500:
        return Response({"message": str(error.detail)}, status_code=error.status_code)
    return Response({"message": "The sandbox control API failed."}, status_code=500)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return body


def _seconds(body: Any) -> float:
    seconds = _object(body).get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ControlError(400, "seconds must be a non-negative number")
    return float(seconds)


def _instant(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ControlError(400, f"{name} must be an ISO 8601 date-time with an offset") from None
    if moment.tzinfo is None:
        raise ControlError(400, f"{name} must carry a UTC offset")
    return moment


def _fault_from(body: dict[str, Any]) -> Fault:
    unknown = set(body) - set(_FAULT_FIELDS)
    if unknown:
        raise ControlError(400, f"Unknown fault fields: {', '.join(sorted(unknown))}")
    if "kind" not in body:
        raise ControlError(400, f"kind is required: one of {', '.join(k.value for k in FaultKind)}")
    try:
        return Fault(**{_FAULT_FIELDS[k]: v for k, v in body.items()})
    except (TypeError, ValueError) as error:
        raise ControlError(400, f"Invalid fault: {error}") from None


def _fault_json(fault: Fault) -> dict[str, Any]:
    raw = fault.to_json()
    raw["retryAfter"] = raw.pop("retry_after")
    return raw


def control_router(sandbox: FanvueSandbox) -> Router:  # noqa: PLR0915 - one small closure per route
    def guard(request: Request[Any, Any, Any]) -> None:
        given = request.headers.get("x-sandbox-key", "")
        if not hmac.compare_digest(given.encode(), sandbox.control_key.encode()):
            raise ControlError(401, "Send the control key in the X-Sandbox-Key header.")

    def lookup(call: Any) -> Any:
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
        return [_fault_json(f) for f in sandbox.faults.list()]

    @post("/faults", status_code=201)
    async def add_fault(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        fault = _fault_from(_object(await request.json()))
        return _fault_json(lookup(lambda: sandbox.add_fault(fault)))

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
        seconds = _seconds(await request.json())
        sandbox.advance(seconds)
        return {"now": iso(sandbox.clock.now())}

    @put("/latency")
    async def latency(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        sandbox.latency = _seconds(await request.json())
        return {"latencySeconds": sandbox.latency}

    @post("/creators/{creator:str}/earnings", status_code=201)
    async def add_earning(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        body = _object(await request.json())
        gross = body.get("gross")
        if not isinstance(gross, int) or isinstance(gross, bool):
            raise ControlError(400, "gross is required: integer cents")
        row = lookup(
            lambda: sandbox.add_earning(
                creator,
                gross=gross,
                source=str(body.get("source", "tip")),
                at=_instant(body.get("date"), "date"),
                fan_uuid=body.get("fanUuid"),
            )
        )
        return row.to_json()  # type: ignore[no-any-return]

    @post("/creators/{creator:str}/refunds", status_code=201)
    async def add_refund(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        body = _object(await request.json())
        order, gross = body.get("transactionOrderId"), body.get("gross")
        if not isinstance(order, str):
            raise ControlError(400, "transactionOrderId is required")
        if gross is not None and (not isinstance(gross, int) or isinstance(gross, bool)):
            raise ControlError(400, "gross must be integer cents")
        row = lookup(
            lambda: sandbox.add_refund(
                creator,
                order,
                at=_instant(body.get("date"), "date"),
                source=str(body.get("source", "refund")),
                gross=gross,
            )
        )
        return row.to_json()  # type: ignore[no-any-return]

    @put("/creators/{creator:str}/followers")
    async def followers(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        creator = request.path_params["creator"]
        count = _object(await request.json()).get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise ControlError(400, "count is required: an integer")
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
        raw = await request.body()
        role = _object(await request.json()).get("role", "CHATTER") if raw else "CHATTER"
        lookup(lambda: sandbox.assign(member, creator, str(role)))

    @post("/users/{user:str}/revoke")
    async def revoke(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        user = request.path_params["user"]
        return {"revokedGrants": lookup(lambda: sandbox.revoke_grant(user))}

    @post("/tokens", status_code=201)
    async def tokens(request: Request[Any, Any, Any]) -> dict[str, Any]:
        guard(request)
        body = _object(await request.json())
        who = body.get("user")
        if not isinstance(who, str):
            raise ControlError(400, "user is required: a seeded user's handle or uuid")
        scopes = body.get("scopes")
        if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
            raise ControlError(400, "scopes must be a list of strings")
        return lookup(lambda: sandbox.tokens(who, scopes) if scopes is not None else sandbox.tokens(who))  # type: ignore[no-any-return]

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
