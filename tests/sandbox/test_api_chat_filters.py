"""``/chats`` query parameters as Fanvue's spec lists them: ``sortBy``, ``filter`` (repeated), ``search`` (at most
100 characters), ``customListId`` (a uuid) and ``smartListIds`` are validated (400 ``{errors}``) and applied; the
creator-only filters are 403 for a caller who is not a creator. Each filter is checked against what the other
endpoints say about the same fan (``/insights/fans``) or the same conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import NO_RETRY, NOW
from onyx_fanvue import ValidationError
from onyx_fanvue.sandbox.sandbox import FanvueSandbox

API = "https://api.fanvue.com"
CREATOR_ONLY = [
    "subscribers",
    "followers",
    "recent_subscribers",
    "not_answered",
    "spent_more_than_50",
    "on_free_trial",
    "has_tipped",
    "spenders",
    "exclude_creators",
]


def _http(sandbox: FanvueSandbox, who: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {sandbox.token(who)}", "X-Fanvue-API-Version": "2025-06-26"}
    return httpx.Client(transport=sandbox.sync_transport(), base_url=API, headers=headers, timeout=5)


@pytest.fixture
def own(sandbox: FanvueSandbox, creator: str) -> Iterator[httpx.Client]:
    with _http(sandbox, creator) as http:
        yield http


def _chats(http: httpx.Client, path: str = "/chats", **params: Any) -> list[dict[str, Any]]:
    response = http.get(path, params={"size": 50, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _fans(rows: list[dict[str, Any]]) -> list[str]:
    return [r["user"]["uuid"] for r in rows]


def _insights(http: httpx.Client, fans: list[str]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for i in range(0, len(fans), 20):
        body = http.get("/insights/fans", params={"fanUuids": ",".join(fans[i : i + 20])}).json()
        results.update({k: v for k, v in body["results"].items() if v is not None})
    return results


def test_default_and_sorts(own: httpx.Client) -> None:
    default = _chats(own)
    assert len(default) == 10
    assert _chats(own, sortBy="most_recent_messages") == default
    assert _chats(own, sortBy="online_now") == default  # nobody is online in the sandbox
    unanswered = _chats(own, sortBy="most_unanswered_chats")
    counts = [r["unreadMessagesCount"] for r in unanswered]
    assert counts == sorted(counts, reverse=True)
    assert sorted(_fans(unanswered)) == sorted(_fans(default))
    assert counts[0] > 0


def test_filters_match_the_conversations(own: httpx.Client, sandbox: FanvueSandbox, creator: str) -> None:
    chats = {c.fan.uuid: c for c in sandbox.world.chats[creator]}
    everyone = _fans(_chats(own))
    unread = _fans(_chats(own, filter="unread"))
    assert unread == [f for f in everyone if chats[f].unread_messages_count > 0]
    assert unread
    assert len(unread) < len(everyone)
    not_muted = _fans(_chats(own, filter="not_muted"))
    assert not_muted == [f for f in everyone if not chats[f].is_muted]
    assert len(not_muted) < len(everyone)
    waiting = _fans(_chats(own, filter="not_answered"))
    assert waiting == [f for f in everyone if chats[f].messages[-1].sender.uuid == f]
    both = _fans(own.get("/chats", params=[("filter", "unread"), ("filter", "not_muted")]).json()["data"])
    assert both == [f for f in unread if f in not_muted]  # repeated filters all apply
    for nobody in ("online", "subscribed_to", "archived", "on_free_trial"):
        assert _chats(own, filter=nobody) == []
    assert _fans(_chats(own, filter="exclude_creators")) == everyone


def test_filters_match_the_fans_insights(own: httpx.Client) -> None:
    everyone = _fans(_chats(own))
    insight = _insights(own, everyone)

    def where(test: Any) -> list[str]:
        return [f for f in everyone if test(insight[f])]

    recent_since = NOW - timedelta(days=30)

    def recent(i: dict[str, Any]) -> bool:
        created = i["subscription"]["createdAt"]
        return i["status"] == "subscriber" and datetime.fromisoformat(created) >= recent_since

    expected = {
        "subscribers": where(lambda i: i["status"] == "subscriber"),
        "followers": where(lambda i: i["status"] == "follower"),
        "recent_subscribers": where(recent),
        "spent_more_than_50": where(lambda i: i["spending"]["total"]["gross"] > 5000),
        "has_tipped": where(lambda i: "tip" in i["spending"]["sources"]),
        "spenders": where(lambda i: i["spending"]["total"]["gross"] > 0),
    }
    for name, fans in expected.items():
        assert _fans(_chats(own, filter=name)) == fans, name
    assert expected["subscribers"]
    assert expected["followers"]
    assert expected["spenders"]


def test_smart_lists_select_their_members(own: httpx.Client, sandbox: FanvueSandbox, creator: str) -> None:
    everyone = _fans(_chats(own))
    insight = _insights(own, everyone)
    muted = [c.fan.uuid for c in sandbox.world.chats[creator] if c.is_muted]
    subscribers = [f for f in everyone if insight[f]["status"] == "subscriber"]
    auto = [f for f in subscribers if insight[f]["subscription"]["autoRenewalEnabled"]]
    assert _fans(_chats(own, smartListIds="subscribers")) == subscribers
    assert _fans(_chats(own, smartListIds="auto_renewing")) == auto
    assert _fans(_chats(own, smartListIds="non_renewing")) == [f for f in subscribers if f not in auto]
    assert _fans(_chats(own, smartListIds="expired_subscribers")) == [
        f for f in everyone if insight[f]["status"] == "expired"
    ]
    assert _fans(_chats(own, smartListIds="muted")) == muted
    assert _chats(own, smartListIds="free_trial_subscribers") == []
    union = own.get("/chats", params=[("smartListIds", "muted"), ("smartListIds", "subscribers")]).json()["data"]
    assert _fans(union) == [f for f in everyone if f in muted or f in subscribers]  # any of the lists


def test_search_by_name_or_handle(own: httpx.Client, sandbox: FanvueSandbox, creator: str) -> None:
    chat = sandbox.world.chats[creator][3]
    handle, name = chat.fan.handle, chat.fan.display_name
    assert chat.fan.uuid in _fans(_chats(own, search=handle.upper()[1:-1]))
    assert chat.fan.uuid in _fans(_chats(own, search=name.split()[0].lower()))
    found = _chats(own, search=handle)
    assert all(handle.lower() in (r["user"]["handle"] + r["user"]["displayName"]).lower() for r in found)
    assert _chats(own, search="zz-no-such-fan-zz") == []
    assert _chats(own, search="") == _chats(own)
    assert len(_chats(own, search="x" * 100)) == 0


def test_a_custom_list_that_does_not_exist_holds_no_chats(own: httpx.Client) -> None:
    assert _chats(own, customListId="00000000-0000-4000-8000-000000000000") == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"sortBy": "sideways"}, "sortBy"),
        ({"filter": "nonsense"}, "filter"),
        ({"smartListIds": "vip"}, "smartListIds"),
        ({"search": "x" * 101}, "search"),
        ({"customListId": "not-a-uuid"}, "customListId"),
    ],
)
@pytest.mark.parametrize("mirror", [False, True])
def test_bad_chat_queries_are_400_errors(
    sandbox: FanvueSandbox, creator: str, params: dict[str, str], needle: str, mirror: bool
) -> None:
    with _http(sandbox, None if mirror else creator) as http:
        response = http.get(f"/creators/{creator}/chats" if mirror else "/chats", params=params)
    assert response.status_code == 400, response.text
    assert response.json().keys() == {"errors"}
    assert any(needle in e for e in response.json()["errors"])


@pytest.mark.parametrize("name", CREATOR_ONLY)
def test_creator_only_filters_are_403_for_a_non_creator(sandbox: FanvueSandbox, name: str) -> None:
    with _http(sandbox, None) as admin:
        response = admin.get("/chats", params={"filter": name})
        assert response.status_code == 403
        assert response.json().keys() == {"error"}
        assert admin.get("/chats", params={"filter": "unread"}).json()["data"] == []


def test_the_creator_mirror_applies_the_same_parameters(
    own: httpx.Client, sandbox: FanvueSandbox, creator: str
) -> None:
    with _http(sandbox, None) as admin:
        for params in ({"filter": "subscribers"}, {"sortBy": "most_unanswered_chats"}, {"smartListIds": "muted"}):
            assert _chats(admin, f"/creators/{creator}/chats", **params) == _chats(own, **params)


def test_the_sdk_sends_them_as_the_sandbox_reads_them(sandbox: FanvueSandbox, own: httpx.Client, creator: str) -> None:
    with sandbox.client(creator, retry=NO_RETRY, rate_limited=False) as sdk:
        page = sdk.chats.list(filters=["unread", "not_muted"], smart_list_ids=["subscribers", "muted"], size=50)
        sorted_page = sdk.chats.list(sort_by="most_unanswered_chats", search="fan", size=50)
        with pytest.raises(ValidationError):
            sdk.chats.list(filters=["nonsense"])
    raw = own.get(
        "/chats",
        params=[
            ("filter", "unread"),
            ("filter", "not_muted"),
            ("smartListIds", "subscribers"),
            ("smartListIds", "muted"),
            ("size", "50"),
        ],
    ).json()["data"]
    assert [r.user.uuid for r in page.data] == _fans(raw)
    assert [r.user.uuid for r in sorted_page.data] == _fans(_chats(own, sortBy="most_unanswered_chats", search="fan"))
