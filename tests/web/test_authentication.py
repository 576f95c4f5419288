"""The authentication middleware: credentials from ``Authorization: Bearer`` or the ``__Host-onyx_session``
cookie go to the injected authenticator; its principal becomes ``request.user``; a refusal is a 401 problem."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get
from web_helpers import serving, web_settings

from onyx_web.accounts.authentication import (
    MAX_CREDENTIAL_LENGTH,
    SESSION_COOKIE,
    Credentials,
    NotAuthenticatedError,
)
from onyx_web.app import create_app
from onyx_web.runtime import WebRuntime

GOOD_SESSION = "good-session-secret"
GOOD_TOKEN = "onyx_pat_good-token"


class Recorder:
    """An authenticator that knows one session and one token, and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[Credentials] = []

    async def __call__(self, web: WebRuntime, credentials: Credentials, /) -> Any:
        assert isinstance(web, WebRuntime)
        self.asked.append(credentials)
        if credentials.secret == "explode":
            raise RuntimeError(f"the store failed for {credentials.secret}")
        if (credentials.scheme, credentials.secret) in {("session", GOOD_SESSION), ("bearer", GOOD_TOKEN)}:
            return {"member": "m-1", "via": credentials.scheme}
        raise NotAuthenticatedError


@get("/test/whoami")
async def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"user": request.user, "scheme": request.auth.scheme}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def secured(sqlite_database: str, recorder: Recorder) -> Litestar:
    app = create_app(web_settings(sqlite_database), authenticator=recorder)
    app.register(whoami)
    return app


def test_a_known_session_cookie_is_the_principal(secured: Litestar, recorder: Recorder) -> None:
    with serving(secured) as client:
        response = client.get("/test/whoami", headers={"Cookie": f"{SESSION_COOKIE}={GOOD_SESSION}"})
    assert response.status_code == 200
    assert response.json() == {"user": {"member": "m-1", "via": "session"}, "scheme": "session"}
    assert recorder.asked == [Credentials("session", GOOD_SESSION)]


def test_a_known_bearer_token_is_the_principal_and_wins_over_a_cookie(secured: Litestar, recorder: Recorder) -> None:
    headers = {"Authorization": f"Bearer {GOOD_TOKEN}", "Cookie": f"{SESSION_COOKIE}=whatever-else"}
    with serving(secured) as client:
        response = client.get("/test/whoami", headers=headers)
    assert response.json()["user"] == {"member": "m-1", "via": "bearer"}
    assert recorder.asked == [Credentials("bearer", GOOD_TOKEN)]


@pytest.mark.parametrize(
    ("headers", "asks"),
    [
        ({}, False),
        ({"Cookie": f"{SESSION_COOKIE}=unknown-session"}, True),
        ({"Cookie": f"onyx_session={GOOD_SESSION}"}, False),  # not the __Host- cookie
        ({"Authorization": "Bearer onyx_pat_unknown"}, True),
        ({"Authorization": f"Basic {GOOD_TOKEN}"}, False),
        ({"Authorization": "Bearer"}, False),
        ({"Authorization": "Bearer " + "a" * (MAX_CREDENTIAL_LENGTH + 1)}, False),
        ({"Cookie": f"{SESSION_COOKIE}={'a' * (MAX_CREDENTIAL_LENGTH + 1)}"}, False),
        ({"Authorization": "Bearer onyx_pat_unknown", "Cookie": f"{SESSION_COOKIE}={GOOD_SESSION}"}, True),
    ],
)
def test_refusals_are_one_401_problem(
    secured: Litestar, recorder: Recorder, headers: dict[str, str], asks: bool
) -> None:
    with serving(secured) as client:
        response = client.get("/test/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="onyx"'
    body = response.json()
    assert body == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Log in, or send an API token.",
        "request_id": response.headers["x-request-id"],
    }
    assert bool(recorder.asked) is asks


def test_an_authenticator_failure_is_a_generic_500(secured: Litestar) -> None:
    with serving(secured) as client:
        response = client.get("/test/whoami", headers={"Authorization": "Bearer explode"})
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"
    assert "store failed" not in response.text


def test_public_routes_never_ask_the_authenticator(secured: Litestar, recorder: Recorder) -> None:
    with serving(secured) as client:
        assert client.get("/healthz", headers={"Authorization": "Bearer explode"}).status_code == 200
    assert recorder.asked == []


def test_the_default_authenticator_refuses_everyone(app: Litestar) -> None:
    app.register(whoami)
    with serving(app) as client:
        response = client.get("/test/whoami", headers={"Cookie": f"{SESSION_COOKIE}={GOOD_SESSION}"})
    assert response.status_code == 401
