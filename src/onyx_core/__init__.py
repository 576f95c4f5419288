"""Onyx's pure domain: values, the stats merge rules, the token refresh policy, analytics, ports and use cases.

Nothing here does I/O or imports an I/O library; adapters implement :mod:`onyx_core.ports`. The main names are
re-exported here; the subpackages hold the rest:

- :mod:`onyx_core.stats` — observations and the merge rules (``docs/stats.md``)
- :mod:`onyx_core.tokens`, :mod:`onyx_core.connections` — refresh policy and connection choice (``docs/tokens.md``)
- :mod:`onyx_core.analytics` — revenue, KPIs, top spenders, subscriber history (``docs/analytics.md``)
- :mod:`onyx_core.ports`, :mod:`onyx_core.usecases` — the hexagon's inner edge (``docs/core.md``)
- :mod:`onyx_core.testing` — public fakes, strategies, stateful machines and contract checks
"""

from onyx_core.catalog import Agency, Creator, CreatorProfile, RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionChoice, ConnectionKind, ConnectionStatus, resolve_connection
from onyx_core.errors import (
    ConcurrentUpdateError,
    CurrencyMismatchError,
    DomainValueError,
    InvalidCiphertextError,
    NaiveDatetimeError,
    NotFoundError,
    OnyxError,
)
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import USD, Money
from onyx_core.ratio import Ratio
from onyx_core.stats import MergePolicy, Metric, MetricRecord, Missing, MissingReason, Ok, merge
from onyx_core.sync import Stream, SyncCursor, SyncPolicy
from onyx_core.timeutil import require_utc
from onyx_core.tokens import RefreshPolicy, TokenSet

__all__ = [
    "USD",
    "Agency",
    "AgencyId",
    "ConcurrentUpdateError",
    "Connection",
    "ConnectionChoice",
    "ConnectionId",
    "ConnectionKind",
    "ConnectionStatus",
    "Creator",
    "CreatorId",
    "CreatorProfile",
    "CurrencyMismatchError",
    "DomainValueError",
    "EntryKind",
    "FanId",
    "InvalidCiphertextError",
    "LedgerEntry",
    "MergePolicy",
    "Metric",
    "MetricRecord",
    "Missing",
    "MissingReason",
    "Money",
    "NaiveDatetimeError",
    "NotFoundError",
    "Ok",
    "OnyxError",
    "RankedSpender",
    "Ratio",
    "RefreshPolicy",
    "Source",
    "Stream",
    "SyncCursor",
    "SyncPolicy",
    "TokenSet",
    "TrackingLink",
    "TrackingLinkId",
    "ledger_key",
    "merge",
    "require_utc",
    "resolve_connection",
]
