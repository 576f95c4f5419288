"""The access log of ``onyx serve --access-log`` without the secrets that travel in URLs: an OAuth callback's
``code`` and ``state``, and an invitation's token in its path. Each query value becomes ``…``, and so does the path
segment after ``invite`` / ``invites``; the method, the route and the status stay readable."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

__all__ = ["AccessLogRedactor", "redact_target"]

SECRET_AFTER = frozenset({"invite", "invites"})
"""Path segments whose next segment is a bearer secret (an invitation link's token)."""

HIDDEN = "…"


def redact_target(target: str) -> str:
    """``target`` (a request's path and query) with every query value and every invitation token hidden."""
    path, _, query = target.partition("?")
    segments = path.split("/")
    for index in range(1, len(segments)):
        if segments[index - 1] in SECRET_AFTER and segments[index]:
            segments[index] = HIDDEN
    redacted = "/".join(segments)
    if not query:
        return redacted
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)] or [HIDDEN]
    return f"{redacted}?{'&'.join(f'{name}={HIDDEN}' for name in names)}"


class AccessLogRedactor(logging.Filter):
    """Put on ``uvicorn.access``: its records carry the request target as their third argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True
