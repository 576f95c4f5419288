"""Hostile input, generated: arbitrary bodies at every control route and arbitrary query strings at the API's
paged and query endpoints. Whatever is sent, the answer is below 500 (a refusal is a 4xx with a JSON body), and
afterwards the sandbox still serves a normal request. One sandbox per test takes every example in turn, so damage
that builds up over many requests would show too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import NOW, SPEC
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.faults import FaultKind
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
VERSION = "2025-06-26"
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@dataclass
class Rig:
    sandbox: FanvueSandbox
    control: httpx.Client
    creator: str
    creator_handle: str
    member: str
    fan: str
    link: str

    def api(self, who: str) -> httpx.Client:
        token = self.control.post("/tokens", json={"user": who})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}", "X-Fanvue-API-Version": VERSION}
        return httpx.Client(transport=self.sandbox.sync_transport(), base_url=API, headers=headers, timeout=10)

    def assert_still_serving(self) -> None:
        """Switch off what a valid request may legitimately have switched on, then use the API as a client would:
        nothing sent before may have left it broken."""
        assert self.control.delete("/faults").status_code == 204
        assert self.control.put("/latency", json={"seconds": 0}).status_code == 200
        with self.api(self.creator_handle) as own:
            assert own.get("/users/me").status_code == 200
            assert own.get("/chats", params={"size": 5}).status_code == 200
            assert own.get("/insights/earnings", params={"size": 5}).status_code == 200
            assert own.get("/tracking-links", params={"limit": 5}).status_code == 200


def _rig() -> Iterator[Rig]:
    sandbox = FanvueSandbox(spec=SPEC, clock=SandboxClock(NOW), rate_limit=10**9)
    world = sandbox.world
    creator = world.creators[0]
    headers = {"X-Sandbox-Key": sandbox.control_key}
    with httpx.Client(
        transport=sandbox.sync_transport(), base_url=f"{API}/_sandbox", headers=headers, timeout=10
    ) as control:
        yield Rig(
            sandbox,
            control,
            creator.uuid,
            creator.person.handle,
            world.team[0].uuid,
            creator.fans[0].uuid,
            world.tracking_links(creator.uuid)[0].uuid,
        )


@pytest.fixture(scope="module")
def control_rig() -> Iterator[Rig]:
    yield from _rig()


@pytest.fixture(scope="module")
def api_rig() -> Iterator[Rig]:
    yield from _rig()


def _assert_refusal_shape(response: httpx.Response, *keys: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict)
        assert any(isinstance(body.get(k), str | list) and body.get(k) for k in keys), body


# ------------------------------------------------------------------------------------------------ control API

FIELD_NAMES = [
    "kind",
    "route",
    "creator",
    "user",
    "method",
    "rate",
    "times",
    "status",
    "seconds",
    "retryAfter",
    "gross",
    "source",
    "date",
    "fanUuid",
    "transactionOrderId",
    "count",
    "role",
    "scopes",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from([k.value for k in FaultKind])
    | st.sampled_from(["tip", "refund", "chargeback", "ADMIN", "CHATTER", "GET", "*/insights/*", "/users/me"])
    | st.sampled_from(["2026-10-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59Z", "now"])
    | st.sampled_from([500, 502, 503, 500.0, 0.5, 1e308, 3e11, -1, 2**63, 86_400])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
)
field_objects = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=6)


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = (
    field_objects.map(_encode)
    | json_values.map(_encode)
    | st.binary(max_size=200)
    | field_objects.map(_encode).map(lambda raw: raw[: max(1, len(raw) // 2)])  # truncated
    | st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n)  # deep nesting
)

ROUTES = [
    ("GET", "/"),
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults/{n}"),
    ("DELETE", "/faults"),
    ("POST", "/clock/advance"),
    ("PUT", "/latency"),
    ("POST", "/creators/{creator}/earnings"),
    ("POST", "/creators/{creator}/refunds"),
    ("PUT", "/creators/{creator}/followers"),
    ("DELETE", "/members/{member}/creators/{creator}"),
    ("PUT", "/members/{member}/creators/{creator}"),
    ("POST", "/users/{user}/revoke"),
    ("POST", "/tokens"),
    ("GET", "/stats"),
]
path_values = st.sampled_from(["{real}", "nobody", "", "00000000-0000-0000-0000-000000000000"]) | st.text(max_size=30)
fault_ids = st.sampled_from(["1", "0", "-1", "99999999999999999999999", "abc", "1.5"])

ISSUE_CASES = [
    ("POST", "/faults", b'{"kind": "error", "route": 123}'),
    ("POST", "/faults", b'{"kind": "error", "status": 500.0}'),
    ("POST", "/faults", b'{"kind": "error", "creator": []}'),
    ("POST", "/faults", b'{"kind": "error", "user": {}}'),
    ("POST", "/faults", b'{"kind": "latency", "seconds": 1e308}'),
    ("PUT", "/latency", b'{"seconds": 1e308}'),
    ("POST", "/clock/advance", b'{"seconds": 3e11}'),
    ("POST", "/clock/advance", b'{"seconds": 1'),
    ("POST", "/faults", b"not json at all"),
    ("POST", "/faults", b'\xff\xfe{"kind": "error"}'),
    ("POST", "/faults", b'{"kind": "error", "rate": NaN}'),
    ("PUT", "/creators/{creator}/followers", b'{"count": ' + b"9" * 5000 + b"}"),
    ("POST", "/tokens", b"[" * 100_000 + b"]" * 100_000),
]


@FUZZ
@given(route=st.sampled_from(ROUTES), body=bodies, who=path_values, member=path_values, n=fault_ids)
@example(route=("POST", "/faults"), body=ISSUE_CASES[0][2], who="{real}", member="{real}", n="1")
def test_no_control_request_fails_or_breaks_the_sandbox(
    control_rig: Rig, route: tuple[str, str], body: bytes, who: str, member: str, n: str
) -> None:
    rig = control_rig
    method, template = route

    def pick(value: str, real: str) -> str:
        return real if value == "{real}" else quote(value, safe="")

    path = (
        template.replace("{n}", n)
        .replace("{user}", pick(who, rig.creator_handle))
        .replace("{creator}", pick(who, rig.creator))
        .replace("{member}", pick(member, rig.member))
    )
    raw = body
    response = rig.control.request(method, path, content=raw, headers={"Content-Type": "application/json"})
    _assert_refusal_shape(response, "message")
    rig.assert_still_serving()


@pytest.mark.parametrize(("method", "path", "raw"), ISSUE_CASES)
def test_the_reported_control_cases_are_refused_and_harmless(
    control_rig: Rig, method: str, path: str, raw: bytes
) -> None:
    rig = control_rig
    before = rig.sandbox.clock.now()
    response = rig.control.request(method, path.replace("{creator}", rig.creator), content=raw)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["message"]
    assert rig.sandbox.clock.now() == before
    assert rig.sandbox.faults.list() == ()
    rig.assert_still_serving()


# ------------------------------------------------------------------------------------------------ the API

QUERY_NAMES = [
    "page",
    "size",
    "limit",
    "cursor",
    "startDate",
    "endDate",
    "source",
    "granularity",
    "timezone",
    "fanUuids",
    "sortBy",
    "filter",
    "search",
    "customListId",
    "smartListIds",
    "sortField",
    "sortDirection",
    "markAsRead",
    "includeUnpublished",
    "createdAfter",
    "createdBefore",
    "creatorUuids",
    "chatterUuids",
]

printable = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["99999999999999999999", "1e300", "1e999", "20.0", "2e1", "0x10", "1_0", "-0", ".5", "9" * 500]),
)
dates = st.sampled_from(
    [
        "2026-10-01T00:00:00Z",
        "2026-10-01",
        "0001-01-01T00:00:00+01:00",
        "0001-01-01",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31",
        "2026-10-01T00:00:00+23:59",
        "2026-02-30",
        "1970-01-01T00:00:00Z",
    ]
)
enums = st.sampled_from(
    [
        "tip",
        "all",
        "refund",
        "day",
        "week",
        "UTC",
        "Europe/London",
        "Not/AZone",
        "most_recent_messages",
        "online_now",
        "most_unanswered_chats",
        "unread",
        "subscribers",
        "archived",
        "auto_renewing",
        "muted",
        "name",
        "subscribedAt",
        "asc",
        "desc",
        "true",
        "false",
        "00000000-0000-4000-8000-000000000000",
        "eyJ4IjoxfQ",
    ]
)
query_values = st.lists(numbers | dates | enums | printable, min_size=1, max_size=3)
queries = st.dictionaries(st.sampled_from(QUERY_NAMES), query_values, max_size=5)

API_PATHS = [
    "/chats",
    "/chats/unread",
    "/chats/{fan}/messages",
    "/subscribers",
    "/followers",
    "/chats/lists/smart",
    "/insights/earnings",
    "/insights/earnings/summary",
    "/insights/earnings/percentile",
    "/insights/spending",
    "/insights/subscribers",
    "/insights/top-spenders",
    "/insights/fans",
    "/insights/fans/{fan}",
    "/tracking-links",
    "/tracking-links/{link}/users",
    "/tracking-links/{link}/users/{fan}/metadata",
    "/posts",
    "/creators",
    "/creators/{creator}/insights/earnings",
    "/creators/{creator}/insights/earnings/summary",
    "/creators/{creator}/chats",
    "/creators/{creator}/subscribers",
    "/creators/{creator}/tracking-links",
    "/agencies/earnings",
    "/agencies/subscribers-history",
    "/agencies/subscribers",
    "/agencies/chats",
    "/agencies/insights/chatter-leaderboard",
    "/agencies/team-members",
]
path_ids = st.sampled_from(["{real}", "not-a-uuid", "00000000-0000-4000-8000-000000000000", "%FF", ""]) | printable
raw_queries = st.binary(max_size=40).map(lambda b: "".join(f"%{x:02X}" for x in b))

ISSUE_QUERIES: list[tuple[str, str, dict[str, list[str]]]] = [
    ("/chats", "{real}", {"page": ["99999999999999999999"]}),
    ("/chats", "{real}", {"size": ["20.0"]}),
    ("/chats", "{real}", {"search": ["x" * 101]}),
    ("/chats", "{real}", {"customListId": ["not-a-uuid"]}),
    ("/chats", "{real}", {"sortBy": ["sideways"]}),
    ("/chats", "{real}", {"filter": ["nonsense"]}),
    ("/tracking-links", "{real}", {"limit": ["1000"]}),
    ("/insights/fans/{fan}", "not-a-uuid", {}),
]


def _fill(template: str, rig: Rig, ident: str) -> str:
    def pick(real: str) -> str:
        return real if ident == "{real}" else quote(ident, safe="%")

    return (
        template.replace("{creator}", pick(rig.creator))
        .replace("{fan}", pick(rig.fan))
        .replace("{link}", pick(rig.link))
    )


@FUZZ
@given(path=st.sampled_from(API_PATHS), params=queries, ident=path_ids, raw=raw_queries, admin=st.booleans())
@example(path="/chats", params={"page": ["99999999999999999999"]}, ident="{real}", raw="", admin=False)
@example(path="/insights/fans/{fan}", params={}, ident="not-a-uuid", raw="", admin=False)
@example(path="/chats", params={"search": ["x" * 101], "customListId": ["nope"]}, ident="{real}", raw="", admin=False)
@example(path="/chats", params={"page": ["%FF"]}, ident="{real}", raw="%FF%FE", admin=False)
@example(path="/insights/earnings/summary", params={"timezone": ["9" * 300]}, ident="{real}", raw="", admin=False)
def test_no_api_query_fails_or_breaks_the_sandbox(
    api_rig: Rig, path: str, params: dict[str, list[str]], ident: str, raw: str, admin: bool
) -> None:
    rig = api_rig
    url = _fill(path, rig, ident)
    with rig.api(rig.sandbox.admin if admin else rig.creator) as http:
        response = http.get(url, params=params)
        _assert_refusal_shape(response, "errors", "message", "error")
        if raw:
            junk = http.get(f"{url}?page={raw}&{raw}={raw}")
            _assert_refusal_shape(junk, "errors", "message", "error")
    rig.assert_still_serving()


@pytest.mark.parametrize(("path", "ident", "params"), ISSUE_QUERIES)
def test_the_reported_api_queries_answer_below_500(
    api_rig: Rig, path: str, ident: str, params: dict[str, list[str]]
) -> None:
    rig = api_rig
    with rig.api(rig.creator) as http:
        response = http.get(_fill(path, rig, ident), params=params)
    _assert_refusal_shape(response, "errors", "message", "error")
    rig.assert_still_serving()


@FUZZ
@given(body=bodies | field_objects.map(_encode), mirrored=st.booleans())
@example(body=b"[" * 100_000 + b"]" * 100_000, mirrored=False)
@example(body=b'{"name": "x", "externalSocialPlatform": "tiktok", "n": ' + b"9" * 5000 + b"}", mirrored=True)
@example(body=b'{"name": NaN, "externalSocialPlatform": "tiktok"}', mirrored=False)
def test_no_api_write_body_fails_or_breaks_the_sandbox(api_rig: Rig, body: bytes, mirrored: bool) -> None:
    rig = api_rig
    path = f"/creators/{rig.creator}/tracking-links" if mirrored else "/tracking-links"
    with rig.api(rig.sandbox.admin if mirrored else rig.creator) as http:
        response = http.post(path, content=body, headers={"Content-Type": "application/json"})
    _assert_refusal_shape(response, "errors", "message", "error")
    rig.assert_still_serving()
