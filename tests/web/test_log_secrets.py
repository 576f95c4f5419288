"""W10: the logs of a whole connect + sync + refresh + failure scenario hold no secret.

One scenario per engine, in this process, with every logger open at DEBUG (root, httpx, httpcore, uvicorn,
sqlalchemy, litestar, onyx_*: none silenced, none disabled, all propagating) and one capturing handler on the root
logger WITHOUT a filter of its own, so a secret only stays out of the capture if it was scrubbed where it was
logged (what any handler anyone adds would see); the ``onyx`` commands' stdout and stderr are captured too.

The scenario: ``onyx users create-owner``; TOTP enrolment and an API token through the core; login with password
and TOTP code over the web (plus a wrong password and a wrong code); ``onyx connect agency`` against the Fanvue
sandbox served on loopback by uvicorn (real HTTP: httpx and httpcore log every request and response header);
``onyx sync``; ``onyx schedule`` refreshing the tokens (they live 10 min, inside its 15-min window); a sync
through injected 500/503, 429 and truncated answers; the grant revoked (401 on the API) and a refresh that fails
(``invalid_grant``); a web handler raising an exception whose text holds the tokens and the client secret (500).

Then every secret that existed — every access and refresh token and authorization code the sandbox issued, the
client secret, the sandbox control key, the password, the TOTP secret (base32, and its bytes as hex and
base64), the recovery codes, every session id and CSRF token, the API token, the cipher key — is looked for in
the captured text as is, url-encoded, and by its first 12 characters.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import httpx
import pytest
import uvicorn
from auth_kit import HASHER, TOTP, Env, as_session, client, make_env, set_cookie_secret
from litestar import get
from web_helpers import KEY

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.cli import errors as cli_errors
from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.security.totp import time_step
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import create_engine
from onyx_core.accounts import (
    authenticate_session,
    begin_totp_enrolment,
    confirm_totp_enrolment,
    create_api_token,
    login_password,
)
from onyx_core.accounts.model import ApiTokenScope
from onyx_fanvue.redaction import Secret
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import DEFAULT_REDIRECT_URI, FanvueSandbox
from onyx_fanvue.sandbox.server import bind
from onyx_fanvue.sandbox.world import WorldSpec
from onyx_web.app import create_app

PASSWORD = "log-scan passphrase 7f3a kettle"  # pragma: allowlist secret
MIN_RECORDS = 500
"""Fewer records than this and the scenario did not run (a clean run captures thousands)."""
PREFIX = 12
"""A secret's first characters that count as a partial leak."""
WEB_CALLBACK = "https://testserver.local/connections/fanvue/callback"
"""The web's OAuth callback (the test client's base URL), registered at the sandbox beside the CLI's."""

# -------------------------------------------------------------------------------------------- the capture


class _Capture(logging.Handler):
    """Every record, formatted with its traceback and stack, and nothing filtered here."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"))
        self.lines: list[str] = []
        self.names: list[str] = []
        self._lock_lines = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is still text we must see
            text = f"{record.name}: {record.msg!r} {record.args!r}"
        with self._lock_lines:
            self.lines.append(text)
            self.names.append(record.name)


def _open_every_logger() -> None:
    """No logger silenced: logging not disabled, the root and every logger known so far at DEBUG, enabled and
    propagating to the root (loggers made later inherit DEBUG from the root)."""
    logging.disable(logging.NOTSET)
    logging.getLogger().setLevel(logging.DEBUG)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(logging.DEBUG)
            logger.disabled = False
            logger.propagate = True


@contextmanager
def _capturing() -> Iterator[_Capture]:
    root = logging.getLogger()
    known = {
        name: (logger.level, logger.disabled, logger.propagate)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    saved_root = root.level
    handler = _Capture()
    root.addHandler(handler)
    _open_every_logger()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root)
        for name, logger in logging.Logger.manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                level, disabled, propagate = known.get(name, (logging.NOTSET, False, True))
                logger.setLevel(level)
                logger.disabled = disabled
                logger.propagate = propagate


# -------------------------------------------------------------------------------------------- the sandbox


@contextmanager
def _served(sandbox: FanvueSandbox) -> Iterator[str]:
    """``sandbox`` served over loopback HTTP by uvicorn in a thread (its access log on, its logging left to the
    capture: no dictConfig of its own); its base URL."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(sandbox.app, log_config=None, log_level="debug", access_log=True, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.02)
    _open_every_logger()  # uvicorn set its loggers' levels as it started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


# -------------------------------------------------------------------------------------------- the scenario


@dataclass
class Scenario:
    env: Env
    sandbox: FanvueSandbox
    email: str
    agency_id: str
    secrets: dict[str, str] = field(default_factory=dict)
    """Every secret seen, by a name saying what it is."""
    cli: list[str] = field(default_factory=list)
    """What the commands wrote to stdout and stderr."""

    def keep(self, name: str, value: str | None) -> None:
        if value:
            self.secrets[name] = value


def _onyx(scenario: Scenario, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None) -> int:
    """Run ``onyx argv --debug`` in this process (its error boundary, its log handler) and keep its output."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main([*argv, "--debug"])
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    scenario.cli += [out, err]
    return code


async def _enrol_totp(scenario: Scenario) -> None:
    """TOTP enrolment and an API token through the core (as the web's enrolment route will do)."""
    engine = create_engine(scenario.env.url)
    try:
        deps = accounts_deps(engine, FernetCipher([KEY]), clock=scenario.env.clock, hasher=HASHER)
        issued = await login_password(deps, email=scenario.email, password=PASSWORD)
        scenario.keep("session id (enrolment)", issued.secret)
        principal = await authenticate_session(deps, issued.secret)
        setup = await begin_totp_enrolment(deps, principal)
        scenario.keep("TOTP secret", setup.secret)
        scenario.keep("TOTP provisioning URI", setup.provisioning_uri)
        code = deps.totp.code_at(setup.secret, time_step(scenario.env.clock.now()))
        for number, recovery in enumerate(await confirm_totp_enrolment(deps, principal, code)):
            scenario.keep(f"recovery code {number}", recovery)
        scopes = frozenset({ApiTokenScope.READ, ApiTokenScope.WRITE})
        token = await create_api_token(deps, principal, name="log-scan", scopes=scopes)
        scenario.keep("API token", token.secret)
    finally:
        await engine.dispose()


def _web_login(scenario: Scenario, c: Any) -> tuple[str, str]:
    """Password then TOTP code over the web (a wrong password and a wrong code first); the session and CSRF."""
    env, email = scenario.env, scenario.email
    wrong = c.post("/api/auth/login", json={"email": email, "password": PASSWORD + "x"})
    assert wrong.status_code == 401, wrong.text
    first = c.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert first.status_code == 200, first.text
    assert first.json()["second_factor_due"] is True
    half, csrf = set_cookie_secret(first), first.json()["csrf_token"]
    scenario.keep("session id (password step)", half)
    scenario.keep("CSRF token (password step)", csrf)
    env.clock.advance(30)  # the enrolment spent this step's code
    code = TOTP.code_at(scenario.secrets["TOTP secret"], time_step(env.clock.now()))
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    assert c.post("/api/auth/totp", json={"code": bad}, headers=as_session(half, csrf)).status_code in (400, 401)
    done = c.post("/api/auth/totp", json={"code": code}, headers=as_session(half, csrf))
    assert done.status_code == 200, done.text
    session, csrf = set_cookie_secret(done), done.json()["csrf_token"]
    scenario.keep("session id (logged in)", session)
    scenario.keep("CSRF token (logged in)", csrf)
    me = c.get("/api/auth/me", headers=as_session(session))
    assert me.status_code == 200
    return session, csrf


def connect_through_the_web(scenario: Scenario, c: Any, session: str, csrf: str) -> None:
    """Connect the sandbox agency through the web's routes, as a browser does: ``POST /api/connections/fanvue/
    start``, the sandbox's authorize URL over loopback HTTP (the login hint approves at once), then the web's
    callback, which exchanges the code, stores the grant and imports the creators."""
    admin = scenario.sandbox.world.admin.person.handle
    started = c.post("/api/connections/fanvue/start", json={"login_hint": admin}, headers=as_session(session, csrf))
    assert started.status_code == 200, started.text
    with httpx.Client(timeout=30.0) as browser:
        approved = browser.get(started.json()["authorize_url"])
    assert approved.status_code in (302, 303), approved.text
    back = urlsplit(approved.headers["location"])
    landed = c.get(f"{back.path}?{back.query}", headers=as_session(session), follow_redirects=False)
    assert landed.status_code == 303, landed.text
    listed = c.get("/api/connections", headers=as_session(session))
    assert [row["status"] for row in listed.json()] == ["active"], listed.text


def _boom_route(scenario: Scenario) -> Any:
    """A web handler that fails with the tokens and the client secret in its exception's text (W3 logs it)."""

    @get("/test/log-scan/boom", opt={"public": True}, sync_to_thread=False)
    def boom() -> None:
        held = Secret(scenario.sandbox.client_secret)
        tokens = sorted(scenario.sandbox.oauth._access)
        raise RuntimeError(f"Fanvue refused client {held.get_secret_value()} with tokens {' '.join(tokens)}")

    return boom


def _issued(sandbox: FanvueSandbox) -> dict[str, str]:
    """Every token and authorization code the sandbox ever issued (its OAuth server's store)."""
    found: dict[str, str] = {}
    state = sandbox.oauth
    for kind, store in (("access token", state._access), ("refresh token", state._refresh), ("code", state._codes)):
        for number, value in enumerate(sorted(store)):
            found[f"{kind} {number}"] = value
    return found


def _run(scenario: Scenario, capsys: pytest.CaptureFixture[str]) -> None:
    env, sandbox = scenario.env, scenario.sandbox
    admin = sandbox.world.admin.person.handle
    url, agency = env.url, scenario.agency_id

    # `onyx connect agency` as a script would; the agency's first owner by the first-run command; TOTP and an
    # API token by the core
    assert _onyx(scenario, capsys, "connect", "agency", "--agency-id", agency, "--name", "Log Scan",
                 "--login-hint", admin, "--database-url", url) == 0, scenario.cli[-1]  # fmt: skip
    assert _onyx(
        scenario, capsys, "users", "create-owner", "--agency-id", agency, "--email", scenario.email,
        "--name", "Olga", "--password-stdin", "--database-url", url, stdin=PASSWORD + "\n",
    ) == 0, scenario.cli[-1]  # fmt: skip
    asyncio.run(_enrol_totp(scenario))

    with client(env.app) as c:
        session, csrf = _web_login(scenario, c)
        # the owner reconnects the agency from the browser (the web's OAuth + PKCE and its callback)
        connect_through_the_web(scenario, c, session, csrf)

        # a clean sync, then the schedule refreshes the tokens (10 min of life: inside its 15-min window)
        assert _onyx(scenario, capsys, "sync", "--agency", agency, "--database-url", url) == 0, scenario.cli[-1]
        refreshed_before = len(sandbox.oauth._refresh)
        assert _onyx(scenario, capsys, "schedule", "--ticks", "1", "--tick", "0.1", "--database-url", url) == 0
        assert len(sandbox.oauth._refresh) > refreshed_before, "the schedule refreshed nothing"

        # Fanvue failing: 5xx, a 429 storm, a truncated answer
        sandbox.inject("error", status=500, times=3)
        sandbox.inject("error", status=503, route="/insights/*", times=2)
        sandbox.inject("rate_limit", retry_after=0, times=3)
        sandbox.inject("malformed", times=1)
        assert _onyx(scenario, capsys, "sync", "--agency", agency, "--database-url", url) in (0, 3)
        sandbox.clear_faults()

        # the grant revoked: 401 on the API, then a refresh that fails (invalid_grant)
        assert sandbox.revoke_grant(admin) >= 1
        assert _onyx(scenario, capsys, "sync", "--agency", agency, "--database-url", url) in (1, 3)
        assert _onyx(scenario, capsys, "schedule", "--ticks", "1", "--tick", "0.1", "--database-url", url) in (0, 1)

        # a web handler failing with secrets in its exception's text
        boom = c.get("/test/log-scan/boom")
        assert boom.status_code == 500
        assert c.post("/api/auth/logout", headers=as_session(session, csrf)).status_code == 204


def _variants(value: str) -> dict[str, str]:
    forms = {"as is": value, "url-encoded": quote(value, safe=""), "form-encoded": quote_plus(value)}
    if len(value) > PREFIX + 4:
        forms["first 12 characters"] = value[:PREFIX]
    return forms


def _totp_forms(secret: str) -> dict[str, str]:
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return {
        "TOTP secret (lower case)": secret.lower(),
        "TOTP secret (bytes as hex)": raw.hex(),
        "TOTP secret (bytes as base64)": base64.b64encode(raw).decode().rstrip("="),
    }


@pytest.fixture
def sandbox() -> FanvueSandbox:
    return FanvueSandbox(
        spec=WorldSpec(seed=7, creators=2, days=20),
        clock=SandboxClock(),
        expires_in=600,  # inside the schedule's 15-min refresh window, outside the 5-min leeway of every call
        rate_limit=100_000,
        redirect_uris=(DEFAULT_REDIRECT_URI, WEB_CALLBACK),
    )


def test_logs_of_the_whole_scenario_hold_no_secret(
    database_url: str,
    sandbox: FanvueSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = make_env(database_url)
    scenario = Scenario(env, sandbox, f"owner-{uuid.uuid4().hex[:10]}@logscan.test", f"logscan-{uuid.uuid4().hex[:8]}")

    loud = cli_errors._logging

    @contextmanager
    def loud_logging(*, debug: bool) -> Iterator[None]:
        """The commands' own log handler (scrubbing, to stderr), with nothing they quieten left quiet."""
        with loud(debug=debug):
            _open_every_logger()
            yield

    monkeypatch.setattr(cli_errors, "_logging", loud_logging)
    with _capturing() as capture, _served(sandbox) as base:
        for key, value in {
            "ONYX_DATABASE_URL": database_url,
            "ONYX_CIPHER_KEYS": KEY,
            "ONYX_FANVUE_CLIENT_ID": sandbox.client_id,
            "ONYX_FANVUE_CLIENT_SECRET": sandbox.client_secret,
            "ONYX_FANVUE_REDIRECT_URI": WEB_CALLBACK,
            "ONYX_FANVUE_API_URL": base,
            "ONYX_FANVUE_AUTH_URL": f"{base}/oauth2",
        }.items():
            monkeypatch.setenv(key, value)
        # the web app on the served sandbox: its connect routes talk to it over loopback HTTP
        env.app = create_app(OnyxSettings(), clock=env.clock, hasher=HASHER)
        env.app.register(_boom_route(scenario))
        _run(scenario, capsys)

    # every secret that existed
    scenario.secrets.update(_issued(sandbox))
    scenario.keep("client secret", sandbox.client_secret)
    scenario.keep("sandbox control key", sandbox.control_key)
    scenario.keep("owner password", PASSWORD)
    scenario.keep("cipher key", KEY)
    scenario.secrets.update(_totp_forms(scenario.secrets["TOTP secret"]))

    # the scenario ran: many records, httpx and httpcore narrating real requests, each part present
    records = len(capture.lines)
    names = set(capture.names)
    text = "\n".join(capture.lines)
    cli = "\n".join(scenario.cli)
    assert records >= MIN_RECORDS, records
    assert sum(1 for n in capture.names if n == "httpx") >= 50
    assert any(n.startswith("httpcore.") for n in names), names
    assert any(n.startswith("uvicorn") for n in names), names
    assert any(n.startswith("sqlalchemy.engine") for n in names), names
    assert "onyx_web.errors" in names  # the 500's traceback
    assert "Traceback" in text
    assert sum(1 for k in scenario.secrets if k.startswith("refresh token")) >= 2  # connect, refresh
    assert "connected " in cli
    assert len(scenario.secrets) >= 25, sorted(scenario.secrets)
    with capsys.disabled():  # the figures, for the record (pytest -s shows them)
        sys.stdout.write(
            f"\nW10: {records} records from {len(names)} loggers, {len(cli)} characters of command output, "
            f"{len(scenario.secrets)} distinct secrets checked\n"
        )

    leaks = [
        f"{name} ({form}) in {where}"
        for name, secret in scenario.secrets.items()
        for form, value in _variants(secret).items()
        for where, haystack in (("the log", text), ("the commands' output", cli))
        if value in haystack
    ]
    assert not leaks, "\n".join(leaks)
