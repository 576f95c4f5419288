"""The accounts errors' statuses: each answers one fixed problem (the status's title, never the error's text)."""

from __future__ import annotations

import pytest
from auth_kit import client
from litestar import Litestar, get
from web_helpers import web_settings

from onyx_core.accounts import (
    AccountLocked,
    InvalidCredentials,
    InvalidOAuthState,
    NotAuthenticated,
    NotPermitted,
    ReauthenticationRequired,
    SecondFactorRequired,
    Throttled,
    TwoFactorStateError,
    WeakPassword,
)
from onyx_web.accounts.authentication import PUBLIC
from onyx_web.app import create_app

CASES: list[tuple[Exception, int]] = [
    (InvalidCredentials("no such member olga@agency.test"), 401),
    (NotAuthenticated("session s3cr3t expired"), 401),
    (SecondFactorRequired("owes a code"), 401),
    (ReauthenticationRequired("wrong password hunter2"), 401),
    (NotPermitted("viewer cannot invite"), 403),
    (Throttled(60, "olga@agency.test is throttled"), 429),
    (AccountLocked("olga locked"), 423),
    (WeakPassword("needs 12 characters"), 422),
    (TwoFactorStateError("already active"), 409),
    (InvalidOAuthState("state abc reused"), 400),
]


@pytest.mark.parametrize(("error", "status"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_each_accounts_error_has_its_status_and_says_nothing_more(
    sqlite_database: str, error: Exception, status: int
) -> None:
    @get("/test/raise", opt={PUBLIC: True})
    async def raising() -> None:
        raise error

    app: Litestar = create_app(web_settings(sqlite_database))
    app.register(raising)
    with client(app) as c:
        response = c.get("/test/raise")
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"type", "title", "status", "request_id"}
    assert str(error) not in response.text
    # when to try again travels in the standard header, from any route, and only for an error that knows it
    assert response.headers.get("retry-after") == ("60" if isinstance(error, Throttled) else None)
