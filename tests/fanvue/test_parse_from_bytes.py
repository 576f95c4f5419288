"""The SDK validates a 2xx body straight from its bytes (pydantic's JSON validator, one adapter per type): the same
typed values and the same errors as validating ``json.loads`` of it (the old path), and per-request plumbing done
once rather than per call."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import TypeAdapter, ValidationError

import onyx_fanvue._base as base
import onyx_fanvue._types as types
from onyx_fanvue import AsyncFanvueClient, FanvueClient, Money, RetryPolicy
from onyx_fanvue.errors import MalformedResponseError, ServerError
from onyx_fanvue.models.common import CursorPage, FanUser
from onyx_fanvue.models.insights import EarningRow
from onyx_fanvue.resources._call import parse_as

API = "https://api.fanvue.com"
TOKEN = "secret-access-token-123"
USER = {"uuid": "fan-1", "handle": "fan", "displayName": "Fan", "nickname": None, "isTopSpender": False}
EARNING: dict[str, Any] = {
    "date": "2026-05-01T10:00:00Z",
    "gross": 1500,
    "net": 1200,
    "currency": "USD",
    "source": "tip",
    "user": USER,
}
PAGE = CursorPage[EarningRow]


def page_body(*rows: dict[str, Any]) -> bytes:
    return json.dumps({"data": list(rows), "nextCursor": None}).encode()


def old_path(body: bytes) -> Any:
    """What the SDK did before: ``response.json()``, then a dict validation."""
    return TypeAdapter(PAGE).validate_python(json.loads(body))


def both(body: bytes) -> tuple[Any, Any]:
    """(old, new): each a parsed page, or the list of errors it raised."""
    outcomes: list[Any] = []
    for parse in (old_path, parse_as(PAGE).from_json):  # type: ignore[attr-defined]
        try:
            outcomes.append(parse(body))
        except ValidationError as error:
            # the context holds the raised ValueError itself (equal only to itself); its words are in "msg"
            outcomes.append(error.errors(include_url=False, include_context=False))
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize(
    ("amount", "cents", "currency"),
    [
        (1500, 1500, "USD"),
        (-1200, -1200, "USD"),
        (0, 0, "USD"),
        (2**40, 2**40, "USD"),
        (1500.0, 1500, "USD"),  # an integral decimal
        ("1500", 1500, "USD"),
        ("-1200", -1200, "USD"),
        ({"cents": 5, "currency": "EUR"}, 5, "EUR"),
    ],
)
def test_money_from_bytes_is_the_same_money(amount: Any, cents: int, currency: str) -> None:
    old, new = both(page_body({**EARNING, "gross": amount}))
    assert new == old
    assert isinstance(new.data[0].gross, Money)
    assert new.data[0].gross == Money(cents=cents, currency=currency)
    assert new.data[0].net == Money(cents=1200)


@pytest.mark.parametrize("amount", [9.99, 1e-3, "9.99", "ten", "--5", "", True, False, None, [], {"cents": "x"}])
def test_a_bad_amount_from_bytes_is_the_same_error(amount: Any) -> None:
    old, new = both(page_body({**EARNING, "gross": amount}))
    assert isinstance(old, list)
    assert new == old
    assert {error["loc"][:3] for error in new} == {("data", 0, "gross")}


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-05-01T10:00:00Z", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01T10:00:00.138Z", datetime(2026, 5, 1, 10, 0, 0, 138000, tzinfo=UTC)),
        ("2026-05-01T12:00:00+02:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01T05:30:00-04:30", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01T10:00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),  # naive from Fanvue is UTC
        (" 2026-05-01T10:00:00Z ", datetime(2026, 5, 1, 10, tzinfo=UTC)),
        ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
        (1_777_629_600, datetime(2026, 5, 1, 10, tzinfo=UTC)),  # left to pydantic, as before
    ],
)
def test_a_time_from_bytes_is_the_same_utc_time(stamp: Any, expected: datetime) -> None:
    old, new = both(page_body({**EARNING, "date": stamp}))
    assert new == old
    parsed = new.data[0].date
    assert parsed == expected
    assert parsed.utcoffset() == old.data[0].date.utcoffset() == expected.utcoffset()
    assert type(parsed.tzinfo) is type(old.data[0].date.tzinfo)


@pytest.mark.parametrize("stamp", ["yesterday", "2026-13-01T00:00:00Z", "", None, [], True])
def test_a_bad_time_from_bytes_is_the_same_error(stamp: Any) -> None:
    old, new = both(page_body({**EARNING, "date": stamp}))
    assert isinstance(old, list)
    assert new == old


def test_unknown_fields_from_bytes_are_kept_the_same() -> None:
    extra = {"tier": "gold", "badges": [1, 2.5, None, {"deep": True}], "big": 2**70}
    old, new = both(page_body({**EARNING, **extra, "user": {**USER, "pronouns": "she"}}))
    assert new == old
    assert new.data[0].model_extra == extra
    assert new.data[0].user.model_extra == {"pronouns": "she"}
    fan = parse_as(FanUser).from_json(  # type: ignore[attr-defined]
        json.dumps({**USER, "registeredAt": "2025-03-04", "subscriptionTier": "gold"}).encode()
    )
    assert fan.model_extra == {"subscriptionTier": "gold"}


def test_an_amount_builds_its_money_once(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    plain_init = Money.__init__

    def counting_init(self: Money, **data: Any) -> None:
        built.append(data["cents"])
        plain_init(self, **data)

    monkeypatch.setattr(Money, "__init__", counting_init)
    monkeypatch.setattr(types, "_USD", {})
    rows = [{**EARNING, "gross": 1000 + i % 3, "net": 800 + i % 3} for i in range(50)]
    first = parse_as(PAGE).from_json(page_body(*rows))  # type: ignore[attr-defined]
    assert sorted(built) == [800, 801, 802, 1000, 1001, 1002]
    again = parse_as(PAGE).from_json(page_body(*rows))  # type: ignore[attr-defined]
    assert len(built) == 6
    assert again == first
    assert [row.gross.cents for row in again.data] == [1000 + i % 3 for i in range(50)]


def test_the_money_table_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(types, "_USD", {})
    for cents in range(types._USD_KEPT + 10):
        assert types._cents_input(cents) == Money(cents=cents)
        assert len(types._USD) <= types._USD_KEPT
    assert types._cents_input(7) == Money(cents=7)


# ------------------------------------------------------------------ through the client


def refuse_json(self: httpx.Response, **_: Any) -> Any:
    raise AssertionError("the SDK parsed a 2xx body with Response.json()")


@respx.mock
def test_the_sync_client_parses_a_page_from_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    respx.get(f"{API}/insights/earnings").respond(200, content=page_body(EARNING, {**EARNING, "gross": -5}))
    monkeypatch.setattr(httpx.Response, "json", refuse_json)
    with FanvueClient(access_token=TOKEN) as fanvue:
        page = fanvue.insights.earnings()
    assert [row.gross for row in page.data] == [Money(cents=1500), Money(cents=-5)]
    assert page.data[0].date == datetime(2026, 5, 1, 10, tzinfo=UTC)


@respx.mock
async def test_the_async_client_parses_a_page_from_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    respx.get(f"{API}/insights/earnings").respond(200, content=page_body(EARNING))
    monkeypatch.setattr(httpx.Response, "json", refuse_json)
    async with AsyncFanvueClient(access_token=TOKEN) as fanvue:
        page = await fanvue.insights.earnings()
    assert page.data[0].net == Money(cents=1200)


@respx.mock
def test_a_body_pydantics_parser_refuses_is_read_as_before() -> None:
    # a UTF-8 byte-order mark: json.loads reads it, pydantic's JSON parser does not
    respx.get(f"{API}/insights/earnings").respond(200, content=b"\xef\xbb\xbf" + page_body(EARNING))
    with FanvueClient(access_token=TOKEN) as fanvue:
        page = fanvue.insights.earnings()
    assert page.data[0].gross == Money(cents=1500)


@respx.mock
def test_a_wrong_body_is_the_typed_error_worded_as_before() -> None:
    respx.get(f"{API}/insights/earnings").respond(200, content=page_body({**EARNING, "gross": 9.99}))
    respx.get(f"{API}/insights/spending").respond(200, content=b"[]")
    with FanvueClient(access_token=TOKEN) as fanvue:
        with pytest.raises(MalformedResponseError) as bad_amount:
            fanvue.insights.earnings()
        with pytest.raises(MalformedResponseError) as not_an_object:
            fanvue.insights.spending()
    assert "data.0.gross: Value error, 9.99 is not a whole number of cents" in str(bad_amount.value)
    # pydantic's JSON validator would say "Input should be an object"; the SDK's message stays the one it was
    assert "body: Input should be a valid dictionary or instance of CursorPage[SpendingRow]" in str(not_an_object.value)
    assert bad_amount.value.__context__ is None


@respx.mock
def test_the_user_agent_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    def version(name: str) -> str:
        looked_up.append(name)
        return "9.9.9"

    monkeypatch.setattr(base, "version", version)
    base._user_agent.cache_clear()
    try:
        route = respx.get(f"{API}/insights/earnings").respond(200, content=page_body(EARNING))
        with FanvueClient(access_token=TOKEN) as fanvue:
            for _ in range(3):
                fanvue.insights.earnings()
        with FanvueClient(access_token=TOKEN) as again:
            again.insights.earnings()
    finally:
        base._user_agent.cache_clear()
    assert looked_up == ["onyx-fanvue"]
    assert {call.request.headers["User-Agent"] for call in route.calls} == {
        f"onyx-fanvue/9.9.9 httpx/{httpx.__version__}"
    }


@respx.mock
def test_the_total_retry_time_counts_the_first_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first attempt runs before tenacity's loop is set up; ``max_total_seconds`` still counts it."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])

    def slow_503(_: httpx.Request) -> httpx.Response:
        clock[0] += 11.0
        return httpx.Response(503, json={"error": "busy"})

    route = respx.get(f"{API}/insights/earnings").mock(side_effect=slow_503)
    policy = RetryPolicy(max_retries=5, max_total_seconds=10.0)
    with FanvueClient(access_token=TOKEN, retry=policy, sleep=lambda _: None) as fanvue, pytest.raises(ServerError):
        fanvue.insights.earnings()
    assert route.call_count == 1
    clock[0] = 1000.0
    quick = respx.get(f"{API}/insights/spending").respond(503, json={"error": "busy"})
    with FanvueClient(access_token=TOKEN, retry=policy, sleep=lambda _: None) as fanvue, pytest.raises(ServerError):
        fanvue.insights.spending()
    assert quick.call_count == 6  # a fast failure is still retried max_retries times
