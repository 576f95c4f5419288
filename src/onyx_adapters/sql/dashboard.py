"""The agency dashboard in one read: :func:`onyx_core.analytics.dashboard.agency_dashboard`, computed by the database.

One connection and one snapshot (REPEATABLE READ on PostgreSQL, a deferred read transaction on SQLite), one
currency check for all the selected creators, and a fixed set of agency-wide statements grouped by ``creator_id``
(plus, for the figures that count fans, the same statement for the agency as a whole: a fan who paid two creators
is one fan of the agency). Every statement is a module-level construct with bound parameters only, built once per
dialect, so SQLAlchemy compiles it once and caches it; the creators are an expanding ``IN``; calendar buckets are
bound as one parameter: on PostgreSQL an array of bucket starts for ``width_bucket`` (one pass, no join), on SQLite
a JSON array of ``[start, end)`` pairs joined through ``json_each`` (the ``(creator_id, occurred_at)`` index per
bucket). The database sums and counts; Python adds the creators' sums up for the agency and builds the result types
with the core's own helpers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    collate,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onyx_adapters.sql.analytics import _count_if, _total, _totals_columns
from onyx_adapters.sql.engine import READ_ONLY, require_onyx_engine
from onyx_adapters.sql.schema import (
    creator_stats,
    creators,
    ledger_entries,
    stats_events,
    subscriber_days,
    tracking_links,
)
from onyx_adapters.sql.types import UtcDateTime
from onyx_core.analytics.audience import SubscriberDay, subscriber_history
from onyx_core.analytics.dashboard import (
    AUDIENCE_METRICS,
    VALUE_SETTING_EVENTS,
    AgencyDashboard,
    DashboardFigures,
    DashboardQuery,
    Figure,
    Headcount,
    PurchaseStats,
    PurchaseType,
    audience_series,
    combine_audience,
    combine_subscriber_histories,
    dashboard_period,
    granularity_for,
    growth_figure,
    legacy_arpu_figure,
    rank_links,
    share_figures,
    subscriber_days_of,
)
from onyx_core.analytics.periods import Period, Window, bucket_bounds, bucket_labels
from onyx_core.analytics.revenue import RevenueBucket, RevenueTotals, SourceBucket
from onyx_core.analytics.spenders import FanSpend
from onyx_core.catalog import TrackingLink
from onyx_core.errors import CurrencyMismatchError
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, Source
from onyx_core.money import Money
from onyx_core.ratio import Ratio
from onyx_core.stats.events import EventKind, StatsEvent

__all__ = ["SqlDashboardReader", "dashboard_statements"]

Query: TypeAlias = "Select[*tuple[Any, ...]]"

_E = ledger_entries.c
_EARNING = EntryKind.EARNING.value
_SUBSCRIPTION_LIKE = sorted(Source.SUBSCRIPTION_LIKE)
_ENGAGEMENT = sorted(Source.ENGAGEMENT)
_SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime on SQLite (text that sorts in time order)
_BEFORE_EVERYTHING = "0001-01-01 00:00:00.000000"

_NO_PAYING_FAN = "no fan paid in the period"
_NO_FAN_EVER = "no fan ever paid"
_NO_TIP = "no tips in the period"
_NO_SUBSCRIPTION = "no subscription revenue in the period"
_NO_PAYING_SUBSCRIBER = "no fan paid a subscription or renewal in the period"


# ----------------------------------------------------------------------------- expressions


# the sums (_total, _count_if, _totals_columns) are the per-creator read's: one definition of each figure's SQL


_SELECTED = _E.creator_id.in_(bindparam("creator_ids", expanding=True))
_PAYING = and_(_E.fan_id.is_not(None), _E.kind == _EARNING, _E.gross_cents > 0)
_PPV = and_(_E.kind == _EARNING, _E.source.in_([Source.MESSAGE, Source.POST]), _E.reference.is_not(None))


def _instant(name: str) -> Any:
    return bindparam(name, type_=UtcDateTime())


def _in(start: str, end: str) -> ColumnElement[bool]:
    return and_(_E.occurred_at >= _instant(start), _E.occurred_at < _instant(end))


@dataclass(frozen=True, slots=True)
class Statements:
    """The dashboard's statements for one dialect, built once (:func:`dashboard_statements`)."""

    creators: Query
    currency: Query
    earliest: Query
    sources: Query
    series: Query
    fans: Query
    agency_fans: Query
    lifetime: Query
    agency_lifetime: Query
    top: Query
    agency_top: Query
    subscriber_days: Query
    audience: Query
    headcounts: Query
    links: Query


_FAN_FLAGS: dict[str, ColumnElement[bool]] = {
    "paying": _PAYING,
    "subscribers": and_(_PAYING, _E.source.in_(_SUBSCRIPTION_LIKE)),
    "message_buyers": and_(_PAYING, _E.source == Source.MESSAGE),
    "ppv_buyers": and_(_PAYING, _PPV),
    "post_buyers": and_(_PAYING, _E.source == Source.POST),
    "tip_buyers": and_(_PAYING, _E.source == Source.TIP),
}


def _fan_counts(*, per_creator: bool) -> Query:
    """Fans who paid (at all, for a subscription, a message, ...) in the period: one flag per fan first (a hash
    aggregate), then the flags summed; several ``COUNT(DISTINCT …)`` would each sort the period's rows."""
    keys = [_E.creator_id] if per_creator else []
    per_fan = (
        select(*keys, *(func.max(case((flag, 1), else_=0)).label(name) for name, flag in _FAN_FLAGS.items()))
        .where(_SELECTED, _in("p_start", "p_end"), _E.fan_id.is_not(None))
        .group_by(*keys, _E.fan_id)
        .subquery("fan_flags")
    )
    sums = [_total(per_fan.c[name]).label(name) for name in _FAN_FLAGS]
    if per_creator:
        return select(per_fan.c.creator_id, *sums).group_by(per_fan.c.creator_id)
    return select(*sums)


def _per_fan(keys: Sequence[ColumnElement[Any]]) -> Any:
    """Per fan (and creator, when grouped by it) over the whole ledger: net, paid at all, first payment."""
    return (
        select(
            *keys,
            _total(_E.net_cents).label("amount"),
            func.max(case((_PAYING, 1), else_=0)).label("paid"),
            func.min(case((_PAYING, _E.occurred_at))).label("first_paid"),
        )
        .where(_SELECTED, _E.fan_id.is_not(None))
        .group_by(*keys, _E.fan_id)
        .subquery("per_fan")
    )


def _lifetime(*, per_creator: bool) -> Query:
    per_fan = _per_fan([_E.creator_id] if per_creator else [])
    first = per_fan.c.first_paid
    columns = [
        _total(per_fan.c.amount).label("fan_net"),
        _count_if(per_fan.c.paid == 1).label("ever_paid"),
        _count_if(and_(first >= _instant("p_start"), first < _instant("p_end"))).label("new_fans"),
    ]
    if per_creator:
        return select(per_fan.c.creator_id, *columns).group_by(per_fan.c.creator_id)
    return select(*columns)


def _spend_columns() -> list[ColumnElement[Any]]:
    earning = _E.kind == _EARNING
    return [
        _E.fan_id,
        _total(_E.gross_cents).label("gross"),
        _total(_E.net_cents).label("net"),
        _count_if(earning).label("transactions"),
        _count_if(~earning).label("reversals"),
        func.max(case((earning, _E.occurred_at))).label("last_paid_at"),
    ]


def _series(dialect: str) -> Query:
    if dialect == "postgresql":
        # width_bucket over the sorted bucket starts: the bucket of each row in one pass (1-based).
        edges = bindparam("edges", type_=ARRAY(DateTime(timezone=True)))
        idx = (func.width_bucket(_E.occurred_at, edges) - 1).label("idx")
        return (
            select(_E.creator_id, idx, _E.source, *_totals_columns())
            .where(_SELECTED, _in("p_start", "p_end"))
            .group_by(_E.creator_id, literal_column("idx"), _E.source)
        )
    ranges = func.json_each(bindparam("ranges", type_=String())).table_valued("key", "value").alias("ranges")
    lo, hi = func.json_extract(ranges.c.value, "$[0]"), func.json_extract(ranges.c.value, "$[1]")
    joined = ranges.join(ledger_entries, and_(_SELECTED, _E.occurred_at >= lo, _E.occurred_at < hi))
    idx = cast(ranges.c.key, Integer).label("idx")
    return (
        select(_E.creator_id, idx, _E.source, *_totals_columns())
        .select_from(joined)
        .group_by(_E.creator_id, ranges.c.key, _E.source)
    )


def _audience(dialect: str) -> Query:
    """The last value-setting event per creator, metric and bucket (idx -1: before the first bucket)."""
    ev = stats_events.c
    base = [
        ev.creator_id.in_(bindparam("creator_ids", expanding=True)),
        ev.metric.in_(list(AUDIENCE_METRICS)),
        ev.kind.in_(sorted(k.value for k in VALUE_SETTING_EVENTS)),
        ev.new_value.is_not(None),
        ev.at < _instant("p_end"),
    ]
    if dialect == "postgresql":
        edges = bindparam("edges", type_=ARRAY(DateTime(timezone=True)))
        idx: ColumnElement[Any] = func.width_bucket(ev.at, edges) - 1
        source: Any = stats_events
    else:
        ranges = func.json_each(bindparam("ranges", type_=String())).table_valued("key", "value").alias("ranges")
        lo, hi = func.json_extract(ranges.c.value, "$[0]"), func.json_extract(ranges.c.value, "$[1]")
        source = ranges.join(stats_events, and_(ev.at >= lo, ev.at < hi))
        idx = cast(ranges.c.key, Integer) - 1  # range 0 is everything before the first bucket
    rank = func.row_number().over(partition_by=[ev.creator_id, ev.metric, idx], order_by=[ev.at.desc(), ev.id.desc()])
    ranked = (
        select(ev.creator_id, ev.metric, ev.at, ev.new_value, idx.label("idx"), rank.label("rk"))
        .select_from(source)
        .where(*base)
        .subquery("ranked")
    )
    return (
        select(ranked.c.creator_id, ranked.c.metric, ranked.c.at, ranked.c.new_value, ranked.c.idx)
        .where(ranked.c.rk == 1)
        .order_by(ranked.c.creator_id, ranked.c.at, ranked.c.idx)
    )


@cache
def dashboard_statements(dialect: str) -> Statements:
    """Every statement of the read for ``dialect`` (``postgresql`` or ``sqlite``), built once and reused."""
    fan_order = collate(_E.fan_id, "C" if dialect == "postgresql" else "BINARY")
    spend_order = [literal_column("net").desc(), literal_column("gross").desc(), fan_order]
    per_creator_spend = (
        select(
            _E.creator_id,
            *_spend_columns(),
            func.row_number()
            .over(
                partition_by=_E.creator_id,
                order_by=[_total(_E.net_cents).desc(), _total(_E.gross_cents).desc(), fan_order],
            )
            .label("rk"),
        )
        .where(_SELECTED, _in("p_start", "p_end"), _E.fan_id.is_not(None))
        .group_by(_E.creator_id, _E.fan_id)
        .subquery("spend")
    )
    d = subscriber_days.c
    cs = creator_stats.c
    tl = tracking_links.c
    which = case((_E.occurred_at >= _instant("p_start"), 0), else_=1).label("which")
    return Statements(
        creators=select(creators.c.id).where(creators.c.agency_id == bindparam("agency_id")).order_by(creators.c.id),
        # Two range probes of (creator_id, currency) per creator: "!=" would walk every entry of the index.
        currency=select(_E.key, _E.currency)
        .where(_SELECTED, or_(_E.currency < bindparam("currency"), _E.currency > bindparam("currency")))
        .limit(1),
        earliest=select(func.min(_E.occurred_at)).where(_SELECTED),
        sources=select(
            _E.creator_id,
            which,
            _E.source,
            *_totals_columns(),
            _total(case((_E.fan_id.is_not(None), _E.net_cents), else_=0)).label("fan_net"),
            _count_if(_PPV).label("ppv"),
        )
        .where(_SELECTED, _in("q_start", "p_end"))
        .group_by(_E.creator_id, literal_column("which"), _E.source),
        series=_series(dialect),
        fans=_fan_counts(per_creator=True),
        agency_fans=_fan_counts(per_creator=False),
        lifetime=_lifetime(per_creator=True),
        agency_lifetime=_lifetime(per_creator=False),
        top=select(per_creator_spend)
        .where(per_creator_spend.c.rk <= bindparam("limit", type_=Integer()))
        .order_by(per_creator_spend.c.creator_id, per_creator_spend.c.rk),
        agency_top=select(*_spend_columns())
        .where(_SELECTED, _in("p_start", "p_end"), _E.fan_id.is_not(None))
        .group_by(_E.fan_id)
        .order_by(*spend_order)
        .limit(bindparam("limit", type_=Integer())),
        subscriber_days=select(d.creator_id, d.day, d.new, d.cancelled)
        .where(
            d.creator_id.in_(bindparam("creator_ids", expanding=True)),
            d.day >= bindparam("first_day", type_=Date()),
            d.day < bindparam("end_day", type_=Date()),
        )
        .order_by(d.creator_id, d.day),
        audience=_audience(dialect),
        headcounts=select(cs.creator_id, cs.metric, cs.value).where(
            cs.creator_id.in_(bindparam("creator_ids", expanding=True)), cs.metric.in_(list(AUDIENCE_METRICS))
        ),
        links=select(tracking_links).where(tl.creator_id.in_(bindparam("creator_ids", expanding=True))),
    )


# ----------------------------------------------------------------------------- building results


def _totals(row: Any, currency: str) -> RevenueTotals:
    return RevenueTotals(
        Money(int(row.gross), currency),
        Money(int(row.net), currency),
        int(row.transactions),
        int(row.reversals),
        Money(int(row.reversal_gross), currency),
        Money(int(row.reversal_net), currency),
    )


def _add(a: RevenueTotals, b: RevenueTotals) -> RevenueTotals:
    return RevenueTotals(
        a.gross + b.gross,
        a.net + b.net,
        a.transaction_count + b.transaction_count,
        a.reversal_count + b.reversal_count,
        a.reversal_gross + b.reversal_gross,
        a.reversal_net + b.reversal_net,
    )


def _sum(totals: Iterable[RevenueTotals], currency: str) -> RevenueTotals:
    result = RevenueTotals.zero(currency)
    for t in totals:
        result = _add(result, t)
    return result


def _spend(row: Any, currency: str) -> FanSpend:
    return FanSpend(
        FanId(str(row.fan_id)),
        Money(int(row.gross), currency),
        Money(int(row.net), currency),
        int(row.transactions),
        int(row.reversals),
        row.last_paid_at,
    )


@dataclass
class _Sums:
    """What the statements found for one scope, before it becomes :class:`DashboardFigures`."""

    by_source: dict[str, RevenueTotals]
    previous: dict[str, RevenueTotals]
    fan_net: int
    ppv: int
    series: dict[int, dict[str, RevenueTotals]]
    fans: Any
    lifetime: Any
    top: list[FanSpend]

    @classmethod
    def empty(cls) -> _Sums:
        return cls({}, {}, 0, 0, {}, None, None, [])


def _merge(scopes: Iterable[_Sums], currency: str) -> _Sums:
    """The agency's sums from its creators' (the additive ones: money and counts of entries)."""
    merged = _Sums.empty()
    for scope in scopes:
        for mine, theirs in ((merged.by_source, scope.by_source), (merged.previous, scope.previous)):
            for source, totals in theirs.items():
                mine[source] = _add(mine.get(source, RevenueTotals.zero(currency)), totals)
        merged.fan_net += scope.fan_net
        merged.ppv += scope.ppv
        for idx, per_source in scope.series.items():
            bucket = merged.series.setdefault(idx, {})
            for source, totals in per_source.items():
                bucket[source] = _add(bucket.get(source, RevenueTotals.zero(currency)), totals)
    return merged


def _figure(ratio: Ratio, reason: str) -> Figure:
    return Figure.of(ratio, reason)


def _build(
    sums: _Sums,
    query: DashboardQuery,
    *,
    has_previous: bool,
    buckets: Sequence[tuple[date, Period]],
    headcounts: Sequence[Headcount],
    links: Sequence[TrackingLink],
    audience: list[Any],
    history: list[Any],
) -> DashboardFigures:
    currency = query.currency
    zero = RevenueTotals.zero(currency)
    by_source = {source: sums.by_source[source] for source in sorted(sums.by_source)}
    totals = _sum(by_source.values(), currency)
    previous = _sum(sums.previous.values(), currency) if has_previous else None
    gross_share, net_share = share_figures(by_source, totals)
    series: list[RevenueBucket] = []
    series_by_source: list[SourceBucket] = []
    for i, (label, part) in enumerate(buckets):
        per_source = sums.series.get(i, {})
        series.append(RevenueBucket(label, part, _sum(per_source.values(), currency)))
        series_by_source.append(SourceBucket(label, part, {s: per_source[s] for s in sorted(per_source)}))

    def of(source: str) -> RevenueTotals:
        return by_source.get(source, zero)

    def cents(sources: Iterable[str], *, gross: bool) -> int:
        return sum(of(s).gross.cents if gross else of(s).net.cents for s in sources)

    fans = sums.fans
    paying = 0 if fans is None else int(fans.paying)
    subscribers = 0 if fans is None else int(fans.subscribers)

    def buyers(column: str) -> int:
        return 0 if fans is None else int(getattr(fans, column))

    tips = of(Source.TIP)
    purchases = {
        PurchaseType.MESSAGE: PurchaseStats(of(Source.MESSAGE).transaction_count, buyers("message_buyers")),
        PurchaseType.PPV: PurchaseStats(sums.ppv, buyers("ppv_buyers")),
        PurchaseType.POST: PurchaseStats(of(Source.POST).transaction_count, buyers("post_buyers")),
        PurchaseType.TIP: PurchaseStats(tips.transaction_count, buyers("tip_buyers")),
    }
    life = sums.lifetime
    fan_net_ever = 0 if life is None else int(life.fan_net)
    ever_paid = 0 if life is None else int(life.ever_paid)
    return DashboardFigures(
        totals=totals,
        previous_totals=previous,
        gross_growth=growth_figure(totals.gross, None if previous is None else previous.gross),
        net_growth=growth_figure(totals.net, None if previous is None else previous.net),
        by_source=by_source,
        gross_share=gross_share,
        net_share=net_share,
        series=series,
        series_by_source=series_by_source,
        tip_average=_figure(Ratio(tips.earnings_gross.cents, tips.transaction_count), _NO_TIP),
        arpu=_figure(Ratio(sums.fan_net, paying), _NO_PAYING_FAN),
        ltv=_figure(Ratio(fan_net_ever, ever_paid), _NO_FAN_EVER),
        golden_ratio=_figure(
            Ratio(cents(_ENGAGEMENT, gross=False), cents(_SUBSCRIPTION_LIKE, gross=False)), _NO_SUBSCRIPTION
        ),
        legacy_arpu_per_audience=legacy_arpu_figure(totals.gross, headcounts),
        legacy_ltv_per_paying_subscriber=_figure(Ratio(totals.gross.cents, subscribers), _NO_PAYING_SUBSCRIBER),
        legacy_golden_ratio_gross=_figure(
            Ratio(cents(_ENGAGEMENT, gross=True), cents(_SUBSCRIPTION_LIKE, gross=True)), _NO_SUBSCRIPTION
        ),
        paying_fans=paying,
        paying_subscribers=subscribers,
        new_fans=0 if life is None else int(life.new_fans),
        purchases=purchases,
        message_purchase_rate=_figure(Ratio(purchases[PurchaseType.MESSAGE].buyers, paying), _NO_PAYING_FAN),
        ppv_purchase_rate=_figure(Ratio(purchases[PurchaseType.PPV].buyers, paying), _NO_PAYING_FAN),
        top_spenders=sums.top,
        tracking_links=rank_links(links, query.link_costs, currency),
        audience=audience,
        subscriber_history=history,
    )


def _sqlite_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_SQLITE_INSTANT)


# ----------------------------------------------------------------------------- the reader


class SqlDashboardReader:
    """Implements :class:`~onyx_core.analytics.dashboard.DashboardReader` on SQLite and PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        require_onyx_engine(engine)
        self._engine = engine

    @asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:  # a plain BEGIN: a dashboard never queues behind a sync's write lock
                await conn.execution_options(**READ_ONLY)
            yield conn

    async def read(self, agency_id: AgencyId, query: DashboardQuery, now: datetime) -> AgencyDashboard:
        """:func:`~onyx_core.analytics.dashboard.agency_dashboard` of the agency's creators (narrowed to
        ``query.creator_ids``) at ``now``; :class:`CurrencyMismatchError` for a ledger in another currency."""
        async with self._snapshot() as conn:
            return await self._read(conn, agency_id, query, now)

    async def _read(
        self, conn: AsyncConnection, agency_id: AgencyId, query: DashboardQuery, now: datetime
    ) -> AgencyDashboard:
        run = _Run(conn, dashboard_statements(conn.dialect.name), query)
        ids = [CreatorId(str(r.id)) for r in await run.rows(run.st.creators, agency_id=agency_id)]
        run.sel = {"creator_ids": [c for c in ids if query.selects(c)]}
        ids = run.sel["creator_ids"]
        other = await run.rows(run.st.currency, currency=query.currency, **run.sel)
        if other:
            raise CurrencyMismatchError(
                f"ledger entry {other[0].key!r} is in {other[0].currency}, expected {query.currency}; convert first"
            )
        earliest = (await run.rows(run.st.earliest, **run.sel))[0][0] if query.range is Window.ALL else None
        period = dashboard_period(query.range, now, query.tz, earliest)
        previous = None if query.range is Window.ALL else period.previous()
        granularity = granularity_for(period, query.tz)
        buckets = [
            (label, bucket_bounds(label, granularity, query.tz).intersection(period))
            for label in bucket_labels(period, granularity, query.tz)
        ]
        sums = await run.sums(ids, period, previous, buckets)
        agency = await run.agency_sums(sums.values(), period)
        first_day, end_day = subscriber_days_of(period, query.tz)
        days = await run.subscriber_days(ids, first_day, end_day)
        events = await run.audience_events(ids, period, buckets)
        heads = await run.headcounts(ids)
        links = await run.links(ids)
        per_creator = {
            c: _build(
                sums[c],
                query,
                has_previous=previous is not None,
                buckets=buckets,
                headcounts=[heads[c]],
                links=links[c],
                audience=audience_series(events[c], buckets),
                history=subscriber_history(days[c], first_day, end_day),
            )
            for c in ids
        }
        agency_figures = _build(
            agency,
            query,
            has_previous=previous is not None,
            buckets=buckets,
            headcounts=[heads[c] for c in ids],
            links=[link for c in ids for link in links[c]],
            audience=combine_audience([per_creator[c].audience for c in ids]),
            history=combine_subscriber_histories([per_creator[c].subscriber_history for c in ids]),
        )
        return AgencyDashboard(
            agency_id, query, now, period, previous, granularity, buckets, agency_figures, per_creator
        )


class _Run:
    """One read's connection, statements and selected creators; each method runs one or two statements."""

    def __init__(self, conn: AsyncConnection, statements: Statements, query: DashboardQuery) -> None:
        self.conn = conn
        self.st = statements
        self.query = query
        self.currency = query.currency
        self.postgresql = conn.dialect.name == "postgresql"
        self.sel: dict[str, list[CreatorId]] = {"creator_ids": []}

    async def rows(self, statement: Query, **params: Any) -> list[Any]:
        return list((await self.conn.execute(statement, params)).all())

    def _buckets(self, parts: Sequence[Period], before: datetime | None = None) -> dict[str, Any]:
        """The bucket parameter: PostgreSQL's sorted starts (``width_bucket`` puts earlier instants in bucket 0, so
        -1 after the shift), or SQLite's JSON ``[start, end)`` pairs, led by ``[-inf, before)`` when asked."""
        if self.postgresql:
            return {"edges": [part.start for part in parts]}
        pairs = [] if before is None else [[_BEFORE_EVERYTHING, _sqlite_instant(before)]]
        pairs += [[_sqlite_instant(p.start), _sqlite_instant(p.end)] for p in parts]
        return {"ranges": json.dumps(pairs)}

    async def sums(
        self,
        ids: Sequence[CreatorId],
        period: Period,
        previous: Period | None,
        buckets: Sequence[tuple[date, Period]],
    ) -> dict[CreatorId, _Sums]:
        window = {"p_start": period.start, "p_end": period.end}
        q_start = period.start if previous is None else previous.start
        sums: dict[CreatorId, _Sums] = {c: _Sums.empty() for c in ids}
        for r in await self.rows(self.st.sources, q_start=q_start, **window, **self.sel):
            scope = sums[r.creator_id]
            (scope.by_source if r.which == 0 else scope.previous)[str(r.source)] = _totals(r, self.currency)
            if r.which == 0:
                scope.fan_net += int(r.fan_net)
                scope.ppv += int(r.ppv)
        if buckets:
            params = self._buckets([part for _, part in buckets])
            for r in await self.rows(self.st.series, **params, **window, **self.sel):
                sums[r.creator_id].series.setdefault(int(r.idx), {})[str(r.source)] = _totals(r, self.currency)
        for r in await self.rows(self.st.fans, **window, **self.sel):
            sums[r.creator_id].fans = r
        for r in await self.rows(self.st.lifetime, **window, **self.sel):
            sums[r.creator_id].lifetime = r
        for r in await self.rows(self.st.top, limit=self.query.top_spenders_limit, **window, **self.sel):
            sums[r.creator_id].top.append(_spend(r, self.currency))
        return sums

    async def agency_sums(self, creators: Iterable[_Sums], period: Period) -> _Sums:
        """The creators' additive sums added up, and the fan counts of the agency as a whole (a fan who paid two
        creators is one fan of the agency)."""
        window = {"p_start": period.start, "p_end": period.end}
        agency = _merge(creators, self.currency)
        agency.fans = (await self.rows(self.st.agency_fans, **window, **self.sel))[0]
        agency.lifetime = (await self.rows(self.st.agency_lifetime, **window, **self.sel))[0]
        top = await self.rows(self.st.agency_top, limit=self.query.top_spenders_limit, **window, **self.sel)
        agency.top = [_spend(r, self.currency) for r in top]
        return agency

    async def subscriber_days(
        self, ids: Sequence[CreatorId], first_day: date, end_day: date
    ) -> dict[CreatorId, list[SubscriberDay]]:
        days: dict[CreatorId, list[SubscriberDay]] = {c: [] for c in ids}
        for r in await self.rows(self.st.subscriber_days, first_day=first_day, end_day=end_day, **self.sel):
            days[r.creator_id].append(SubscriberDay(r.creator_id, r.day, int(r.new), int(r.cancelled)))
        return days

    async def audience_events(
        self, ids: Sequence[CreatorId], period: Period, buckets: Sequence[tuple[date, Period]]
    ) -> dict[CreatorId, list[StatsEvent]]:
        """Per creator, the last value-setting event of each metric before the period and in each bucket: what
        :func:`audience_series` keeps of all the events, so it gives the same series."""
        events: dict[CreatorId, list[StatsEvent]] = {c: [] for c in ids}
        if not buckets:
            return events
        params = self._buckets([part for _, part in buckets], before=period.start)
        for r in await self.rows(self.st.audience, p_end=period.end, **params, **self.sel):
            events[r.creator_id].append(StatsEvent(r.metric, EventKind.APPLIED, r.at, "", None, int(r.new_value)))
        return events

    async def headcounts(self, ids: Sequence[CreatorId]) -> dict[CreatorId, Headcount]:
        counts: dict[CreatorId, dict[str, int | None]] = {c: {} for c in ids}
        for r in await self.rows(self.st.headcounts, **self.sel):
            counts[r.creator_id][r.metric] = None if r.value is None else int(r.value)
        subscribers, followers = AUDIENCE_METRICS
        return {c: Headcount(counts[c].get(subscribers), counts[c].get(followers)) for c in ids}

    async def links(self, ids: Sequence[CreatorId]) -> dict[CreatorId, list[TrackingLink]]:
        links: dict[CreatorId, list[TrackingLink]] = {c: [] for c in ids}
        for r in await self.rows(self.st.links, **self.sel):
            links[r.creator_id].append(_link(r))
        return links


def _link(row: Any) -> TrackingLink:
    currency = row.earnings_currency
    return TrackingLink(
        TrackingLinkId(str(row.id)),
        CreatorId(str(row.creator_id)),
        row.name,
        row.url,
        row.platform,
        row.created_at,
        int(row.clicks),
        int(row.acquired_subscribers),
        int(row.acquired_followers),
        None if row.earnings_gross_cents is None else Money(int(row.earnings_gross_cents), currency),
        None if row.earnings_net_cents is None else Money(int(row.earnings_net_cents), currency),
    )
