"""What a sync learned about one metric: a value (:class:`Ok`), or why it has none (:class:`Missing`).

A failed, empty or partial fetch is a :class:`Missing`, never an ``Ok(0)``: that difference is the whole point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.timeutil import require_utc


class MissingReason(StrEnum):
    """Why an observation has no value. None of these ever becomes a zero."""

    ERROR = "error"
    """The API answered with an error (5xx, unexpected 4xx, malformed body)."""
    TIMEOUT = "timeout"
    EMPTY = "empty"
    """The API answered without the value (empty body, empty ``data``, absent block)."""
    PERMISSION = "permission"
    """Missing scope, revoked grant, or a permission problem disguised as empty data."""
    NOT_ASSIGNED = "not_assigned"
    """Fanvue: "Creator not found or not assigned to team member"."""
    RATE_LIMITED = "rate_limited"
    PARTIAL = "partial"
    """Paging stopped part-way, so a count or sum would be too low."""
    NO_CONNECTION = "no_connection"
    """Neither the agency's nor the creator's own connection is usable."""


RETRYABLE_REASONS = frozenset(
    {MissingReason.ERROR, MissingReason.TIMEOUT, MissingReason.EMPTY, MissingReason.RATE_LIMITED, MissingReason.PARTIAL}
)
"""Reasons a later run may fix by itself. The others (permission, not assigned, no connection) need a person: another
grant, an assignment, a reconnect."""


def _check_metric(metric: str) -> None:
    if not metric:
        raise DomainValueError("metric must be a non-empty string")


@dataclass(frozen=True, slots=True)
class _Valued:
    """A non-negative integer value of ``metric`` known at ``observed_at``, according to ``source``."""

    metric: str
    value: int
    observed_at: datetime
    source: str

    def __post_init__(self) -> None:
        _check_metric(self.metric)
        if type(self.value) is not int or self.value < 0:
            raise DomainValueError(f"{self.metric}: a value is a non-negative int, got {self.value!r}")
        object.__setattr__(self, "observed_at", require_utc(self.observed_at, f"{type(self).__name__}.observed_at"))

    @property
    def at(self) -> datetime:
        return self.observed_at


@dataclass(frozen=True, slots=True)
class Ok(_Valued):
    """``metric`` had ``value`` at ``observed_at``, according to ``source`` (e.g. ``"fanvue:/users/me"``).

    ``refunds_tracked`` matters only for a monotone metric (lifetime revenue): whether the refunds that may lower it
    are being recorded as :class:`Adjustment` s. When they are not (an agency's grant cannot read a creator's
    refunds), a decrease no adjustment explains is held, and applied once confirmed ``confirm_after`` later.
    """

    refunds_tracked: bool = field(default=True, kw_only=True)

    def __post_init__(self) -> None:
        _Valued.__post_init__(self)
        if type(self.refunds_tracked) is not bool:
            raise DomainValueError(f"refunds_tracked is a bool, got {self.refunds_tracked!r}")


@dataclass(frozen=True, slots=True)
class Missing:
    """An attempt at ``attempted_at`` to observe ``metric`` that produced no trustworthy value."""

    metric: str
    reason: MissingReason
    attempted_at: datetime
    source: str
    detail: str = ""

    def __post_init__(self) -> None:
        _check_metric(self.metric)
        try:
            object.__setattr__(self, "reason", MissingReason(self.reason))
        except ValueError:
            raise DomainValueError(f"unknown missing reason {self.reason!r}") from None
        object.__setattr__(self, "attempted_at", require_utc(self.attempted_at, "Missing.attempted_at"))

    @property
    def at(self) -> datetime:
        return self.attempted_at


@dataclass(frozen=True, slots=True)
class Adjustment:
    """An explicit, recorded reason for a monotone metric to go down (a refund or chargeback).

    ``amount`` is the size of the allowed decrease (> 0); ``reference`` names the ledger entry behind it.
    ``recorded_at`` is when Onyx recorded the reversal (it orders the adjustment among the other observations);
    ``occurred_at`` is when the refund happened at Fanvue (default: ``recorded_at``). Only a refund that happened
    after the value it would lower was observed can explain a decrease: a total observed later already reflects it.
    """

    metric: str
    amount: int
    recorded_at: datetime
    reference: str
    reason: str
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_metric(self.metric)
        if type(self.amount) is not int or self.amount <= 0:
            raise DomainValueError(f"an adjustment amount is a positive int, got {self.amount!r}")
        if not self.reference:
            raise DomainValueError("an adjustment needs the reference of its ledger entry")
        object.__setattr__(self, "recorded_at", require_utc(self.recorded_at, "Adjustment.recorded_at"))
        occurred = self.recorded_at if self.occurred_at is None else self.occurred_at
        object.__setattr__(self, "occurred_at", require_utc(occurred, "Adjustment.occurred_at"))

    @property
    def occurred(self) -> datetime:
        """When the refund happened (``occurred_at``, which construction always fills in)."""
        assert self.occurred_at is not None  # noqa: S101 - __post_init__ sets it
        return self.occurred_at

    @property
    def at(self) -> datetime:
        return self.recorded_at


@dataclass(frozen=True, slots=True)
class Floor(_Valued):
    """A lower bound known at ``observed_at``: e.g. lifetime revenue is never below the sum of the ledger.

    A floor can raise a value, never lower it.
    """


Observation = Ok | Missing | Adjustment | Floor


def ok(metric: str, value: int, observed_at: datetime, source: str) -> Ok:
    """Shorthand for :class:`Ok`."""
    return Ok(metric, value, observed_at, source)


def missing(metric: str, reason: MissingReason, attempted_at: datetime, source: str, detail: str = "") -> Missing:
    """Shorthand for :class:`Missing`."""
    return Missing(metric, reason, attempted_at, source, detail)
