"""What the OAuth modules share: how a secret is shown, and the clock they default to."""

from __future__ import annotations

from datetime import UTC, datetime

REDACTED = "'…redacted…'"
"""What ``repr`` shows in place of a secret."""


def utcnow() -> datetime:
    return datetime.now(UTC)
