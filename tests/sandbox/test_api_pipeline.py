"""The checks every sandbox API request goes through: version header, bearer token, scopes, creator access, rate
limits (200 / 60 s per key) and the unknown-route and crash answers."""

from __future__ import annotations

import httpx
import pytest

from conftest import NO_RETRY
from onyx_fanvue import (
    AuthenticationError,
    CreatorNotAssignedError,
    FanvueClient,
    PermissionDeniedError,
    RateLimitError,
)
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
VERSION = "2025-06-26"


def _raw(sandbox: FanvueSandbox) -> httpx.Client:
    return httpx.Client(transport=sandbox.sync_transport(), base_url=API)


def _headers(token: str | None, version: str | None = VERSION) -> dict[str, str]:
    out = {}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    if version is not None:
        out["X-Fanvue-API-Version"] = version
    return out


# ------------------------------------------------------------------------------------------ version header


@pytest.mark.parametrize("version", [None, "2024-01-01", ""])
def test_missing_or_unknown_version_is_400_with_fanvues_body(sandbox: FanvueSandbox, version: str | None) -> None:
    with _raw(sandbox) as http:
        response = http.get("/users/me", headers=_headers(sandbox.token(), version))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Unsupported API version"
    assert VERSION in body["message"]


def test_sunset_version_is_410_naming_the_next_one(sandbox: FanvueSandbox) -> None:
    sandbox.sunset_versions["2025-01-01"] = VERSION
    with _raw(sandbox) as http:
        response = http.get("/users/me", headers=_headers(sandbox.token(), "2025-01-01"))
    assert response.status_code == 410
    assert response.json()["nextVersion"] == VERSION


# ------------------------------------------------------------------------------------------ tokens


def test_no_token_unknown_token_are_401(sandbox: FanvueSandbox) -> None:
    with _raw(sandbox) as http:
        for headers in (_headers(None), _headers("ory_at_made-up"), {**_headers(None), "Authorization": "Basic x"}):
            response = http.get("/users/me", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "Unauthorized"}
            assert "X-RateLimit-Limit" not in response.headers  # no key to count against


def test_token_expires_after_expires_in(sandbox: FanvueSandbox) -> None:
    with sandbox.client(retry=NO_RETRY) as client:
        client.users.me()
        sandbox.advance(3599)
        client.users.me()
        sandbox.advance(1)
        with pytest.raises(AuthenticationError):
            client.users.me()


def test_revoked_grant_is_401_at_once(sandbox: FanvueSandbox) -> None:
    with sandbox.client(retry=NO_RETRY) as client:
        client.users.me()
        assert sandbox.revoke_grant(sandbox.admin) == 1
        with pytest.raises(AuthenticationError):
            client.users.me()


# ------------------------------------------------------------------------------------------ scopes and access


def test_missing_scope_is_403(sandbox: FanvueSandbox) -> None:
    token = sandbox.token(scopes=("read:self",))
    with FanvueClient(token, transport=sandbox.sync_transport(), retry=NO_RETRY) as client:
        client.users.me()
        with pytest.raises(PermissionDeniedError) as caught:
            client.creators.list()
    assert caught.value.status_code == 403


def test_creator_scoped_call_needs_read_creator_too(sandbox: FanvueSandbox) -> None:
    token = sandbox.token(scopes=("read:self",))
    creator = sandbox.world.creators[0].uuid
    with FanvueClient(token, transport=sandbox.sync_transport(), retry=NO_RETRY) as client:
        client.users.account()
        with pytest.raises(PermissionDeniedError):
            client.users.account(creator_uuid=creator)


def test_member_sees_only_assigned_creators(sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[-1]  # the seeded member who has only the first creator
    first, second = (c.uuid for c in sandbox.world.creators[:2])
    with sandbox.client(member.uuid, retry=NO_RETRY) as client:
        assert [c.uuid for c in client.creators.list().data] == [first]
        client.users.account(creator_uuid=first)
        with pytest.raises(CreatorNotAssignedError) as caught:
            client.users.account(creator_uuid=second)
        assert caught.value.status_code == 404


def test_unassigning_a_creator_takes_effect_on_the_next_request(sandbox: FanvueSandbox) -> None:
    member = sandbox.world.team[0]
    creator = sandbox.world.creators[1].uuid
    with sandbox.client(member.uuid, retry=NO_RETRY) as client:
        client.users.account(creator_uuid=creator)
        assert sandbox.unassign(member.uuid, creator)
        with pytest.raises(CreatorNotAssignedError):
            client.users.account(creator_uuid=creator)
        assert creator not in [c.uuid for c in client.creators.list().data]
        sandbox.assign(member.uuid, creator)
        client.users.account(creator_uuid=creator)


def test_unknown_creator_is_the_same_404_and_a_bad_uuid_is_400(sandbox: FanvueSandbox) -> None:
    with _raw(sandbox) as http:
        headers = _headers(sandbox.token())
        unknown = http.get("/creators/00000000-0000-4000-8000-000000000000/account", headers=headers)
        malformed = http.get("/creators/not-a-uuid/account", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Creator not found or not assigned to team member"}
    assert malformed.status_code == 400
    assert "message" in malformed.json()


def test_a_creators_own_token_cannot_use_the_agency_mirror(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0]
    with sandbox.client(creator.person.handle, retry=NO_RETRY) as client:
        assert client.users.me().uuid == creator.uuid
        with pytest.raises(CreatorNotAssignedError):
            client.users.account(creator_uuid=creator.uuid)


# ------------------------------------------------------------------------------------------ rate limits


async def _spend(http: httpx.AsyncClient, path: str, n: int, headers: dict[str, str]) -> list[httpx.Response]:
    return [await http.get(path, headers=headers) for _ in range(n)]


async def test_the_201st_request_in_a_window_is_429_with_retry_after(sandbox: FanvueSandbox) -> None:
    headers = _headers(sandbox.token())
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url=API) as http:
        first = await _spend(http, "/users/me", 100, headers)
        sandbox.advance(15)
        rest = await _spend(http, "/users/me", 100, headers)
        limited = await http.get("/users/me", headers=headers)
    answered = first + rest
    assert all(r.status_code == 200 for r in answered)
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in answered] == list(range(199, -1, -1))
    assert {r.headers["X-RateLimit-Limit"] for r in answered} == {"200"}
    assert limited.status_code == 429
    assert limited.json() == {"error": "Too Many Requests"}
    assert limited.headers["Retry-After"] == "45"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    reset = int(limited.headers["X-RateLimit-Reset"])
    assert reset == int(first[0].headers["X-RateLimit-Reset"])
    assert reset - sandbox.clock.now().timestamp() == 45


async def test_the_bucket_is_full_again_after_the_window(sandbox: FanvueSandbox) -> None:
    headers = _headers(sandbox.token())
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url=API) as http:
        await _spend(http, "/users/me", 200, headers)
        assert (await http.get("/users/me", headers=headers)).status_code == 429
        sandbox.advance(59)
        assert (await http.get("/users/me", headers=headers)).status_code == 429
        sandbox.advance(1)
        again = await http.get("/users/me", headers=headers)
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining"] == "199"


async def test_each_managed_creator_has_its_own_bucket(sandbox: FanvueSandbox) -> None:
    headers = _headers(sandbox.token())
    a, b = (f"/creators/{c.uuid}/account" for c in sandbox.world.creators[:2])
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url=API) as http:
        await _spend(http, "/users/me", 200, headers)
        assert (await http.get("/users/me", headers=headers)).status_code == 429
        answered_a = await _spend(http, a, 200, headers)
        assert all(r.status_code == 200 for r in answered_a)
        assert (await http.get(a, headers=headers)).status_code == 429
        on_b = await http.get(b, headers=headers)
    assert on_b.status_code == 200
    assert on_b.headers["X-RateLimit-Remaining"] == "199"


async def test_buckets_are_per_user(sandbox: FanvueSandbox) -> None:
    admin, member = _headers(sandbox.token()), _headers(sandbox.token(sandbox.world.team[0].uuid))
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url=API) as http:
        await _spend(http, "/users/me", 200, admin)
        assert (await http.get("/users/me", headers=admin)).status_code == 429
        assert (await http.get("/users/me", headers=member)).status_code == 200


def test_sdk_sees_rate_limit_error_with_retry_after() -> None:
    sandbox = FanvueSandbox(rate_limit=2, spec=None)
    with sandbox.client(retry=NO_RETRY, rate_limited=False) as client:
        client.users.me()
        client.users.me()
        with pytest.raises(RateLimitError) as caught:
            client.users.me()
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60


# ------------------------------------------------------------------------------------------ other answers


def test_unknown_route_is_404_message(sandbox: FanvueSandbox) -> None:
    with _raw(sandbox) as http:
        response = http.get("/no/such/thing", headers=_headers(sandbox.token()))
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_a_crash_is_a_plain_500_without_a_trace(sandbox: FanvueSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_: str) -> dict[str, object]:
        raise RuntimeError("secret internals /srv/app.py line 12")

    monkeypatch.setattr(sandbox.world, "user_json", boom)
    with _raw(sandbox) as http:
        response = http.get("/users/me", headers=_headers(sandbox.token()))
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error"}
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["X-RateLimit-Remaining"] == "199"


@pytest.mark.parametrize(
    "query", ["startDate=0001-01-01T00:00:00%2B01:00", "endDate=9999-12-31T23:59:59-01:00", "startDate=2026-13-01"]
)
def test_dates_python_cannot_hold_are_400(sandbox: FanvueSandbox, query: str) -> None:
    creator = sandbox.world.creators[0].uuid
    with _raw(sandbox) as http:
        response = http.get(f"/creators/{creator}/insights/earnings?{query}", headers=_headers(sandbox.token()))
    assert response.status_code == 400
    assert response.json()["errors"]


def test_requests_are_recorded_with_route_status_and_caller(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    with sandbox.client(retry=NO_RETRY) as client:
        client.users.me()
        client.users.account(creator_uuid=creator)
    me, account = sandbox.requests[-2:]
    assert (me.route, me.status, me.user, me.creator) == ("/users/me", 200, sandbox.admin, None)
    assert (account.route, account.creator) == ("/creators/{creator}/account", creator)


def test_first_use_hooks_run_once_per_access_token(sandbox: FanvueSandbox) -> None:
    seen: list[tuple[str, str]] = []
    sandbox.first_use_hooks.append(lambda token, info: seen.append((token, info.user_uuid)))
    first, second = sandbox.token(), sandbox.token()
    with _raw(sandbox) as http:
        for token in (first, first, second, first):
            assert http.get("/users/me", headers=_headers(token)).status_code == 200
        http.get("/users/me", headers=_headers("ory_at_unknown"))
    assert seen == [(first, sandbox.admin), (second, sandbox.admin)]
