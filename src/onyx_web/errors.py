"""The one exception-handling layer: every error answer is ``application/problem+json`` (RFC 9457).

The body is ``{"type", "title", "status", "detail"?, "request_id"}``; ``detail`` only where it is safe: words the
web layer chose (:class:`Problem`), never the text of Litestar's own exceptions (they quote the request, query
string included). A 400 from validation adds ``errors`` (field, where and why, never the value sent). A 500 says
only "Internal Server Error" and the request id: never the exception's text, a traceback or a secret. The
traceback goes to the log (logger ``onyx_web.errors``, scrubbed by :class:`~onyx_fanvue.redaction.SecretFilter`).

Raise :class:`Problem` for an answer of the web layer's own wording; add a domain error to :data:`DOMAIN_ERRORS`
to give it a status (its message is never shown).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from onyx_core.errors import DomainValueError, NotFoundError
from onyx_fanvue.redaction import install_log_filter, scrub
from onyx_web.request_id import request_id

__all__ = [
    "DOMAIN_ERRORS",
    "PROBLEM_JSON",
    "Problem",
    "ProblemDetails",
    "SeeOther",
    "broken_rule",
    "domain_status",
    "handle_exception",
    "problem_response",
    "problem_spec",
]

PROBLEM_JSON = "application/problem+json"
MAX_DETAIL = 300
"""Longer explanations are cut (after scrubbing): a detail is a sentence, not a document."""

_NO_STORE = {"Cache-Control": "no-store"}

logger = logging.getLogger("onyx_web.errors")
install_log_filter("onyx_web.errors")

DOMAIN_ERRORS: dict[type[Exception], HTTPStatus] = {
    NotFoundError: HTTPStatus.NOT_FOUND,  # also what an object outside the caller's agency or scope answers (W7)
}
"""Errors of the core and their status; the answer is the status's title alone (no message: it may name data),
with ``Retry-After`` when the error carries an integer ``retry_after`` (seconds)."""


class Problem(Exception):  # noqa: N818 - it is the answer, not a failure of the web layer
    """An error answer in the web layer's own words (so ``detail`` is safe to show, even for a 5xx)."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.type = type_
        self.headers = dict(headers or {})


class SeeOther(Exception):  # noqa: N818 - it is the answer, not a failure
    """Send the browser elsewhere (303): a private page answers an anonymous visitor with the login page, not a
    401 problem."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True, slots=True)
class ProblemDetails:
    """The body of every error answer, as the OpenAPI document shows it."""

    type: str
    title: str
    status: int
    request_id: str
    detail: str | None = None


def problem_spec(description: str) -> ResponseSpec:
    """An error answer for a route's ``responses`` (the OpenAPI document)."""
    return ResponseSpec(
        data_container=ProblemDetails, description=description, media_type=PROBLEM_JSON, generate_examples=False
    )


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response[bytes]:
    body: dict[str, Any] = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra or {})
    body["request_id"] = request_id(request.scope)
    return Response(json.dumps(body).encode(), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def domain_status(error: Exception) -> HTTPStatus | None:
    """The status of a core error: that of its most specific class in :data:`DOMAIN_ERRORS` (``LastOwnerError``
    is a ``NotPermitted``, but answers its own status)."""
    for kind in type(error).__mro__:
        status = DOMAIN_ERRORS.get(kind)
        if status is not None:
            return status
    return None


def handle_exception(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    """The app's only exception handler (registered for ``Exception``: it sees every error of every route, and
    the router's own 404 and 405)."""
    if isinstance(error, SeeOther):
        return Response(b"", status_code=HTTPStatus.SEE_OTHER, headers={"Location": error.location, **_NO_STORE})
    if isinstance(error, Problem):
        return problem_response(
            request, error.status, title=error.title, detail=error.detail, type_=error.type, headers=error.headers
        )
    status = domain_status(error)
    if status is not None:
        # an error that says when to try again (the core's Throttled) says it in the standard header
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else None
        return problem_response(request, status, headers=headers)
    if isinstance(error, HTTPException) and error.status_code < HTTPStatus.INTERNAL_SERVER_ERROR:
        title = HTTPStatus(error.status_code).phrase
        extra = {"errors": _field_errors(error.extra)} if isinstance(error, ValidationException) else None
        # no detail: Litestar's own quote the request (a query string may carry a code or a secret)
        return problem_response(request, error.status_code, title=title, headers=error.headers, extra=extra)
    logger.error(
        "request %s failed: %s %s",
        request_id(request.scope),
        request.method,
        request.scope.get("path_template") or "(unrouted)",
        exc_info=(type(error), error, error.__traceback__),
    )
    return problem_response(request, HTTPStatus.INTERNAL_SERVER_ERROR)


def _field_errors(extra: Any) -> list[dict[str, str]]:
    """Which field failed validation and why, without the value sent (it may be a password)."""
    if not isinstance(extra, list):
        return []
    return [
        {key: _one_line(item[key]) for key in ("key", "source", "message") if item.get(key) is not None}
        for item in extra[:20]
        if isinstance(item, Mapping)
    ]


def _one_line(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    return " ".join(scrub(str(value)).split())[:MAX_DETAIL]


@contextmanager
def broken_rule(detail: str) -> Iterator[None]:
    """A :class:`DomainValueError` of the core (a value breaks a rule) answers 422 with ``detail`` (our words,
    never the error's)."""
    try:
        yield
    except DomainValueError:
        raise Problem(422, detail) from None
