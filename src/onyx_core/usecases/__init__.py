"""Use cases: async functions over ports that each do one job. They decide; adapters only carry out."""

from onyx_core.usecases.chatters import (
    ChatterDaysReport,
    record_chatter_days,
    record_recent_chatter_days,
    unlock_rate,
)
from onyx_core.usecases.context import Context, choose_connection, for_each_creator, with_connection
from onyx_core.usecases.import_creators import ImportReport, import_creators
from onyx_core.usecases.maintain_tokens import (
    ConnectionMaintenance,
    MaintenanceOutcome,
    MaintenanceReport,
    maintain_tokens,
)
from onyx_core.usecases.rankings import (
    LinksReport,
    SnapshotReport,
    agency_scope,
    record_agency_top_spenders,
    record_top_spenders,
    sync_tracking_links,
)
from onyx_core.usecases.reconcile_ledger import ReconcileOutcome, ReconcileReport, reconcile_ledger
from onyx_core.usecases.refresh_stats import (
    AgencyStatsRefresh,
    MergedStats,
    StatsRefresh,
    merge_observations,
    record_observations,
    refresh_agency_stats,
    refresh_creator_stats,
)
from onyx_core.usecases.subscriber_history import HistoryReport, record_subscriber_history
from onyx_core.usecases.sync_creator import (
    RETRYABLE,
    AgencySyncReport,
    CreatorSyncReport,
    ProgressHook,
    creator_freshness,
    due_work,
    sync_agency,
    sync_creator,
)
from onyx_core.usecases.sync_ledger import LEDGER_STREAMS, LedgerSyncReport, SyncOutcome, sync_ledger

__all__ = [
    "LEDGER_STREAMS",
    "RETRYABLE",
    "AgencyStatsRefresh",
    "AgencySyncReport",
    "ChatterDaysReport",
    "ConnectionMaintenance",
    "Context",
    "CreatorSyncReport",
    "HistoryReport",
    "ImportReport",
    "LedgerSyncReport",
    "LinksReport",
    "MaintenanceOutcome",
    "MaintenanceReport",
    "MergedStats",
    "ProgressHook",
    "ReconcileOutcome",
    "ReconcileReport",
    "SnapshotReport",
    "StatsRefresh",
    "SyncOutcome",
    "agency_scope",
    "choose_connection",
    "creator_freshness",
    "due_work",
    "for_each_creator",
    "import_creators",
    "maintain_tokens",
    "merge_observations",
    "reconcile_ledger",
    "record_agency_top_spenders",
    "record_chatter_days",
    "record_observations",
    "record_recent_chatter_days",
    "record_subscriber_history",
    "record_top_spenders",
    "refresh_agency_stats",
    "refresh_creator_stats",
    "sync_agency",
    "sync_creator",
    "sync_ledger",
    "sync_tracking_links",
    "unlock_rate",
    "with_connection",
]
