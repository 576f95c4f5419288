"""Hypothesis strategies for Onyx's domain values. Public: use them to test your own adapters.

Requires ``hypothesis`` (``pip install 'onyx-fanvue[testing]'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.stats.metrics import Metric
from onyx_core.stats.observations import Adjustment, Floor, Missing, MissingReason, Observation, Ok

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where generated timelines start."""

GAUGES = (Metric.SUBSCRIBERS, Metric.FOLLOWERS, Metric.POSTS, Metric.LIKES)
ALL_METRICS = (Metric.REVENUE_TOTAL, *GAUGES)
SOURCES = ("fanvue:agency", "fanvue:creator", "fanvue:summary")


def instants(start: datetime = EPOCH, span: timedelta = timedelta(hours=2)) -> st.SearchStrategy[datetime]:
    """Aware UTC instants in ``[start, start + span]``, at whole seconds (so collisions happen)."""
    return st.integers(0, int(span.total_seconds())).map(lambda s: start + timedelta(seconds=s))


def values(metric: str) -> st.SearchStrategy[int]:
    """Plausible values, with 0 and small numbers over-represented (where the interesting rules live)."""
    top = 10_000_000 if metric == Metric.REVENUE_TOTAL else 5_000
    return st.one_of(st.just(0), st.integers(1, 20), st.integers(0, top))


def ok_observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Ok]:
    """``Ok`` observations of the given metrics."""
    when = times if times is not None else instants()

    def of(metric: str) -> st.SearchStrategy[Ok]:
        # Lifetime revenue is observed both where refunds are recorded and where nobody can read them.
        tracked = st.booleans() if metric == Metric.REVENUE_TOTAL else st.just(value=True)
        return st.builds(Ok, st.just(metric), values(metric), when, st.sampled_from(SOURCES), refunds_tracked=tracked)

    return st.sampled_from(metrics).flatmap(of)


def missing_observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Missing]:
    """``Missing`` observations of every reason."""
    when = times if times is not None else instants()
    return st.builds(
        Missing,
        st.sampled_from(metrics),
        st.sampled_from(list(MissingReason)),
        when,
        st.sampled_from(SOURCES),
    )


@st.composite
def adjustments(draw: st.DrawFn, times: st.SearchStrategy[datetime] | None = None) -> Adjustment:
    """Refund or chargeback adjustments of lifetime revenue, recorded at a drawn time; the refund happened then,
    minutes before, or long before (a historical refund found by a backfill)."""
    recorded = draw(times if times is not None else instants())
    ago = draw(st.one_of(st.just(0), st.integers(0, 3600), st.integers(0, 400 * 86400)))
    return Adjustment(
        Metric.REVENUE_TOTAL.value,
        draw(st.integers(1, 50_000)),
        recorded,
        draw(st.text("abcdef0123456789", min_size=4, max_size=8).map(lambda h: f"refund:{h}")),
        draw(st.sampled_from(["refund", "chargeback"])),
        recorded - timedelta(seconds=ago),
    )


def floors(times: st.SearchStrategy[datetime] | None = None) -> st.SearchStrategy[Floor]:
    """Ledger floors of lifetime revenue."""
    when = times if times is not None else instants()
    return st.builds(Floor, st.just(Metric.REVENUE_TOTAL.value), values(Metric.REVENUE_TOTAL), when, st.just("ledger"))


def observations(
    metrics: tuple[str, ...] = ALL_METRICS, times: st.SearchStrategy[datetime] | None = None
) -> st.SearchStrategy[Observation]:
    """Any observation: mostly values, often failures, sometimes adjustments and floors."""
    parts: list[st.SearchStrategy[Observation]] = [
        ok_observations(metrics, times),
        ok_observations(metrics, times),
        missing_observations(metrics, times),
    ]
    if Metric.REVENUE_TOTAL in metrics:
        parts += [adjustments(times), floors(times)]
    return st.one_of(*parts)


def observation_batches(
    metrics: tuple[str, ...] = ALL_METRICS,
    span: timedelta = timedelta(minutes=30),
    max_size: int = 40,
) -> st.SearchStrategy[list[Observation]]:
    """Lists of observations whose times lie within ``span`` (keep it <= the merge horizon for exact order tests)."""
    return st.lists(observations(metrics, instants(EPOCH, span)), max_size=max_size)


# ----------------------------------------------------------------------------- ledgers

EARNING_SOURCES = (
    Source.SUBSCRIPTION,
    Source.RENEWAL,
    Source.MESSAGE,
    Source.POST,
    Source.TIP,
    Source.REFERRAL,
)
FANS: tuple[FanId | None, ...] = (None, FanId("f1"), FanId("f2"), FanId("f3"))
CREATOR = CreatorId("creator")
"""The creator generated ledgers belong to unless told otherwise."""


@st.composite
def ledger_entries(
    draw: st.DrawFn,
    creator_id: CreatorId = CREATOR,
    times: st.SearchStrategy[datetime] | None = None,
    fans: tuple[FanId | None, ...] = FANS,
) -> LedgerEntry:
    """One ledger entry: mostly earnings of every source, one in five a refund or chargeback (signed amounts).

    Its key is derived from its content with :func:`~onyx_core.ledger.ledger_key`, as the gateway does.
    """
    at = draw(times if times is not None else instants(span=timedelta(days=400)))
    fan = draw(st.sampled_from(fans))
    gross = draw(st.integers(0, 50_000))
    net = draw(st.integers(0, gross))
    kind, source = EntryKind.EARNING, draw(st.sampled_from(EARNING_SOURCES))
    if draw(st.integers(0, 4)) == 0:
        kind = draw(st.sampled_from([EntryKind.REFUND, EntryKind.CHARGEBACK]))
        source, gross, net = kind.value, -gross, -net
    key = ledger_key(
        kind=kind,
        transaction_order_id=None,
        occurred_at=at,
        source=source,
        gross_cents=gross,
        net_cents=net,
        fan_id=fan,
        reference=None,
    )
    return LedgerEntry(creator_id, key, at, source, Money(gross), Money(net), kind, fan)


def ledgers(
    creator_id: CreatorId = CREATOR,
    times: st.SearchStrategy[datetime] | None = None,
    max_size: int = 40,
) -> st.SearchStrategy[list[LedgerEntry]]:
    """A creator's ledger: entries with distinct keys (equal rows collapse into one, as in storage)."""
    return st.lists(ledger_entries(creator_id, times), max_size=max_size, unique_by=lambda e: e.key)


# ----------------------------------------------------------------------------- token timelines


@dataclass(frozen=True, slots=True)
class TokenTimeline:
    """API calls over time with one connection: when each call happens and how long tokens live."""

    start: datetime
    calls: tuple[datetime, ...]
    """Instants of the calls, in order (gaps include idle hours and bursts)."""
    expires_in: int
    """The ``expires_in`` every token response carries, in seconds."""


@st.composite
def token_timelines(draw: st.DrawFn, span: timedelta = timedelta(hours=24), max_calls: int = 300) -> TokenTimeline:
    """Calls spread over ``span``: bursts a second apart, steady ticks, and idle jumps of hours."""
    gaps = draw(
        st.lists(
            st.one_of(st.integers(0, 2), st.integers(5, 120), st.integers(600, 4 * 3600)),
            min_size=1,
            max_size=max_calls,
        )
    )
    calls: list[datetime] = []
    at = EPOCH
    for gap in gaps:
        at += timedelta(seconds=gap)
        if at - EPOCH > span:
            break
        calls.append(at)
    expires_in = draw(st.sampled_from([900, 1800, 3600, 7200]))
    return TokenTimeline(EPOCH, tuple(calls), expires_in)


def token_responses(expires_in: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[dict[str, object]]:
    """OAuth token-endpoint bodies as Fanvue sends them, with and without the optional fields."""
    secret = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=16, max_size=40)
    required = st.fixed_dictionaries({"access_token": secret, "token_type": st.just("bearer")})
    optional = st.fixed_dictionaries(
        {},
        optional={
            "expires_in": expires_in if expires_in is not None else st.sampled_from([3600, 1800, 60]),
            "refresh_token": secret.map(lambda s: f"ory_rt_{s}"),
            "scope": st.sampled_from(["read:self read:creator offline_access", "read:self"]),
        },
    )
    return st.tuples(required, optional).map(lambda parts: {**parts[0], **parts[1]})
