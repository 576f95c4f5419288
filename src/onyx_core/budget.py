"""A job's time budget: how long one job may sit out Fanvue's rate limit before it stops, partial.

Fanvue answers a throttled call 429 with when to come back (``Retry-After``, ``X-RateLimit-Reset``). Waiting that
out is right for one refusal and wrong for a storm: a job that waited for every refusal held a whole sync, and the
scheduler's heartbeat behind it, for ten minutes. So each job runs under a :class:`JobBudget` of
``SyncPolicy.job_budget`` seconds of such waiting. A :class:`~onyx_core.ports.FanvuePort` implementation spends
from :func:`current_job_budget` for every refusal it sits out and, when the next wait does not fit, gives up at once
(``SourceUnavailableError(RATE_LIMITED)``, or a ``Missing`` metric) and tells the budget when Fanvue will take calls
again (:meth:`JobBudget.refused`). The job then stops the way any failed job does: nothing stored changes, the
report is partial and carries the time to try again.

Only refusals count, not time spent getting answers nor the client pacing itself under Fanvue's rate (each such
wait is at most one rate window and ends in an answer): a long first backfill is never cut short by its budget.

The budget is a sum of the waits asked for, not a reading of a clock, so it holds alike in real time and in the
sandbox's virtual time (where a wait moves the sandbox clock and takes no time at all).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from onyx_core.errors import DomainValueError
from onyx_core.ports import Clock

__all__ = ["JobBudget", "current_job_budget", "job_budget"]


class JobBudget:
    """``seconds`` of sitting out Fanvue's refusals for one job, and when Fanvue said to come back.

    Has the ``left()`` / ``spend(seconds)`` shape the SDK's wait allowance takes, so a gateway can hand it over
    as it is."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        if not seconds >= 0:  # also refuses NaN
            raise DomainValueError(f"a job budget is a non-negative number of seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self.spent = 0.0
        """Seconds spent sitting out refusals so far."""
        self.retry_at: datetime | None = None
        """The latest time Fanvue named for calls it refused for good in this job (``None``: none was)."""
        self._clock = clock

    def left(self) -> float:
        """Seconds of waiting still allowed."""
        return max(0.0, self.seconds - self.spent)

    def spend(self, seconds: float) -> None:
        """Record a wait about to be taken (or just taken)."""
        self.spent += max(0.0, seconds)

    def refused(self, retry_after: float | None, reset_at: datetime | None = None) -> None:
        """A call was refused for good: Fanvue takes calls again in ``retry_after`` seconds, and its rate window
        resets at ``reset_at``. A whole new run needs both, so the later one is kept (and the latest over the
        job's refusals)."""
        now = self._clock.now()
        candidates = [at for at in (reset_at,) if at is not None and at > now]
        if retry_after is not None and retry_after >= 0:
            candidates.append(now + timedelta(seconds=retry_after))
        if not candidates:
            return
        latest = max(candidates)
        if self.retry_at is None or latest > self.retry_at:
            self.retry_at = latest

    def __repr__(self) -> str:
        return f"JobBudget(seconds={self.seconds}, spent={self.spent:.3f}, retry_at={self.retry_at})"


_CURRENT: contextvars.ContextVar[JobBudget | None] = contextvars.ContextVar("onyx_job_budget", default=None)


def current_job_budget() -> JobBudget | None:
    """The budget of the job running here, if any (set by :func:`job_budget`)."""
    return _CURRENT.get()


@contextmanager
def job_budget(seconds: float, clock: Clock) -> Iterator[JobBudget]:
    """Run the block as one job with ``seconds`` of budget: every Fanvue call in it (and in the tasks it starts)
    spends from the same :class:`JobBudget`."""
    budget = JobBudget(seconds, clock)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
