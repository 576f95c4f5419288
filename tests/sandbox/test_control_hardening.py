"""Nothing a client sends to the control API can crash or brick the sandbox: every bad body is a 400 ``{message}``,
nothing bad is stored, and the API keeps answering afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from onyx_fanvue.sandbox.faults import FaultKind
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"

HOSTILE_BODIES: dict[str, bytes] = {
    "truncated JSON": b'{"seconds": 1',
    "not JSON": b"hello",
    "invalid UTF-8": b'\xff\xfe{"seconds": 1}',
    "NaN": b'{"seconds": NaN}',
    "Infinity": b'{"seconds": Infinity}',
    "huge integer": b'{"seconds": ' + b"9" * 5000 + b"}",
    "100k-deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "a bare array": b"[1, 2]",
    "null": b"null",
}


def _control_routes(sandbox: FanvueSandbox) -> list[tuple[str, str]]:
    creator = sandbox.world.creators[0].uuid
    member = sandbox.world.team[0].uuid
    return [
        ("POST", "/faults"),
        ("POST", "/clock/advance"),
        ("PUT", "/latency"),
        ("POST", f"/creators/{creator}/earnings"),
        ("POST", f"/creators/{creator}/refunds"),
        ("PUT", f"/creators/{creator}/followers"),
        ("PUT", f"/members/{member}/creators/{creator}"),
        ("POST", "/tokens"),
    ]


@pytest.fixture
def control(sandbox: FanvueSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=sandbox.sync_transport(),
        base_url=f"{API}/_sandbox",
        headers={"X-Sandbox-Key": sandbox.control_key, "Content-Type": "application/json"},
        timeout=5,
    ) as http:
        yield http


@pytest.fixture
def api(sandbox: FanvueSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token()}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers, timeout=5) as http:
        yield http


def _assert_problem(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    assert len(body["message"]) < 1000  # a clear line, not an echo of the input


def _assert_unharmed(sandbox: FanvueSandbox, api: httpx.Client, before: Any) -> None:
    assert sandbox.faults.list() == ()
    assert sandbox.latency == 0
    assert sandbox.clock.now() == before
    assert api.get("/users/me").status_code == 200
    assert api.get("/insights/earnings", params={"size": 5}).status_code == 200


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_hostile_bodies_are_400_on_every_control_route(
    control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox, name: str
) -> None:
    before = sandbox.clock.now()
    for method, path in _control_routes(sandbox):
        response = control.request(method, path, content=HOSTILE_BODIES[name])
        assert response.status_code == 400, (method, path, response.text[:200])
        _assert_problem(response)
    _assert_unharmed(sandbox, api, before)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error", "route": 123},
        {"kind": "error", "status": 500.0},
        {"kind": "error", "creator": []},
        {"kind": "error", "user": {}},
        {"kind": "error", "method": 7},
        {"kind": "error", "rate": "1"},
        {"kind": "error", "times": 1.5},
        {"kind": "error", "rate": True},
        {"kind": "hang", "seconds": "3"},
        {"kind": "rate_limit", "retryAfter": 2.5},
        {"kind": "latency", "seconds": 1e308},
        {"kind": "hang", "seconds": 86_400 * 365},
        {"kind": "rate_limit", "retryAfter": 10**30},
        {"kind": "error", "times": 10**30},
        {"kind": "error", "route": "x" * 100_000},
        {"kind": ["error"]},
    ],
)
def test_fault_fields_of_the_wrong_type_or_size_are_refused(
    control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox, fault: dict[str, Any]
) -> None:
    before = sandbox.clock.now()
    _assert_problem(control.post("/faults", json=fault))
    _assert_unharmed(sandbox, api, before)


@pytest.mark.parametrize("seconds", [1e308, 10**400, 86_400 * 365, -0.5, "1", None, True])
def test_latency_is_bounded(control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox, seconds: Any) -> None:
    raw = f'{{"seconds": {seconds}}}'.encode() if isinstance(seconds, int) and not isinstance(seconds, bool) else None
    response = control.put("/latency", content=raw) if raw else control.put("/latency", json={"seconds": seconds})
    _assert_problem(response)
    _assert_unharmed(sandbox, api, sandbox.clock.now())


@pytest.mark.parametrize("seconds", [3e11, 1e308, 10**30, -1, float("nan")])
def test_advancing_the_clock_out_of_range_is_refused_and_moves_nothing(
    control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox, seconds: float
) -> None:
    before = sandbox.clock.now()
    raw = b'{"seconds": NaN}' if seconds != seconds else f'{{"seconds": {seconds}}}'.encode()  # noqa: PLR0124
    _assert_problem(control.post("/clock/advance", content=raw))
    _assert_unharmed(sandbox, api, before)


def test_the_clock_has_a_horizon_however_it_is_moved(control: httpx.Client, sandbox: FanvueSandbox) -> None:
    """Many legal steps cannot add up to an instant the sandbox cannot represent: the step past the horizon is a
    400 and the clock stays where the last good step left it."""
    start = sandbox.clock.now()
    step = 86_400 * 365 * 10
    moved = 0
    for _ in range(20):
        response = control.post("/clock/advance", json={"seconds": step})
        if response.status_code != 201:
            _assert_problem(response)
            break
        moved += step
    else:
        pytest.fail("the clock moved 200 years")
    assert (sandbox.clock.now() - start).total_seconds() == moved
    headers = {"Authorization": f"Bearer {sandbox.token()}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers) as http:
        assert http.get("/users/me").status_code == 200
        assert http.get("/insights/earnings/summary").status_code == 200


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("earnings", {"gross": 10**30}),
        ("earnings", {"gross": 100.0}),
        ("earnings", {"gross": 100, "date": "0001-01-01T00:00:00+00:00"}),
        ("earnings", {"gross": 100, "date": "9999-12-31T23:59:59+00:00"}),
        ("earnings", {"gross": 100, "date": 5}),
        ("earnings", {"gross": 100, "fanUuid": []}),
        ("earnings", {"gross": 100, "source": ["tip"]}),
        ("refunds", {"transactionOrderId": 5}),
        ("refunds", {"transactionOrderId": "x", "gross": 10**30}),
        ("followers", {"count": 10**30}),
        ("followers", {"count": 3.0}),
    ],
)
def test_world_changes_are_typed_and_bounded(
    control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox, route: str, body: dict[str, Any]
) -> None:
    creator = sandbox.world.creators[0].uuid
    method = "PUT" if route == "followers" else "POST"
    _assert_problem(control.request(method, f"/creators/{creator}/{route}", json=body))
    _assert_unharmed(sandbox, api, sandbox.clock.now())
    assert api.get(f"/creators/{creator}/insights/earnings/summary").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"role": 5}, {"role": "OWNER"}, {"user": 5}, {"user": "x", "scopes": "read:self"}, {"user": "x", "scopes": [1]}],
)
def test_assign_and_token_bodies_are_typed(control: httpx.Client, sandbox: FanvueSandbox, body: dict[str, Any]) -> None:
    creator = sandbox.world.creators[0].uuid
    member = sandbox.world.team[0].uuid
    path = f"/members/{member}/creators/{creator}" if "role" in body else "/tokens"
    response = control.put(path, json=body) if "role" in body else control.post(path, json=body)
    _assert_problem(response)


VALID_FAULTS: dict[FaultKind, dict[str, Any]] = {
    FaultKind.ERROR: {"status": 503, "route": "/users/me", "times": 2},
    FaultKind.HANG: {"seconds": 0.01, "route": "*/insights/*", "rate": 0.5},
    FaultKind.RATE_LIMIT: {"retryAfter": 3, "method": "get"},
    FaultKind.MALFORMED: {"route": "/creators", "times": 1},
    FaultKind.EMPTY: {"route": "/creators/{creator}/account"},
    FaultKind.LATENCY: {"seconds": 0.01},
    FaultKind.RESET: {"times": 1, "rate": 0.0},
    FaultKind.CONNECT_TIMEOUT: {"times": 1},
}


@pytest.mark.parametrize("kind", list(FaultKind))
def test_a_fault_of_each_kind_can_still_be_added(
    control: httpx.Client, sandbox: FanvueSandbox, kind: FaultKind
) -> None:
    creator = sandbox.world.creators[0]
    member = sandbox.world.team[0].person.handle
    body = {"kind": kind.value, **VALID_FAULTS[kind], "creator": creator.uuid, "user": member}
    response = control.post("/faults", json=body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["kind"] == kind.value
    assert stored["user"] == sandbox.world.team[0].uuid
    for key, value in VALID_FAULTS[kind].items():
        assert stored[key] == (value.upper() if key == "method" else value)
    assert [f["id"] for f in control.get("/faults").json()] == [stored["id"]]
    assert control.delete(f"/faults/{stored['id']}").status_code == 204


def test_a_valid_fault_still_takes_effect(control: httpx.Client, api: httpx.Client) -> None:
    assert control.post("/faults", json={"kind": "error", "status": 502, "times": 1}).status_code == 201
    assert control.put("/latency", json={"seconds": 0.01}).json() == {"latencySeconds": 0.01}
    assert api.get("/users/me").status_code == 502
    assert api.get("/users/me").status_code == 200
