"""Each fault switch produces exactly the configured behaviour, on exactly the requests it targets."""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import NO_RETRY
from onyx_fanvue import (
    FanvueClient,
    MalformedResponseError,
    RateLimitError,
    ServerError,
)
from onyx_fanvue.errors import TransportError
from onyx_fanvue.sandbox.faults import Fault, FaultBoard, FaultKind
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"


def _http(sandbox: FanvueSandbox, who: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {sandbox.token(who)}", "X-Fanvue-API-Version": "2025-06-26"}
    return httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers)


def test_error_500_is_json_and_502_503_are_gateway_pages(sandbox: FanvueSandbox) -> None:
    with _http(sandbox) as http:
        for status in (500, 502, 503):
            sandbox.inject("error", status=status, times=1)
            response = http.get("/users/me")
            assert response.status_code == status
            if status == 500:
                assert response.json() == {"error": "Internal Server Error"}
            else:
                assert response.headers["content-type"].startswith("text/html")
                assert str(status) in response.text
            assert "X-RateLimit-Remaining" in response.headers
        assert http.get("/users/me").status_code == 200


def test_sdk_raises_server_error_for_each(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    for status in (500, 502, 503):
        sandbox.inject("error", status=status, times=1)
        with pytest.raises(ServerError) as caught:
            client.users.me()
        assert caught.value.status_code == status


def test_times_limits_how_often_a_fault_fires(sandbox: FanvueSandbox) -> None:
    sandbox.inject("error", times=3)
    with _http(sandbox) as http:
        statuses = [http.get("/users/me").status_code for _ in range(5)]
    assert statuses == [500, 500, 500, 200, 200]
    assert sandbox.faults.list() == ()


def test_rate_is_a_seeded_probability(sandbox: FanvueSandbox) -> None:
    def run() -> list[int]:
        board = FaultBoard(seed=5)
        board.add(Fault(FaultKind.ERROR, rate=0.3))
        return [i for i in range(1000) if board.pick("GET", "/users/me", "/users/me", None, None)]

    hits = run()
    assert hits == run()  # same seed, same requests hit
    assert 240 <= len(hits) <= 360


def test_route_creator_user_and_method_narrow_a_fault(sandbox: FanvueSandbox) -> None:
    a, b = (c.uuid for c in sandbox.world.creators[:2])
    member = sandbox.world.team[0].uuid
    sandbox.inject("error", route="/creators/{creator}/account", creator=a)
    sandbox.inject("error", status=503, route="/users/me", user=member)
    sandbox.inject("error", status=502, route="/users/me", method="POST")
    with _http(sandbox) as admin, _http(sandbox, member) as chatter:
        assert admin.get(f"/creators/{a}/account").status_code == 500
        assert admin.get(f"/creators/{b}/account").status_code == 200
        assert admin.get("/users/account").status_code == 200
        assert admin.get("/users/me").status_code == 200
        assert chatter.get("/users/me").status_code == 503


def test_a_creator_fault_also_hits_the_creators_own_token(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0]
    sandbox.inject("error", creator=creator.uuid)
    with _http(sandbox, creator.uuid) as own, _http(sandbox) as admin:
        assert own.get("/users/me").status_code == 500
        assert admin.get("/users/me").status_code == 200


def test_glob_routes(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    sandbox.inject("error", route="/creators/*")
    with _http(sandbox) as http:
        assert http.get(f"/creators/{creator}/account").status_code == 500
        assert http.get("/creators").status_code == 200  # the glob needs something after the slash


def test_a_429_storm_answers_retry_after(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    sandbox.inject("rate_limit", retry_after=7, times=2)
    with _http(sandbox) as http:
        response = http.get("/users/me")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"error": "Too Many Requests"}
    with pytest.raises(RateLimitError) as caught:
        client.users.me()
    assert caught.value.retry_after == 7
    client.users.me()


def test_malformed_json_is_a_200_cut_in_half(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    sandbox.inject("malformed", times=1)
    with _http(sandbox) as http:
        response = http.get("/users/me")
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"."):
        response.json()
    sandbox.inject("malformed", times=1)
    with pytest.raises(MalformedResponseError):
        client.users.me()


def test_empty_answers_the_endpoints_own_empty_shape(client: FanvueClient, sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0]
    sandbox.inject("empty", route="/creators")
    page = client.creators.list()
    assert page.data == []
    assert page.pagination.has_more is False
    with sandbox.client(creator.uuid, retry=NO_RETRY) as own:
        assert own.users.me().fan_counts is not None
        sandbox.inject("empty", route="/users/me")
        me = own.users.me()
    assert me.uuid == creator.uuid
    assert (me.fan_counts, me.likes_count, me.content_counts) == (None, None, None)
    sandbox.inject("empty", route="/creators/{creator}/account")
    account = client.users.account(creator_uuid=creator.uuid)
    assert account.account.fans.followers == 0
    assert account.account.earnings.total.cents == 0


def test_latency_slows_every_answer_down(sandbox: FanvueSandbox) -> None:
    sandbox.inject("latency", seconds=0.2, route="/users/me")
    with _http(sandbox) as http:
        started = time.monotonic()
        assert http.get("/users/me").status_code == 200
        slow = time.monotonic() - started
    assert slow >= 0.2


def test_global_latency_knob(sandbox: FanvueSandbox) -> None:
    sandbox.latency = 0.1
    with _http(sandbox) as http:
        started = time.monotonic()
        http.get("/users/me")
    assert time.monotonic() - started >= 0.1


def test_hang_outlasts_the_clients_read_timeout(sandbox: FanvueSandbox) -> None:
    sandbox.inject("hang", seconds=30, times=1)
    with _http(sandbox) as http, pytest.raises(httpx.ReadTimeout):
        http.get("/users/me", timeout=0.2)
    with sandbox.client(retry=NO_RETRY, timeout=0.2) as client:
        sandbox.inject("hang", seconds=30, times=1)
        with pytest.raises(TransportError):
            client.users.me()
        client.users.me()


async def test_hang_in_the_async_transport(sandbox: FanvueSandbox) -> None:
    sandbox.inject("hang", seconds=30, times=1)
    headers = {"Authorization": f"Bearer {sandbox.token()}", "X-Fanvue-API-Version": "2025-06-26"}
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url=API, headers=headers) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/users/me", timeout=0.2)
        assert (await http.get("/users/me")).status_code == 200


def test_reset_drops_the_connection(sandbox: FanvueSandbox) -> None:
    sandbox.inject("reset", times=1)
    with _http(sandbox) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/users/me")
        assert http.get("/users/me").status_code == 200


def test_connect_timeout_never_reaches_the_server(sandbox: FanvueSandbox) -> None:
    sandbox.inject("connect_timeout", times=1)
    with _http(sandbox) as http:
        with pytest.raises(httpx.ConnectTimeout):
            http.get("/users/me")
        assert http.get("/users/me").status_code == 200
    assert len(sandbox.requests) == 1  # only the second request was served


def test_faults_stack_latency_with_an_error(sandbox: FanvueSandbox) -> None:
    sandbox.inject("latency", seconds=0.1)
    sandbox.inject("error", status=502)
    with _http(sandbox) as http:
        started = time.monotonic()
        assert http.get("/users/me").status_code == 502
    assert time.monotonic() - started >= 0.1


def test_removing_a_fault(sandbox: FanvueSandbox) -> None:
    fault = sandbox.inject("error")
    with _http(sandbox) as http:
        assert http.get("/users/me").status_code == 500
        assert sandbox.faults.remove(fault.id)
        assert http.get("/users/me").status_code == 200
    assert not sandbox.faults.remove(fault.id)


def test_fault_options_are_checked() -> None:
    with pytest.raises(ValueError, match=r"kind|valid"):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"500, 502, 503"):
        Fault(FaultKind.ERROR, status=404)
    with pytest.raises(ValueError, match="rate"):
        Fault(FaultKind.ERROR, rate=1.5)
    with pytest.raises(ValueError, match="times"):
        Fault(FaultKind.ERROR, times=0)


def test_sdk_retries_through_a_transient_fault(sandbox: FanvueSandbox) -> None:
    sandbox.inject("error", status=503, times=1)
    with sandbox.client(sleep=lambda _: None) as client:
        assert client.users.me().uuid == sandbox.admin
    assert [r.status for r in sandbox.requests] == [503, 200]


def test_faults_target_by_handle_and_ignore_uuid_case(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0]
    member = sandbox.world.team[0]
    sandbox.inject("error", creator=creator.person.handle)
    sandbox.inject("error", status=503, user=member.person.handle, route="/users/me")
    with _http(sandbox) as admin, _http(sandbox, member.uuid) as chatter:
        assert admin.get(f"/creators/{creator.uuid.upper()}/account").status_code == 500
        assert chatter.get("/users/me").status_code == 503
    with pytest.raises(KeyError):
        sandbox.inject("error", user="nobody-at-all")


def test_empty_withholds_fan_insights_and_post_counts(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0]
    fan = next(r.user.uuid for r in sandbox.world.iter_earnings(creator.uuid) if r.user is not None)
    sandbox.inject("empty", route="/insights/fans/*")
    sandbox.inject("empty", route="/insights/fans")
    sandbox.inject("empty", route="/posts/*")
    with sandbox.client(creator.uuid, retry=NO_RETRY) as own:
        insight = own.insights.fan(fan)
        assert insight.spending.total.gross.cents == 0
        assert own.insights.fans([fan]).results == {fan: None}
        post = own.posts.get(creator.post_uuids[0])
        assert (post.likes_count, post.comments_count, post.tips.count) == (0, 0, 0)


def test_empty_never_fires_on_writes(sandbox: FanvueSandbox) -> None:
    creator = sandbox.world.creators[0].uuid
    fault = sandbox.inject("empty", times=1)
    with sandbox.client(retry=NO_RETRY) as client:
        link = client.tracking_links.create(name="bio", platform="tiktok", creator_uuid=creator)
    assert link.name == "bio"
    assert sandbox.faults.list()[0].id == fault.id  # not spent on the write
