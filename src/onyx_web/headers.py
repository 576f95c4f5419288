"""Security headers on every answer (W9), errors included.

They are added by an app-level ``before_send`` hook: Litestar wraps the ASGI ``send`` of every request with it
before routing, so answers the router makes itself (404, 405) and those of the exception handlers get them too, not
only the answers of route handlers (which is all an app ``middleware`` would see). The values are fixed: a page
that needs another policy changes it here, for every answer.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from onyx_web.request_id import HEADER, request_id

__all__ = ["SECURITY_HEADERS", "add_security_headers"]

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    ),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """The ``before_send`` hook: the security headers (replacing any a handler set) and the request id."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS:
        headers[name] = value
    headers[HEADER] = request_id(scope)
