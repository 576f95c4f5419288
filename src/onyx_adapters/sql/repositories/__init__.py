"""SQL implementations of every repository port of :mod:`onyx_core.ports` (SQLAlchemy Core, both engines).

Repositories run their statements on a :class:`~onyx_adapters.sql.repositories._base.Transaction` (the unit of
work, :mod:`onyx_adapters.sql.uow`); every write is an upsert on the row's natural key.
"""

from onyx_adapters.sql.repositories._base import Transaction
from onyx_adapters.sql.repositories.catalog import SqlAgencyRepository, SqlCreatorRepository
from onyx_adapters.sql.repositories.connections import SqlConnectionRepository, decode_tokens, encode_tokens
from onyx_adapters.sql.repositories.ledger import SqlLedgerRepository
from onyx_adapters.sql.repositories.stats import SqlStatsRepository
from onyx_adapters.sql.repositories.streams import (
    SqlChatterDayRepository,
    SqlSubscriberHistoryRepository,
    SqlSyncCursorRepository,
    SqlTopSpenderRepository,
    SqlTrackingLinkCostRepository,
    SqlTrackingLinkRepository,
)

__all__ = [
    "SqlAgencyRepository",
    "SqlChatterDayRepository",
    "SqlConnectionRepository",
    "SqlCreatorRepository",
    "SqlLedgerRepository",
    "SqlStatsRepository",
    "SqlSubscriberHistoryRepository",
    "SqlSyncCursorRepository",
    "SqlTopSpenderRepository",
    "SqlTrackingLinkCostRepository",
    "SqlTrackingLinkRepository",
    "Transaction",
    "decode_tokens",
    "encode_tokens",
]
