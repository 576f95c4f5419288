"""Creator stats and the rules that keep them trustworthy: see ``docs/stats.md``.

- a failed, empty or partial fetch never changes a stored value (it only marks it stale);
- observations win by when they were observed, not by when they arrived;
- lifetime revenue never decreases except through a recorded refund newer than the value (or, where refunds
  cannot be read, a decrease confirmed twice), and is never shown below the ledger's floor;
- a sudden drop of a gauge is held until a second observation confirms it.
"""

from onyx_core.stats.codec import decode_record, encode_record, record_from_dict, record_to_dict
from onyx_core.stats.events import EventKind, StatsEvent, StoredStatsEvent
from onyx_core.stats.merge import (
    MergeResult,
    MetricRecord,
    check_records_to_save,
    merge,
    merge_all,
    stale_metrics,
)
from onyx_core.stats.metrics import DEFAULT_KINDS, Metric, MetricKind
from onyx_core.stats.observations import (
    RETRYABLE_REASONS,
    Adjustment,
    Floor,
    Missing,
    MissingReason,
    Observation,
    Ok,
    missing,
    ok,
)
from onyx_core.stats.policy import MergePolicy
from onyx_core.stats.state import Credit, MetricState, PendingCliff, fold, sort_key

__all__ = [
    "DEFAULT_KINDS",
    "RETRYABLE_REASONS",
    "Adjustment",
    "Credit",
    "EventKind",
    "Floor",
    "MergePolicy",
    "MergeResult",
    "Metric",
    "MetricKind",
    "MetricRecord",
    "MetricState",
    "Missing",
    "MissingReason",
    "Observation",
    "Ok",
    "PendingCliff",
    "StatsEvent",
    "StoredStatsEvent",
    "check_records_to_save",
    "decode_record",
    "encode_record",
    "fold",
    "merge",
    "merge_all",
    "missing",
    "ok",
    "record_from_dict",
    "record_to_dict",
    "sort_key",
    "stale_metrics",
]
