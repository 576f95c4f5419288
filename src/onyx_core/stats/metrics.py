"""The metrics of a creator's stats and how each may move."""

from __future__ import annotations

from enum import StrEnum


class MetricKind(StrEnum):
    """How a metric may move, which decides the merge rule that applies to it."""

    MONOTONE = "monotone"
    """Never decreases except through a recorded adjustment (lifetime revenue)."""
    GAUGE = "gauge"
    """May rise and fall, but a cliff (a sudden drop) is quarantined until confirmed."""


class Metric(StrEnum):
    """The metrics Onyx tracks out of the box. Any other name works too (see ``MergePolicy.kinds``)."""

    REVENUE_TOTAL = "revenue_total"
    """Lifetime revenue in USD cents."""
    SUBSCRIBERS = "subscribers"
    FOLLOWERS = "followers"
    POSTS = "posts"
    LIKES = "likes"
    CHATS = "chats"
    """Conversations the creator has (counted from Fanvue's chat list pages, not walked in full)."""
    AVAILABLE_BALANCE = "available_balance"
    """What Fanvue says may be paid out now (``account.earnings.availableBalance``), in USD cents: it falls to
    about 0 at each payout, so a drop is held until a second reading confirms it, as any gauge's."""


DEFAULT_KINDS: dict[str, MetricKind] = {
    Metric.REVENUE_TOTAL: MetricKind.MONOTONE,
    Metric.SUBSCRIBERS: MetricKind.GAUGE,
    Metric.FOLLOWERS: MetricKind.GAUGE,
    Metric.POSTS: MetricKind.GAUGE,
    Metric.LIKES: MetricKind.GAUGE,
    Metric.CHATS: MetricKind.GAUGE,
    Metric.AVAILABLE_BALANCE: MetricKind.GAUGE,
}
