"""The sandbox's clock: real time by default, frozen and movable in tests."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["HORIZON", "SandboxClock"]

HORIZON = timedelta(days=36_525)
"""How far the clock may ever be moved in total (100 years): far enough for any expiry or schedule a test needs,
near enough that every date the sandbox computes from "now" stays representable."""


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
        """Move the clock forward (``delta`` in seconds or as a timedelta); it never goes back, and never more than
        :data:`HORIZON` in total. A refused move leaves the clock where it was."""
        if isinstance(delta, timedelta):
            step = delta
        else:
            if not math.isfinite(delta) or delta > HORIZON.total_seconds():
                raise ValueError(f"the sandbox clock moves at most {HORIZON.days} days in total")
            step = timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("the sandbox clock never goes back")
        with self._lock:
            if step > HORIZON - self._offset:  # compared this way round so a huge step cannot overflow
                left = (HORIZON - self._offset).total_seconds()
                raise ValueError(f"the sandbox clock moves at most {HORIZON.days} days in total ({left:.0f} s left)")
            self._offset += step

    def timestamp(self) -> float:
        return self.now().timestamp()
