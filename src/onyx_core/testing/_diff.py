"""How two sequences of stats events differ, in words a failing check can report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from onyx_core.stats import StatsEvent


def event_difference(expected: Sequence[StatsEvent], got: Sequence[StatsEvent]) -> str | None:
    """``None`` when equal; else what was lost, invented or reordered. Events are a sequence: two equal events
    are two events, so a lost duplicate counts as lost."""
    if list(expected) == list(got):
        return None
    lost = Counter(expected) - Counter(got)
    invented = Counter(got) - Counter(expected)
    if not lost and not invented:
        return f"the same events in another order (expected {_kinds(expected)}, got {_kinds(got)})"
    parts = []
    if lost:
        parts.append(f"{lost.total()} lost ({_first(lost)})")
    if invented:
        parts.append(f"{invented.total()} invented ({_first(invented)})")
    return ", ".join(parts)


def _first(events: Counter[StatsEvent]) -> str:
    event, times = next(iter(events.items()))
    more = "" if len(events) == 1 else f", and {len(events) - 1} other kinds"
    return f"{times} x {event.metric} {event.kind.value} at {event.at.isoformat()}{more}"


def _kinds(events: Sequence[StatsEvent]) -> str:
    shown = [f"{e.metric}:{e.kind.value}" for e in events[:6]]
    return "[" + ", ".join(shown) + (", ..." if len(events) > 6 else "") + "]"
