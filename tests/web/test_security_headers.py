"""W9: every answer — 200, 401, 404, 405, 400, 500, 503, OPTIONS, the OpenAPI document — carries HSTS
(max-age >= 31536000), nosniff, a CSP with frame-ancestors 'none', a Referrer-Policy, COOP same-origin (and
X-Frame-Options DENY), even when a handler set weaker values of its own."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from litestar import Response, get
from litestar.params import FromQuery
from web_helpers import serving, sqlite_url, web_settings

from onyx_web.app import create_app


@get("/test/private")
async def private() -> None:
    return None


@get("/test/fail", opt={"public": True})
async def fail() -> None:
    raise ValueError("no")


@get("/test/weak", opt={"public": True})
async def weak() -> Response[str]:
    headers = {"Content-Security-Policy": "default-src *", "Strict-Transport-Security": "max-age=0"}
    return Response("weak", headers=headers)


@get("/test/number", opt={"public": True})
async def number(n: FromQuery[int]) -> int:
    return n


def secure(response: httpx.Response) -> list[str]:
    """What is missing or too weak in the answer's headers."""
    headers = response.headers
    problems = []
    hsts = re.search(r"max-age=(\d+)", headers.get("strict-transport-security", ""))
    if hsts is None or int(hsts.group(1)) < 31536000:
        problems.append("HSTS")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("nosniff")
    if "frame-ancestors 'none'" not in headers.get("content-security-policy", ""):
        problems.append("CSP frame-ancestors")
    if not headers.get("referrer-policy"):
        problems.append("Referrer-Policy")
    if headers.get("cross-origin-opener-policy") != "same-origin":
        problems.append("COOP")
    if headers.get("x-frame-options") != "DENY":
        problems.append("X-Frame-Options")
    if not headers.get("x-request-id"):
        problems.append("X-Request-ID")
    return problems


def test_every_answer_carries_the_security_headers(
    sqlite_database: str, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    app = create_app(web_settings(sqlite_database))
    for handler in (private, fail, weak, number):
        app.register(handler)
    # an app whose database file is missing: its readiness answers 503
    unready = create_app(web_settings(sqlite_url(tmp_path)))
    answers: dict[str, httpx.Response] = {}
    with serving(app) as client:
        answers["200 healthz"] = client.get("/healthz")
        answers["200 readyz"] = client.get("/readyz")
        answers["200 schema"] = client.get("/schema")
        answers["200 weak"] = client.get("/test/weak")
        answers["401"] = client.get("/test/private")
        answers["401 options"] = client.options("/test/private")
        answers["404"] = client.get("/nothing/here")
        answers["404 schema"] = client.get("/schema/nothing")
        answers["405"] = client.delete("/healthz")
        answers["400"] = client.get("/test/number", params={"n": "x"})
        answers["500"] = client.get("/test/fail")
    with serving(unready) as client:
        answers["503"] = client.get("/readyz")
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "200 healthz": 200,
        "200 readyz": 200,
        "200 schema": 200,
        "200 weak": 200,
        "401": 401,
        "401 options": 401,
        "404": 404,
        "404 schema": 404,
        "405": 405,
        "400": 400,
        "500": 500,
        "503": 503,
    }
    missing = {name: secure(r) for name, r in answers.items() if secure(r)}
    assert missing == {}
    assert answers["200 weak"].headers["content-security-policy"].startswith("default-src 'self'")
    record_property("W9", f"{len(answers)} answers of {len(set(statuses.values()))} statuses: 100 % with the headers")
