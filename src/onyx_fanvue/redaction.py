"""Secrets the process holds, and the one place text is scrubbed of them.

- :class:`Secret` is pydantic's :class:`~pydantic.SecretStr` (``repr``/``str`` show ``'**********'``) that also
  tells the registry its value. The SDK holds every access, refresh and id token, client secret, authorization
  code and PKCE verifier as one, and unwraps it (``get_secret_value()``) only where it goes on the wire.
- The registry remembers the values of the most recent :data:`CAPACITY` secrets created or used in this process.
  It is bounded, not weak: error text about a token is often built after the last object holding that token is
  gone (a 401's body is read after the auth flow let go of the token it sent).
- :func:`scrub` replaces every remembered value found in a text, whatever the words around it, then redacts what
  merely looks like a credential (``Bearer …``, Ory's ``ory_at_``/``ory_rt_``/``ory_ac_`` tokens,
  ``access_token=…``-style pairs) even when this process never held it. Exception messages built from server text,
  the gateway's stored details and log lines (:class:`SecretFilter`) all go through it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Final

from pydantic import SecretStr

__all__ = [
    "CAPACITY",
    "MIN_LENGTH",
    "REDACTED",
    "Secret",
    "SecretFilter",
    "as_secret",
    "install_log_filter",
    "remember",
    "scrub",
]

REDACTED: Final = "[redacted]"
"""What a secret is replaced with in scrubbed text."""
MIN_LENGTH: Final = 8
"""Shorter values are not remembered: scrubbing them everywhere would blank ordinary words."""
CAPACITY: Final = 4096
"""How many distinct secret values the registry keeps (least recently created or used forgotten first)."""

_KEYS = ("access_token", "refresh_token", "id_token", "client_secret", "code_verifier", "password")
_PATTERNS = re.compile(
    r"(?i)"
    r"(?P<scheme>\bbearer\s+)[A-Za-z0-9._~+/=-]+"
    rf"|(?P<key>\b(?:{'|'.join(_KEYS)})\b[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}}]+"
    r"|\bory_(?:at|rt|ac)_[A-Za-z0-9._~+/=-]+"
)
_CUES = ("bearer", "ory_", *_KEYS)
"""Words one of :data:`_PATTERNS` needs: a text without any is left alone without running the expression."""


class _Registry:
    """The values of recent secrets, indexed by their first :data:`MIN_LENGTH` characters so that finding them
    in a text costs one dictionary lookup per character of the text, however many are remembered."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._by_prefix: dict[str, set[str]] = {}
        self._firsts: dict[str, int] = {}  # how many remembered values start with each character
        self._lock = threading.Lock()

    def remember(self, value: str) -> None:
        if len(value) < MIN_LENGTH:
            return
        with self._lock:
            if value in self._recent:
                self._recent.move_to_end(value)
                return
            self._recent[value] = None
            self._by_prefix.setdefault(value[:MIN_LENGTH], set()).add(value)
            self._firsts[value[0]] = self._firsts.get(value[0], 0) + 1
            if len(self._recent) > self._capacity:
                self._forget(self._recent.popitem(last=False)[0])

    def _forget(self, value: str) -> None:
        bucket = self._by_prefix[value[:MIN_LENGTH]]
        bucket.discard(value)
        if not bucket:
            del self._by_prefix[value[:MIN_LENGTH]]
        self._firsts[value[0]] -= 1
        if not self._firsts[value[0]]:
            del self._firsts[value[0]]

    def found_in(self, text: str) -> set[str]:
        found: set[str] = set()
        with self._lock:
            by_prefix, firsts = self._by_prefix, self._firsts
            for start, first in enumerate(text[: len(text) - MIN_LENGTH + 1]):
                if first not in firsts:  # the cheap test first: most characters start no secret
                    continue
                bucket = by_prefix.get(text[start : start + MIN_LENGTH])
                if bucket:
                    found.update(value for value in bucket if text.startswith(value, start))
        return found

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._by_prefix.clear()
            self._firsts.clear()


_REGISTRY = _Registry(CAPACITY)


def remember(value: str) -> None:
    """Have :func:`scrub` remove ``value`` from now on (values under :data:`MIN_LENGTH` characters are ignored).
    :class:`Secret` does this itself; call it for secrets of your own (a password, a TOTP seed)."""
    _REGISTRY.remember(value)


class Secret(SecretStr):
    """A :class:`~pydantic.SecretStr` that :func:`scrub` knows: ``repr``/``str`` never show it, and the value is
    remembered when the object is made and each time it is unwrapped (so the secrets in use stay remembered)."""

    def __init__(self, secret_value: str) -> None:
        super().__init__(secret_value)
        _REGISTRY.remember(secret_value)

    def get_secret_value(self) -> str:
        value = super().get_secret_value()
        _REGISTRY.remember(value)
        return value


def as_secret(value: str | SecretStr) -> Secret:
    """``value`` as a :class:`Secret` (the same object if it already is one)."""
    if isinstance(value, Secret):
        return value
    return Secret(value.get_secret_value() if isinstance(value, SecretStr) else value)


def _pattern(match: re.Match[str]) -> str:
    prefix = match.group("scheme") or match.group("key") or ""
    return prefix + REDACTED


def scrub(text: str, *also: SecretStr | None) -> str:
    """``text`` without any secret: every value the registry remembers and every ``also`` value (here even short
    ones, down to 4 characters: what a request just sent is worth removing from its own error), replaced by
    ``[redacted]`` wherever it stands, then anything shaped like a credential. Scrub BEFORE truncating: a cut
    secret can no longer be recognised."""
    found = _REGISTRY.found_in(text)
    for secret in also:
        value = None if secret is None else SecretStr.get_secret_value(secret)
        if value is not None and len(value) >= 4 and value in text:
            found.add(value)
    for value in sorted(found, key=len, reverse=True):  # longest first: a value may contain a shorter one
        text = text.replace(value, REDACTED)
    lowered = text.lower()
    if not any(cue in lowered for cue in _CUES):
        return text
    return _PATTERNS.sub(_pattern, text)


class SecretFilter(logging.Filter):
    """Scrubs every record that passes: the message (rendered with its arguments), the formatted exception and
    the stack. It never drops a record. Add it to a handler to cover every logger writing there::

        handler.addFilter(SecretFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_FILTER = SecretFilter()


def install_log_filter(*names: str) -> None:
    """Put the shared :class:`SecretFilter` on the loggers ``names`` (once each). A logger's filter sees only
    records logged on that very logger, not on its children: list each one."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


# The SDK's own logger, and those of the HTTP stack its credentials travel through (httpcore logs response
# headers at DEBUG: an authorization redirect's ``Location`` carries the code).
install_log_filter(
    "onyx_fanvue",
    "onyx_fanvue.sandbox",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
