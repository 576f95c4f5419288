"""The browser pages over HTTP (the browser itself: tests/web/browser/): every page is a static HTML shell (200,
text/html, the security headers) whose only script and style sheet are the package's own files under /static/
(no inline script or style, nothing from another origin), the CSP stays strict, and GET / sends the browser to
the step its session is at. On SQLite and PostgreSQL."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from auth_kit import Env, as_session, client, login, make_env, set_cookie_secret
from test_security_headers import secure

from onyx_web.accounts.authentication import SESSION_COOKIE
from onyx_web.headers import SECURITY_HEADERS
from onyx_web.pages.routes import ASSETS, PAGES

PAGE_URLS = ["/login", "/login/2fa", "/account/2fa", "/connections", "/invite/some-invite-token"]


class _Tags(HTMLParser):
    """Every tag with its attributes, and the text inside <script> and <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in {"script", "style"} else None

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(f"<{self._open}> {data.strip()[:40]}")


def inline_code(html: str) -> list[str]:
    """What a strict CSP would refuse or what loads from elsewhere: inline scripts and styles, event-handler and
    style attributes, javascript: URLs, scripts or style sheets not from our /static/."""
    parser = _Tags()
    parser.feed(html)
    found = list(parser.inline)
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            if name.startswith("on") or name == "style":
                found.append(f"<{tag} {name}>")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {name}=javascript:>")
        if tag == "style":
            found.append("<style>")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            found.append(f"<script src={attrs.get('src')!r}>")
        if tag == "link" and not (attrs.get("href") or "").startswith("/static/"):
            found.append(f"<link href={attrs.get('href')!r}>")
    return found


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def test_every_page_is_an_html_shell_with_the_security_headers(env: Env) -> None:
    with client(env.app) as c:
        answers = {url: c.get(url) for url in PAGE_URLS}
    assert len(answers) == len(PAGES)
    for url, response in answers.items():
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "text/html; charset=utf-8", url
        assert secure(response) == [], url
        assert response.headers["cache-control"] == "no-store", url
        assert inline_code(response.text) == [], url
        assert '<script type="module" src="/static/onyx.js">' in response.text
        assert '<link rel="stylesheet" href="/static/onyx.css">' in response.text


def test_the_invite_page_does_not_repeat_its_token(env: Env) -> None:
    with client(env.app) as c:
        response = c.get("/invite/tok-<script>alert(1)<script>-en")
    assert response.status_code == 200
    assert "tok-" not in response.text
    assert "alert(1)" not in response.text


def test_the_checker_finds_inline_code() -> None:
    """inline_code() is what the page test relies on: it flags each kind of inline or foreign code."""
    bad = (
        '<script>alert(1)</script><script src="https://cdn.example/x.js"></script><div onclick="x()"></div>'
        '<p style="color:red"></p><style>p{}</style><a href="javascript:x()"></a>'
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
    )
    assert len(inline_code(bad)) == 9  # the <style> twice: its text, and the element itself
    assert inline_code('<script type="module" src="/static/onyx.js"></script>') == []


def test_the_csp_allows_only_own_scripts_and_styles() -> None:
    csp = dict(SECURITY_HEADERS)["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives.get("script-src", ["'self'"]) == ["'self'"]
    assert directives.get("style-src", ["'self'"]) == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in csp


def test_the_static_files_are_the_packages_own(env: Env) -> None:
    with client(env.app) as c:
        script = c.get("/static/onyx.js")
        style = c.get("/static/onyx.css")
        others = [c.get(url) for url in ("/static/app.py", "/static/..%2Froutes.py", "/static/html", "/static/")]
    assert {"onyx.js", "onyx.css", "dashboard.js", "plotly.css"} <= set(ASSETS)
    assert all(name.endswith((".js", ".css", ".svg")) and "/" not in name for name in ASSETS)  # .svg: the icon
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert secure(script) == []
    assert secure(style) == []
    for answer in others:
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
    # the scripts put API data in the page as text only, evaluate nothing and load nothing from elsewhere
    with client(env.app) as c:
        scripts = {name: c.get(f"/static/{name}").text for name in ASSETS if name.endswith(".js")}
    for name, text in scripts.items():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "http"):
            assert sink not in text, (name, sink)
    assert "X-CSRF-Token" in script.text


def _home(c: httpx.Client, headers: dict[str, str] | None = None) -> str:
    response = c.get("/", headers=headers or {}, follow_redirects=False)
    assert response.status_code == 303
    assert secure(response) == []
    return response.headers["location"]


def test_home_sends_the_browser_to_the_step_its_session_is_at(env: Env) -> None:
    plain, with_totp, must_enrol = env.owner(), env.owner(totp=True), env.owner()
    env.require_two_factor(must_enrol)
    with client(env.app) as c:
        assert _home(c) == "/login"
        assert _home(c, {"Cookie": f"{SESSION_COOKIE}=made-up-session-id"}) == "/login"
        assert _home(c, {"Authorization": "Bearer onyx_pat_made-up"}) == "/login"
        logged_in = set_cookie_secret(login(c, plain.email))
        assert _home(c, as_session(logged_in)) == "/overview"
        halfway = set_cookie_secret(login(c, with_totp.email))
        assert _home(c, as_session(halfway)) == "/login/2fa"
        enrolling = set_cookie_secret(login(c, must_enrol.email))
        assert _home(c, as_session(enrolling)) == "/account/2fa"
        out = login(c, plain.email)
        gone = set_cookie_secret(out)
        csrf = out.json()["csrf_token"]
        assert c.post("/api/auth/logout", headers=as_session(gone, csrf)).status_code == 204
        assert _home(c, as_session(gone)) == "/login"
