"""W1: every registered route is either public by its own declaration (``opt={"public": True}``) or answers 401
without credentials (and with made-up ones); a private page (``opt={"page": True}``) answers instead 303 to the
login page, with an empty body; no route with ``debug`` or ``admin`` in its path is public.

The cases come from ``app.routes``: a route added later is checked without anyone listing it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath
from web_helpers import serving, web_settings

from onyx_web.accounts.authentication import PAGE, PUBLIC, SESSION_COOKIE

_PARAM = re.compile(r"\{(\w+):(\w+)\}")
_SAMPLES = {"int": "1", "uuid": "00000000-0000-4000-8000-000000000001", "float": "1.5", "decimal": "1.5"}
ANONYMOUS: dict[str, dict[str, str]] = {
    "no credentials": {},
    "a made-up API token": {"Authorization": "Bearer onyx_pat_made-up"},
    "a made-up session": {"Cookie": f"{SESSION_COOKIE}=made-up-session-id"},
    "a malformed authorization": {"Authorization": "Basic YWRtaW46YWRtaW4="},
}


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    public: bool
    page: bool = False

    def url(self) -> str:
        return _PARAM.sub(lambda m: _SAMPLES.get(m.group(2), "x"), self.path)


def operations(app: Litestar) -> list[Operation]:
    return sorted(
        {
            Operation(route.path, method, bool(handler.opt.get(PUBLIC)), bool(handler.opt.get(PAGE)))
            for route in app.routes
            for handler in route.route_handlers  # type: ignore[attr-defined]
            for method in handler.http_methods
        },
        key=lambda op: (op.path, op.method),
    )


def anonymous_answers_not_401(app: Litestar) -> list[str]:
    """Every private operation that answers anything but a 401 problem to an anonymous caller (a private page:
    anything but an empty 303 to the login page, which comes back to the page)."""
    wrong = []
    with serving(app) as client:
        for op in (op for op in operations(app) if not op.public):
            for who, headers in ANONYMOUS.items():
                response = client.request(op.method, op.url(), headers=headers, follow_redirects=False)
                if op.page:
                    back = "/login?" + urlencode({"next": op.url()})
                    if response.status_code != 303 or response.headers.get("location") != back or response.content:
                        wrong.append(f"{op.method} {op.path} (a page) with {who}: {response.status_code}")
                elif response.status_code != 401 or response.headers.get("content-type") != "application/problem+json":
                    wrong.append(f"{op.method} {op.path} with {who}: {response.status_code}")
    return wrong


def public_debug_or_admin(app: Litestar) -> list[str]:
    return [f"{op.method} {op.path}" for op in operations(app) if op.public and re.search("debug|admin", op.path, re.I)]


@get("/test/private")
async def private() -> dict[str, str]:
    return {"secret": "data"}


@post("/test/private/{item_id:int}")
async def private_write(item_id: FromPath[int]) -> dict[str, int]:
    return {"item": item_id}


@pytest.fixture
def app_with_private_routes(app: Litestar) -> Litestar:
    """The app, plus two private routes of the test's own (the app has none of its own yet)."""
    app.register(private)
    app.register(private_write)
    return app


def test_every_private_route_answers_401_without_credentials(
    app_with_private_routes: Litestar, record_property: pytest.RecordProperty
) -> None:
    ops = operations(app_with_private_routes)
    private_ops = [op for op in ops if not op.public]
    assert {("/test/private", "GET"), ("/test/private/{item_id:int}", "POST")} <= {
        (op.path, op.method) for op in private_ops
    }
    assert anonymous_answers_not_401(app_with_private_routes) == []
    pages = sum(1 for op in private_ops if op.page)
    assert pages >= 1, "the dashboard's private pages carry the page option"
    record_property(
        "W1",
        f" {len(ops)} operations, {len(ops) - len(private_ops)} public, {len(private_ops)} private"
        f" ({pages} pages: 303 to the login page, the rest 401): 100 %",
    )


def test_the_public_routes_are_the_allowlist(app: Litestar) -> None:
    public = {(op.path, op.method) for op in operations(app) if op.public}
    allowed_paths = {
        "/api/auth/login",
        "/api/invites/{token:str}",  # an invitation link's preview: the link is the credential
        "/api/invites/{token:str}/accept",
        "/healthz",
        "/readyz",
        "/schema",
        "/schema/openapi.json",
        "/schema/{path:str}",
    }
    allowed_paths |= {"/connections/fanvue/callback", "/api/invites/{token:str}/connect"}  # the OAuth dance
    # the browser pages: static HTML shells and their own script and style sheet (onyx_web/pages)
    allowed_paths |= {"/", "/login", "/login/2fa", "/account/2fa", "/connections", "/invite/{token:str}"}
    allowed_paths |= {"/static/{name:str}", "/static/vendor/{name:str}"}  # and the chart library (plotly's wheel)
    # Fanvue's webhook deliveries: Fanvue has no Onyx session; the X-Fanvue-Signature (HMAC of the raw body with the
    # agency's secret) is the credential, and without it the answer is 401 (tests/web/test_webhooks.py)
    allowed_paths |= {"/webhooks/fanvue/{agency_id:str}/{event_type:str}"}
    # machines' routes with a bearer secret of the deployment's, checked by the route itself (onyx_web/ops)
    allowed_paths |= set(SELF_AUTHENTICATED)
    assert {path for path, _ in public} <= allowed_paths
    assert ("/healthz", "GET") in public
    assert ("/readyz", "GET") in public


SELF_AUTHENTICATED = {"/ops/heartbeat": "POST", "/metrics": "GET"}
"""Public to the member authentication, they check their own bearer secret (``ONYX_HEARTBEAT_SECRET``,
``ONYX_METRICS_TOKEN``): 401 without it, 404 while the deployment has not set it."""


@pytest.mark.parametrize("configured", [True, False])
def test_the_self_authenticated_routes_refuse_anonymous_callers(sqlite_database: str, configured: bool) -> None:
    from onyx_web.app import create_app  # noqa: PLC0415

    configured_secrets = {
        "heartbeat_secret": "hb-" + "x" * 20,  # pragma: allowlist secret
        "metrics_token": "mt-" + "y" * 20,  # pragma: allowlist secret
    }
    secrets = configured_secrets if configured else {}
    app = create_app(web_settings(sqlite_database, **secrets))
    public = {(op.path, op.method) for op in operations(app) if op.public}
    assert set(SELF_AUTHENTICATED.items()) <= public
    with serving(app) as client:
        for path, method in SELF_AUTHENTICATED.items():
            for who, headers in ANONYMOUS.items():
                response = client.request(method, path, headers=headers)
                assert response.status_code == (401 if configured else 404), (path, who)
                assert response.headers["content-type"] == "application/problem+json"


def test_no_debug_or_admin_route_is_public(app: Litestar) -> None:
    assert public_debug_or_admin(app) == []


def test_the_checks_catch_an_open_route() -> None:
    """The checks above fail for an app whose private route lets anyone in, or with a public admin route."""

    @get("/admin/settings", opt={PUBLIC: True})
    async def open_admin() -> None:
        return None

    unprotected = Litestar([private, open_admin])
    found = set(anonymous_answers_not_401(unprotected))
    assert {f"GET /test/private with {who}: 200" for who in ANONYMOUS} <= found
    assert public_debug_or_admin(unprotected) == ["GET /admin/settings"]
