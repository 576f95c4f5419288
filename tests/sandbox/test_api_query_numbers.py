"""Paging numbers as Fanvue's OpenAPI types them: ``page`` and ``size`` are numbers (``page`` ≥ 1 with no maximum,
``size`` 1-50), ``limit`` an integer > 0 with no maximum. What the spec allows is answered; anything else is a
400 ``{errors}``, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
HUGE_PAGE = "99999999999999999999"


@pytest.fixture
def own(sandbox: FanvueSandbox, creator: str) -> Iterator[httpx.Client]:
    """Raw HTTP as the first creator (own-account paths)."""
    headers = {"Authorization": f"Bearer {sandbox.token(creator)}", "X-Fanvue-API-Version": "2025-06-26"}
    with httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers, timeout=5) as http:
        yield http


PAGED = ["/chats", "/subscribers", "/followers", "/insights/top-spenders", "/posts"]


@pytest.mark.parametrize("path", PAGED)
def test_a_page_past_the_end_is_an_empty_page(own: httpx.Client, path: str) -> None:
    for page in (HUGE_PAGE, "1e300", "123456789"):
        response = own.get(path, params={"page": page})
        assert response.status_code == 200, (page, response.text[:200])
        body = response.json()
        assert body["data"] == []
        assert body["pagination"]["hasMore"] is False
        assert body["pagination"]["size"] == 0
    assert own.get(path, params={"page": HUGE_PAGE}).json()["pagination"]["page"] == int(HUGE_PAGE)


@pytest.mark.parametrize("path", PAGED)
def test_size_and_page_are_numbers(own: httpx.Client, path: str) -> None:
    plain = own.get(path, params={"size": 2}).json()
    for size in ("2.0", "2e0", "2.5", " 2"):
        same = own.get(path, params={"size": size})
        assert same.status_code == 200, (size, same.text[:200])
        assert same.json() == plain  # a fraction is cut to the whole number below it
    assert own.get(path, params={"page": "1.0", "size": "2"}).json() == plain


@pytest.mark.parametrize("path", ["/insights/earnings", "/insights/spending", "/insights/subscribers"])
def test_cursor_size_is_a_number(own: httpx.Client, path: str) -> None:
    plain = own.get(path, params={"size": 3})
    assert plain.status_code == 200
    assert own.get(path, params={"size": "3.0"}).json() == plain.json()


@pytest.mark.parametrize(
    "params",
    [
        {"size": "0"},
        {"size": "51"},
        {"size": "50.5"},
        {"size": "0.5"},
        {"size": "-1"},
        {"size": "ten"},
        {"size": "nan"},
        {"size": "inf"},
        {"size": "1e999"},
        {"size": "0x10"},
        {"size": "1_0"},
        {"page": "0"},
        {"page": "0.5"},
        {"page": "-3"},
        {"page": "1e999"},
        {"page": "9" * 5000},
    ],
)
@pytest.mark.parametrize("path", ["/chats", "/insights/earnings"])
def test_numbers_outside_the_spec_are_400_errors(own: httpx.Client, path: str, params: dict[str, str]) -> None:
    if path == "/insights/earnings" and "page" in params:
        return  # a cursor listing has no page
    response = own.get(path, params=params)
    assert response.status_code == 400, response.text[:200]
    errors = response.json()["errors"]
    assert any(name in e for e in errors for name in params)


def _make_links(sandbox: FanvueSandbox, creator: str, n: int) -> None:
    now = sandbox.clock.now()
    for i in range(n):
        sandbox.world.add_tracking_link(creator, f"link {i}", "other", now)


def test_tracking_link_limit_has_no_maximum(sandbox: FanvueSandbox, own: httpx.Client, creator: str) -> None:
    _make_links(sandbox, creator, 60)
    total = len(sandbox.world.tracking_links(creator))
    assert total > 60
    big = own.get("/tracking-links", params={"limit": 100}).json()
    assert len(big["data"]) == total
    assert big["nextCursor"] is None
    sixty = own.get("/tracking-links", params={"limit": "60.0"}).json()
    assert len(sixty["data"]) == 60
    assert sixty["nextCursor"] is not None
    assert own.get("/tracking-links", params={"limit": "1" + "0" * 30}).json() == big


@pytest.mark.parametrize("limit", ["0", "-1", "2.5", "ten", "inf", "1e999"])
def test_tracking_link_limit_must_be_a_positive_integer(own: httpx.Client, limit: str) -> None:
    response = own.get("/tracking-links", params={"limit": limit})
    assert response.status_code == 400, response.text[:200]
    assert any("limit" in e for e in response.json()["errors"])


def test_link_users_limit_has_no_maximum(sandbox: FanvueSandbox, own: httpx.Client, creator: str) -> None:
    link = max(sandbox.world.tracking_links(creator), key=lambda x: len(sandbox.world.link_users(creator, x.uuid)))
    users = own.get(f"/tracking-links/{link.uuid}/users", params={"limit": 1000})
    assert users.status_code == 200
    assert len(users.json()["data"]) == len(sandbox.world.link_users(creator, link.uuid))
