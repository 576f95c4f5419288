"""End to end, as a person runs it: ``onyx migrate``, ``onyx users create-owner``, ``onyx sandbox`` and
``onyx serve`` as real processes, and an HTTP client doing what the browser's pages do. The owner logs in, enrols
TOTP, logs out, logs in again with a code, connects the sandbox agency (the sandbox approves with a login hint),
sees its creators imported, and invites a viewer limited to one creator, who then sees only that creator.

Runs on both engines (a fresh database each)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from serve_kit import fresh_database, onyx, onyx_env, sandbox_and_web
from web_helpers import KEY

OWNER_PASSWORD = "e2e owner passphrase 1"  # pragma: allowlist secret
VIEWER_PASSWORD = "e2e viewer passphrase 2"  # pragma: allowlist secret
SESSION = "__Host-onyx_session"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each engine (the test migrates it with the CLI, as a person would)."""
    yield from fresh_database(request, tmp_path)


@dataclass
class Browser:
    """What a browser keeps for one person: the session cookie and the CSRF token the pages read from the API."""

    http: httpx.Client
    session: str | None = None
    csrf: str | None = None
    history: list[httpx.Response] = field(default_factory=list)

    def _headers(self, method: str) -> dict[str, str]:
        headers = {}
        if self.session is not None:
            headers["cookie"] = f"{SESSION}={self.session}"
        if method not in {"GET", "HEAD"} and self.csrf is not None:
            headers["x-csrf-token"] = self.csrf
        return headers

    def call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        # the __Host- cookie is Secure: httpx keeps it off plain http, a browser on 127.0.0.1 does not; by hand here
        answer = self.http.request(method, path, headers=self._headers(method), **kwargs)  # type: ignore[arg-type]
        self.history.append(answer)
        cookie = answer.cookies.get(SESSION)
        if cookie is not None:
            self.session = cookie or None
        return answer

    def login(self, email: str, password: str) -> dict[str, object]:
        answer = self.call("POST", "/api/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        self.csrf = str(body["csrf_token"])
        return body

    def second_factor(self, code: str) -> None:
        answer = self.call("POST", "/api/auth/totp", json={"code": code})
        assert answer.status_code == 200, answer.text
        self.csrf = str(answer.json()["csrf_token"])


def _code_after(secret: str, used_step: int) -> tuple[str, int]:
    """A code for a step after ``used_step`` (an accepted code is accepted once), within the ±1 step window."""
    totp = pyotp.TOTP(secret)
    step = max(int(time.time()) // 30, used_step + 1)
    while step > int(time.time()) // 30 + 1:  # pragma: no cover (only when a step boundary was just crossed)
        time.sleep(1)
    return totp.at(step * 30), step


def test_a_person_runs_onyx_end_to_end(database: str, tmp_path: Path) -> None:
    url = database
    base_env = onyx_env(database_url=url, cipher_keys=KEY)
    onyx("migrate", "--database-url", url, env=base_env)
    onyx(
        "users", "create-owner", "--agency", "Acme Talent", "--email", "olga@acme.test", "--name", "Olga",
        "--password-stdin", "--database-url", url, env=base_env, stdin=OWNER_PASSWORD + "\n",
    )  # fmt: skip
    with sandbox_and_web(url, tmp_path, seed="3", days="20") as stack:
        with httpx.Client(base_url=stack.web_base, timeout=30.0) as http, httpx.Client(timeout=30.0) as fanvue:
            _the_story(Browser(http), Browser(http), fanvue, stack.agency_admin)
        served_log = stack.web.log.read_text()
        for secret in (OWNER_PASSWORD, VIEWER_PASSWORD):
            assert secret not in served_log


def _the_story(owner: Browser, viewer: Browser, fanvue: httpx.Client, agency_admin: str) -> None:
    _log_in_with_two_factor(owner)
    imported = _connect_fanvue(owner, fanvue, agency_admin)
    _invite_a_viewer_of_one_creator(owner, viewer, imported)


def _log_in_with_two_factor(owner: Browser) -> None:
    # log in (no 2FA yet), enrol TOTP: activated by one correct code, 10 recovery codes
    step = owner.login("olga@acme.test", OWNER_PASSWORD)
    assert step["second_factor_due"] is False
    setup = owner.call("POST", "/api/account/totp/enrolment")
    assert setup.status_code in {200, 201}, setup.text
    secret = setup.json()["secret"]
    assert "<svg" in setup.json()["qr_svg"]
    code, used = _code_after(secret, -1)
    confirmed = owner.call("POST", "/api/account/totp/enrolment/confirm", json={"code": code})
    assert confirmed.status_code in {200, 201}, confirmed.text
    assert len(confirmed.json()["recovery_codes"]) == 10

    # log out: the old cookie is dead; log in again, now with a code
    old_session = owner.session
    assert owner.call("POST", "/api/auth/logout").status_code == 204
    owner.session = old_session
    assert owner.call("GET", "/api/auth/me").status_code == 401
    owner.session = None
    step = owner.login("olga@acme.test", OWNER_PASSWORD)
    assert step["second_factor_due"] is True
    assert owner.call("GET", "/api/creators").status_code == 401  # password alone is not enough (A8)
    code, used = _code_after(secret, used)
    owner.second_factor(code)
    me = owner.call("GET", "/api/auth/me")
    assert (me.status_code, me.json()["role"]) == (200, "owner"), me.text


def _connect_fanvue(owner: Browser, fanvue: httpx.Client, agency_admin: str) -> list[dict[str, object]]:
    # connect Fanvue: the browser goes to the sandbox's authorize URL and comes back to the callback
    started = owner.call("POST", "/api/connections/fanvue/start", json={"login_hint": agency_admin})
    assert started.status_code in {200, 201}, started.text
    authorize_url = started.json()["authorize_url"]
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    approved = fanvue.get(authorize_url, follow_redirects=False)
    assert approved.status_code in {302, 303}, approved.text
    back = urlsplit(approved.headers["location"])
    landed = owner.call("GET", f"{back.path}?{back.query}", follow_redirects=False)
    assert landed.status_code == 303, landed.text
    assert urlsplit(landed.headers["location"]).path == "/connections"

    connections = owner.call("GET", "/api/connections")
    assert connections.status_code == 200, connections.text
    assert [c["status"] for c in _items(connections.json())] == ["active"]
    creators = owner.call("GET", "/api/creators")
    assert creators.status_code == 200, creators.text
    imported = _items(creators.json())
    assert len(imported) == 3, imported
    return imported


def _invite_a_viewer_of_one_creator(owner: Browser, viewer: Browser, imported: list[dict[str, object]]) -> None:
    # invite a viewer limited to the first creator; she accepts on the public route and logs in
    chosen, others = imported[0], imported[1:]
    invite = owner.call("POST", "/api/agency/invites", json={"role": "viewer", "creator_ids": [chosen["id"]]})
    assert invite.status_code == 201, invite.text
    token = urlsplit(invite.json()["url"]).path.rsplit("/", 1)[-1]
    accepted = viewer.call(
        "POST",
        f"/api/invites/{token}/accept",
        json={"email": "vera@acme.test", "display_name": "Vera", "password": VIEWER_PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    viewer.login("vera@acme.test", VIEWER_PASSWORD)
    seen = viewer.call("GET", "/api/creators")
    assert seen.status_code == 200, seen.text
    assert [c["id"] for c in _items(seen.json())] == [chosen["id"]]
    for other in others:
        hidden = viewer.call("GET", f"/api/creators/{other['id']}")
        assert hidden.status_code == 404
        assert other["id"] not in hidden.text
    assert viewer.call("GET", f"/api/creators/{chosen['id']}").status_code == 200
    assert viewer.call("GET", "/api/agency/members").status_code == 403  # a viewer manages nobody


def _items(body: object) -> list[dict[str, object]]:
    """A list answer, bare or under ``items``."""
    if isinstance(body, dict):
        body = body["items"]
    assert isinstance(body, list)
    return body
