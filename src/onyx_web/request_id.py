"""One id per request: a sane incoming ``X-Request-ID`` is kept (a proxy's, for correlation), anything else is
replaced by a new random one. Error bodies, the ``X-Request-ID`` response header and the log lines of a failed
request all carry it."""

from __future__ import annotations

import re
import secrets
from typing import Any

__all__ = ["HEADER", "request_id"]

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
"""What an incoming id may look like (UUIDs, hex, ULIDs, base64): nothing that could break a header or a log line."""
_KEY = "onyx.request_id"


def request_id(scope: Any) -> str:
    """The id of the request of ``scope`` (an ASGI scope), made on first use and the same ever after."""
    state: dict[str, Any] = scope.setdefault("state", {})
    found = state.get(_KEY)
    if isinstance(found, str):
        return found
    given = _incoming(scope.get("headers") or ())
    state[_KEY] = given or secrets.token_hex(16)
    return str(state[_KEY])


def _incoming(headers: Any) -> str | None:
    wanted = HEADER.lower().encode()
    for name, value in headers:
        if name.lower() == wanted:
            text = value.decode("latin-1")
            return text if _SANE.fullmatch(text) else None
    return None
