"""Onyx's pure domain: values, the stats merge rules, the token refresh policy, analytics, ports and use cases.

Nothing here does I/O or imports an I/O library; adapters implement :mod:`onyx_core.ports`.
"""

from onyx_core.errors import CurrencyMismatchError, DomainValueError, NaiveDatetimeError, OnyxError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId, TrackingLinkId
from onyx_core.money import USD, Money
from onyx_core.timeutil import require_utc

__all__ = [
    "USD",
    "AgencyId",
    "ConnectionId",
    "CreatorId",
    "CurrencyMismatchError",
    "DomainValueError",
    "FanId",
    "Money",
    "NaiveDatetimeError",
    "OnyxError",
    "TrackingLinkId",
    "require_utc",
]
