"""W3 and the error layer: every error answer is application/problem+json with a request id; a 500 says nothing
but "Internal Server Error" and the id, while the log holds the traceback (scrubbed of secrets)."""

from __future__ import annotations

import json
import logging

import pytest
from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.params import FromQuery
from web_helpers import serving

from onyx_core.errors import NotFoundError
from onyx_fanvue.redaction import Secret

SECRET = "sk_live_9f8e7d6c5b4a39281706"
"""A client secret the process holds (so the log scrubs it), put in an exception's message."""
EXCEPTION_TEXT = "the vault said no to"
PROBLEM_KEYS = {"type", "title", "status", "request_id"}


@get("/test/boom", opt={"public": True})
async def boom() -> None:
    held = Secret(SECRET)
    raise RuntimeError(f"{EXCEPTION_TEXT} {held.get_secret_value()}")


@get("/test/server-http-error", opt={"public": True})
async def server_http_error() -> None:
    held = Secret(SECRET)  # held here too: the test must not depend on another having registered it
    raise HTTPException(status_code=500, detail=f"internal detail {held.get_secret_value()}")


@get("/test/missing", opt={"public": True})
async def missing() -> None:
    raise NotFoundError("creator 'luna' of agency 'acme' not found")


@get("/test/items", opt={"public": True})
async def items(limit: FromQuery[int]) -> dict[str, int]:
    return {"limit": limit}


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["request_id"] == response.headers["x-request-id"]  # type: ignore[attr-defined]
    return dict(body)


@pytest.fixture
def test_app(app: Litestar) -> Litestar:
    for handler in (boom, server_http_error, missing, items):
        app.register(handler)
    return app


def test_a_handler_failing_with_a_secret_answers_a_generic_500_and_logs_the_traceback(
    test_app: Litestar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="onyx_web.errors")
    with serving(test_app) as client:
        response = client.get("/test/boom")
    body = _problem(response, 500)
    assert body == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "request_id": response.headers["x-request-id"],
    }
    for leak in ("Traceback", EXCEPTION_TEXT, SECRET, "RuntimeError", "test_problem_json"):
        assert response.text.count(leak) == 0, leak
    [record] = [r for r in caplog.records if r.name == "onyx_web.errors"]
    assert record.exc_info is not None
    logged = caplog.text
    assert "Traceback (most recent call last)" in logged
    assert "in boom" in logged
    assert EXCEPTION_TEXT in logged
    assert body["request_id"] in logged
    assert "/test/boom" in logged
    assert SECRET not in logged  # the SecretFilter scrubbed message and traceback


def test_a_5xx_http_exception_shows_no_detail(test_app: Litestar, caplog: pytest.LogCaptureFixture) -> None:
    with serving(test_app) as client:
        response = client.get("/test/server-http-error")
    body = _problem(response, 500)
    assert "detail" not in body
    assert SECRET not in response.text
    assert "internal detail" not in response.text
    assert "internal detail" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize("path", ["/no/such/page", "/schema/no-such-renderer", "/schema/swagger"])
def test_unknown_path_is_a_404_problem(app: Litestar, path: str) -> None:
    with serving(app) as client:
        body = _problem(client.get(path), 404)  # /schema/… too: Litestar's own answer there is an HTML page
    assert body["title"] == "Not Found"


def test_wrong_method_is_a_405_problem(app: Litestar) -> None:
    with serving(app) as client:
        body = _problem(client.post("/healthz"), 405)
    assert body["title"] == "Method Not Allowed"


def test_validation_error_is_a_400_problem_naming_the_field_not_the_value(test_app: Litestar) -> None:
    value = "hunter2-not-a-number"
    with serving(test_app) as client:
        response = client.get("/test/items", params={"limit": value})
    body = _problem(response, 400)
    assert body["title"] == "Bad Request"
    assert body["errors"] == [{"key": "limit", "source": "query", "message": "Expected `int`, got `str`"}]
    assert value not in response.text
    with serving(test_app) as client:
        assert client.get("/test/items", params={"limit": "3"}).json() == {"limit": 3}


def test_a_domain_not_found_is_a_404_without_its_message(test_app: Litestar) -> None:
    with serving(test_app) as client:
        response = client.get("/test/missing")
    body = _problem(response, 404)
    assert "detail" not in body
    assert "luna" not in response.text
    assert "acme" not in response.text


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced(app: Litestar) -> None:
    with serving(app) as client:
        kept = client.get("/nowhere", headers={"X-Request-ID": "req-123.abc:7"})
        replaced = client.get("/nowhere", headers={"X-Request-ID": "<script>alert(1)</script>"})
        too_long = client.get("/nowhere", headers={"X-Request-ID": "a" * 129})
        fresh = [client.get("/healthz").headers["x-request-id"] for _ in range(3)]
    assert kept.headers["x-request-id"] == "req-123.abc:7" == kept.json()["request_id"]
    assert replaced.headers["x-request-id"] != "<script>alert(1)</script>"
    assert "script" not in replaced.text
    assert too_long.headers["x-request-id"] != "a" * 129
    assert len(set(fresh)) == 3
    assert all(len(rid) == 32 for rid in fresh)


def test_debug_is_off_even_when_the_environment_asks(
    monkeypatch: pytest.MonkeyPatch, sqlite_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    from web_helpers import web_settings  # noqa: PLC0415

    from onyx_web.app import create_app  # noqa: PLC0415

    monkeypatch.setenv("LITESTAR_DEBUG", "1")
    app = create_app(web_settings(sqlite_database))
    app.register(boom)
    assert app.debug is False
    with serving(app) as client:
        response = client.get("/test/boom", headers={"Accept": "text/html"})
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text
    assert json.loads(response.text)["title"] == "Internal Server Error"
