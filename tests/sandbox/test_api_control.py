"""The control API under ``/_sandbox``: keyed, and each switch does what the Python handle does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"


@pytest.fixture
def control(sandbox: FanvueSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=sandbox.sync_transport(), base_url=f"{API}/_sandbox", headers={"X-Sandbox-Key": sandbox.control_key}
    ) as http:
        yield http


@pytest.fixture
def api(sandbox: FanvueSandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.token()}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers) as http:
        yield http


@pytest.mark.parametrize("key", [None, "wrong"])
def test_every_route_needs_the_control_key(sandbox: FanvueSandbox, key: str | None) -> None:
    headers = {} if key is None else {"X-Sandbox-Key": key}
    creator = sandbox.world.creators[0].uuid
    with httpx.Client(transport=sandbox.sync_transport(), base_url=f"{API}/_sandbox", headers=headers) as http:
        for method, path in [
            ("GET", "/"),
            ("GET", "/faults"),
            ("POST", "/faults"),
            ("DELETE", "/faults"),
            ("POST", "/clock/advance"),
            ("PUT", "/latency"),
            ("POST", f"/creators/{creator}/earnings"),
            ("POST", "/tokens"),
            ("GET", "/stats"),
        ]:
            response = http.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert "message" in response.json()
    assert sandbox.faults.list() == ()


def test_info_lists_users_and_creators_but_no_secret(control: httpx.Client, sandbox: FanvueSandbox) -> None:
    info = control.get("/").json()
    assert info["seed"] == sandbox.spec.seed
    assert info["clientId"] == sandbox.client_id
    assert [u["handle"] for u in info["users"]] == [u.handle for u in sandbox.users]
    assert sandbox.client_secret not in str(info)


def test_faults_over_http(control: httpx.Client, api: httpx.Client) -> None:
    created = control.post("/faults", json={"kind": "error", "status": 502, "route": "/users/me", "times": 2})
    assert created.status_code == 201
    fault = created.json()
    assert (fault["kind"], fault["status"], fault["times"]) == ("error", 502, 2)
    assert [f["id"] for f in control.get("/faults").json()] == [fault["id"]]
    assert api.get("/users/me").status_code == 502
    assert control.delete(f"/faults/{fault['id']}").status_code == 204
    assert api.get("/users/me").status_code == 200
    assert control.delete(f"/faults/{fault['id']}").status_code == 404
    control.post("/faults", json={"kind": "rate_limit", "retryAfter": 3})
    assert api.get("/users/me").headers["Retry-After"] == "3"
    assert control.delete("/faults").status_code == 204
    assert api.get("/users/me").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"kind": "explode"}, {"kind": "error", "status": 418}, {"kind": "error", "colour": "red"}, [1]],
)
def test_bad_fault_bodies_are_400(control: httpx.Client, body: object) -> None:
    response = control.post("/faults", json=body)
    assert response.status_code == 400
    assert response.json()["message"]


def test_advancing_the_clock_expires_tokens(control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox) -> None:
    before = sandbox.clock.now()
    assert control.post("/clock/advance", json={"seconds": 3600}).status_code == 201
    assert sandbox.clock.now() - before == timedelta(hours=1)
    assert api.get("/users/me").status_code == 401
    assert control.post("/clock/advance", json={"seconds": -1}).status_code == 400


def test_world_changes_show_in_the_api(control: httpx.Client, api: httpx.Client, sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    path = f"/creators/{creator}/account"
    total = api.get(path).json()["account"]["earnings"]["total"]
    added = control.post(f"/creators/{creator}/earnings", json={"gross": 1000, "source": "tip"})
    assert added.status_code == 201
    assert added.json()["net"] == 800
    assert api.get(path).json()["account"]["earnings"]["total"] == total + 800
    order = added.json()["transactionOrderId"]
    sandbox.advance(60)
    refund = control.post(f"/creators/{creator}/refunds", json={"transactionOrderId": order, "source": "chargeback"})
    assert refund.status_code == 201
    assert refund.json()["source"] == "chargeback"
    assert api.get(path).json()["account"]["earnings"]["total"] == total
    assert control.put(f"/creators/{creator}/followers", json={"count": 3}).status_code == 200
    assert api.get(path).json()["account"]["fans"]["followers"] == 3


def test_world_change_errors(control: httpx.Client, sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    unknown = "00000000-0000-4000-8000-000000000000"
    assert control.post(f"/creators/{unknown}/earnings", json={"gross": 5}).status_code == 404
    assert control.post(f"/creators/{creator}/earnings", json={"gross": "5"}).status_code == 400
    assert control.post(f"/creators/{creator}/earnings", json={"gross": 5, "date": "yesterday"}).status_code == 400
    assert control.post(f"/creators/{creator}/refunds", json={"transactionOrderId": "nope"}).status_code == 404
    assert control.post(f"/creators/{creator}/earnings", json={"gross": 5, "source": "refnud"}).status_code == 400
    order = next(sandbox.world.iter_earnings(creator)).transaction_order_id
    bad_gross = control.post(f"/creators/{creator}/refunds", json={"transactionOrderId": order, "gross": "1"})
    assert bad_gross.status_code == 400
    assert control.put(f"/creators/{creator}/followers", json={"count": -1}).status_code == 400


def test_unassign_and_assign_over_http(control: httpx.Client, sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[0].uuid
    creator = sandbox.world.creators[1].uuid
    assert control.delete(f"/members/{member}/creators/{creator}").status_code == 204
    assert not sandbox.access.can_access(member, creator)
    assert control.put(f"/members/{member}/creators/{creator}", json={"role": "ADMIN"}).status_code == 204
    assert sandbox.access.can_access(member, creator)
    assert control.delete(f"/members/nobody/creators/{creator}").status_code == 404


def test_revoke_and_tokens_over_http(control: httpx.Client, sandbox: FanvueSandbox) -> None:
    handle = sandbox.world.team[0].person.handle
    issued = control.post("/tokens", json={"user": handle, "scopes": ["read:self", "offline_access"]})
    assert issued.status_code == 201
    token = issued.json()
    assert token["scope"] == "read:self offline_access"
    assert "refresh_token" in token
    headers = {"Authorization": f"Bearer {token['access_token']}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers) as http:
        assert http.get("/users/me").status_code == 200
        assert control.post(f"/users/{handle}/revoke").json() == {"revokedGrants": 1}
        assert http.get("/users/me").status_code == 401
    assert control.post("/tokens", json={"user": "nobody"}).status_code == 404


def test_stats_count_requests_and_token_endpoint_hits(control: httpx.Client, api: httpx.Client) -> None:
    api.get("/users/me")
    api.get("/users/me", headers={"X-Fanvue-API-Version": "1999-01-01"})
    control.put("/latency", json={"seconds": 0})
    with httpx.Client(transport=api._transport) as raw:  # the token endpoint, with a wrong client
        raw.post("https://auth.fanvue.com/oauth2/token", data={"grant_type": "refresh_token"})
    stats = control.get("/stats").json()
    assert stats["tokenEndpointHits"] == 1
    assert stats["byStatus"] == {"200": 1, "400": 1}
    assert stats["byRoute"] == {"GET /users/me": 2}
