"""The OpenAPI document at ``/schema`` says how to authenticate and which error answers every route can give, from
the route table (a route added later is documented without anyone remembering to):

- security schemes ``bearer`` (a personal API token), ``session`` (the ``__Host-onyx_session`` cookie) and ``csrf``
  (the ``X-CSRF-Token`` header a cookie session sends on unsafe methods);
- every private operation (no ``opt={"public": True}``) requires ``bearer``, or ``session`` (+ ``csrf`` on an
  unsafe method), and declares 401; an unsafe one 403 (CSRF); one with a path parameter 404 (no such object, or
  one of another agency); one with parameters or a body 400 (validation: ``errors`` names the fields). Public
  operations declare no security.
- Every error is ``application/problem+json`` (:class:`~onyx_web.errors.ProblemDetails`), Litestar's own 400
  schema included. A route declares its other statuses itself (``responses={409: problem_spec(...)}``).

W2 (tests/web/test_schemathesis.py) holds the app to this document: no 5xx, every answer conforms to its declared
schema, and no private operation answers without credentials.
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

from onyx_web.accounts.authentication import CSRF_HEADER, PUBLIC, SAFE_METHODS, SESSION_COOKIE
from onyx_web.errors import PROBLEM_JSON

__all__ = ["COMPONENTS", "DocumentedJsonRenderPlugin", "document"]

COMPONENTS = Components(
    security_schemes={
        "bearer": SecurityScheme(type="http", scheme="bearer", description="A personal API token (onyx_pat_...)."),
        "session": SecurityScheme(
            type="apiKey", name=SESSION_COOKIE, security_scheme_in="cookie", description="The browser session."
        ),
        "csrf": SecurityScheme(
            type="apiKey",
            name=CSRF_HEADER,
            security_scheme_in="header",
            description="With a session, on unsafe methods: the csrf_token of the login answer or /api/auth/me.",
        ),
    }
)
"""The security schemes (``OpenAPIConfig(components=...)``)."""

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["request_id", "status", "title", "type"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "request_id": {"type": "string"},
        "detail": {"oneOf": [{"type": "string"}, {"type": "null"}]},
    },
    "title": "ProblemDetails",
}
""":class:`~onyx_web.errors.ProblemDetails` as Litestar renders it, for a document where no route named it."""
_VALIDATION_PROBLEM: dict[str, Any] = {
    "allOf": [
        _PROBLEM_REF,
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {k: {"type": "string"} for k in ("key", "source", "message")},
                    },
                }
            },
        },
    ]
}
_STANDARD = {
    "400": "The request is malformed (errors: which fields and why)",
    "401": "Not authenticated: no, unknown or expired credentials, or the second factor is still due",
    "403": "Refused: a cookie session without its CSRF token, or a role that may not do this",
    "404": "No such object (one of another agency, or outside your creator scope, answers the same)",
}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _problem(status: str, description: str) -> dict[str, Any]:
    schema = _VALIDATION_PROBLEM if status == "400" else _PROBLEM_REF
    return {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}


def _public_operations(app: Litestar) -> set[tuple[str, str]]:
    return {
        (route.path_format or "/", method.lower())
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.opt.get(PUBLIC)
        for method in handler.http_methods
    }


def document(openapi_schema: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """``openapi_schema`` (Litestar's) with the security requirements and standard error answers of each
    operation (a copy: the argument is not changed)."""
    schema = copy.deepcopy(openapi_schema)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("ProblemDetails", _PROBLEM_SCHEMA)
    public = _public_operations(app)
    for path, item in schema.get("paths", {}).items():
        shared_parameters = item.get("parameters", [])
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "204" in responses:  # no content: Litestar writes the JSON of None, the answer has no body
                responses["204"].pop("content", None)
            parameters = [*shared_parameters, *operation.get("parameters", [])]
            statuses = []
            if parameters or "requestBody" in operation:
                statuses.append("400")
            if any(p.get("in") == "path" for p in parameters):
                statuses.append("404")
            if (path, method) not in public:
                unsafe = method.upper() not in SAFE_METHODS
                operation["security"] = [{"bearer": []}, {"session": [], "csrf": []} if unsafe else {"session": []}]
                statuses.append("401")
                if unsafe:
                    statuses.append("403")
            for status in statuses:
                declared = responses.get(status)
                if declared is None or PROBLEM_JSON not in declared.get("content", {}):
                    # Litestar's own 400 says application/json {status_code, detail}: the app answers a problem
                    responses[status] = _problem(status, (declared or {}).get("description") or _STANDARD[status])
    return schema


class DocumentedJsonRenderPlugin(JsonRenderPlugin):
    """Serves the document as JSON, with :func:`document`'s additions."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._documented: tuple[dict[str, Any], dict[str, Any]] | None = None
        """Litestar's document and ours, made from it once."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._documented is None or self._documented[0] is not openapi_schema:
            self._documented = (openapi_schema, document(openapi_schema, request.app))
        return super().render(request, self._documented[1])
