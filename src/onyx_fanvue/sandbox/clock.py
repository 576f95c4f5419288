"""The sandbox's clock: real time by default, frozen and movable in tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """``now()`` is real UTC time plus an offset, or a frozen instant. Tests move it with :meth:`advance`."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        if frozen_at is not None and frozen_at.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware instant")
        self._frozen = frozen_at
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return (base + self._offset).astimezone(UTC)

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward (``delta`` in seconds or as a timedelta); it never goes back."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("the sandbox clock never goes back")
        with self._lock:
            self._offset += step

    def timestamp(self) -> float:
        return self.now().timestamp()
