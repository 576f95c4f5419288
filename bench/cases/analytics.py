"""Case 3: the agency dashboard of 100 creators, over the ranges 30d, 1y and all.

Onyx: :class:`~onyx_adapters.sql.dashboard.SqlDashboardReader`, one ``read`` per range (one connection, one
snapshot, one currency check, agency-wide statements compiled once), as the dashboard endpoint calls it. Ceiling:
bare hand-written SQL computing the same ledger figures for the agency and each creator (grouped by creator) on the
raw driver, in one snapshot. Both must give equal numbers (asserted): per creator and for the agency, totals and the
previous period's, revenue by source, the series by source (30d daily, 1y and all monthly), tip average, ARPU, LTV,
golden ratio, the old system's golden ratio and LTV, paying fans and subscribers, new fans, purchases and buyers per
type, top spenders (50).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bench import ledger_rows
from bench.harness import Case, Row, Size, time_ratio
from bench.ledger_rows import NOW, BenchDatabase, Engine
from onyx_adapters.sql.dashboard import SqlDashboardReader
from onyx_adapters.sql.engine import create_engine
from onyx_core import analytics as core
from onyx_core.analytics import Granularity, Window
from onyx_core.analytics.dashboard import AgencyDashboard, DashboardFigures, DashboardQuery, PurchaseType
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.ledger import Source

NUMBER, TITLE = 3, "Analytics"
CASE_NAME = f"{NUMBER} {TITLE}"
LIMIT = 1.3
TZ = "UTC"
TOP = 50
PARAMS: dict[Size, dict[str, int]] = {
    "smoke": {"rows": 600, "creators": 3, "repeats": 1},
    "quick": {"rows": 200_000, "creators": 100, "repeats": 3},
    "full": {"rows": 1_000_000, "creators": 100, "repeats": 3},
}
RANGES: dict[str, Window] = {"30d": Window.D30, "1y": Window.Y1, "all": Window.ALL}
AGENCY = "agency"
"""The key of the agency's own figures (creators are keyed by id)."""

Key = tuple[str, str, str]
"""(creator id or "agency", range name, figure name)"""
Totals = tuple[int, int, int, int, int, int]
"""gross, net, transactions, reversals, reversal gross, reversal net (cents and counts)"""
Figures = dict[Key, Any]
_ZERO: Totals = (0, 0, 0, 0, 0, 0)


# ----------------------------------------------------------------------------- Onyx: the batched read


def _totals(t: core.RevenueTotals) -> Totals:
    return (
        t.gross.cents,
        t.net.cents,
        t.transaction_count,
        t.reversal_count,
        t.reversal_gross.cents,
        t.reversal_net.cents,
    )


def _pair(figure: Any) -> tuple[int, int]:
    return (figure.ratio.numerator, figure.ratio.denominator)


def _record(out: Figures, scope: str, name: str, f: DashboardFigures) -> None:
    out[scope, name, "totals"] = _totals(f.totals)
    out[scope, name, "previous"] = None if f.previous_totals is None else _totals(f.previous_totals)
    out[scope, name, "by_source"] = {s: _totals(t) for s, t in f.by_source.items()}
    out[scope, name, "series"] = [
        (b.label, {s: _totals(t) for s, t in b.by_source.items()}) for b in f.series_by_source
    ]
    for kpi in ("tip_average", "arpu", "ltv", "golden_ratio", "legacy_golden_ratio_gross"):
        out[scope, name, kpi] = _pair(getattr(f, kpi))
    out[scope, name, "legacy_ltv"] = _pair(f.legacy_ltv_per_paying_subscriber)
    out[scope, name, "fans"] = (f.paying_fans, f.paying_subscribers, f.new_fans)
    out[scope, name, "purchases"] = {t.value: (p.count, p.buyers) for t, p in f.purchases.items()}
    out[scope, name, "top_spenders"] = [
        (str(s.fan_id), s.gross.cents, s.net.cents, s.transaction_count, s.reversal_count, s.last_paid_at)
        for s in f.top_spenders
    ]


def _flatten(out: Figures, name: str, board: AgencyDashboard) -> None:
    _record(out, AGENCY, name, board.agency)
    for creator, figures in board.creators.items():
        _record(out, str(creator), name, figures)


async def _onyx(db: BenchDatabase) -> tuple[float, Figures]:
    engine = create_engine(db.url)
    try:
        reader = SqlDashboardReader(engine)
        agency = AgencyId(ledger_rows.AGENCY_ID)
        await reader.read(agency, DashboardQuery(Window.D7, TZ, top_spenders_limit=TOP), NOW)  # warm pool and cache
        out: Figures = {}
        start = time.perf_counter()
        for name, window in RANGES.items():
            _flatten(out, name, await reader.read(agency, DashboardQuery(window, TZ, top_spenders_limit=TOP), NOW))
        return time.perf_counter() - start, out
    finally:
        await engine.dispose()


# ----------------------------------------------------------------------------- the ceiling: bare SQL, whole agency

_SUMS = """sum(gross_cents), sum(net_cents),
    sum(CASE WHEN kind = 'earning' THEN 1 ELSE 0 END), sum(CASE WHEN kind <> 'earning' THEN 1 ELSE 0 END),
    sum(CASE WHEN kind <> 'earning' THEN gross_cents ELSE 0 END),
    sum(CASE WHEN kind <> 'earning' THEN net_cents ELSE 0 END)"""
_AGENCY = "creator_id IN (SELECT id FROM creators WHERE agency_id = {m})"
_PERIOD = "occurred_at >= {m} AND occurred_at < {m}"

_BY_SOURCE = f"""SELECT creator_id, CASE WHEN occurred_at >= {{m}} THEN 0 ELSE 1 END AS w, source, {_SUMS},
    sum(CASE WHEN fan_id IS NOT NULL THEN net_cents ELSE 0 END),
    sum(CASE WHEN kind = 'earning' AND source IN ('message', 'post') AND reference IS NOT NULL THEN 1 ELSE 0 END)
  FROM ledger_entries WHERE {_AGENCY} AND {_PERIOD} GROUP BY creator_id, w, source"""  # noqa: S608 - constant SQL

_SERIES = f"""SELECT creator_id, {{bucket}} AS label, source, {_SUMS} FROM ledger_entries
WHERE {_AGENCY} AND {_PERIOD} GROUP BY creator_id, label, source"""  # noqa: S608 - constant SQL

_PAYING = "fan_id IS NOT NULL AND kind = 'earning' AND gross_cents > 0"
_FLAGS = f"""max(CASE WHEN {_PAYING} THEN 1 ELSE 0 END) AS paying,
    max(CASE WHEN {_PAYING} AND source IN ('subscription', 'renewal') THEN 1 ELSE 0 END) AS subs,
    max(CASE WHEN {_PAYING} AND source = 'message' THEN 1 ELSE 0 END) AS msg,
    max(CASE WHEN {_PAYING} AND source IN ('message', 'post') AND reference IS NOT NULL THEN 1 ELSE 0 END) AS ppv,
    max(CASE WHEN {_PAYING} AND source = 'post' THEN 1 ELSE 0 END) AS post,
    max(CASE WHEN {_PAYING} AND source = 'tip' THEN 1 ELSE 0 END) AS tip"""
_FLAG_SUMS = "sum(paying), sum(subs), sum(msg), sum(ppv), sum(post), sum(tip)"
_FAN_FLAGS = f"""SELECT {{keys}} {_FLAGS} FROM ledger_entries
  WHERE {_AGENCY} AND {_PERIOD} AND fan_id IS NOT NULL GROUP BY {{keys}} fan_id"""  # noqa: S608 - constant SQL
_FANS = f"SELECT creator_id, {_FLAG_SUMS} FROM ({_FAN_FLAGS.format(keys='creator_id,', m='{m}')}) f GROUP BY creator_id"  # noqa: S608
_AGENCY_FANS = f"SELECT {_FLAG_SUMS} FROM ({_FAN_FLAGS.format(keys='', m='{m}')}) f"  # noqa: S608

_PER_FAN = f"""SELECT {{keys}} sum(net_cents) AS n, max(CASE WHEN {_PAYING} THEN 1 ELSE 0 END) AS paid,
    min(CASE WHEN {_PAYING} THEN occurred_at END) AS first_paid
  FROM ledger_entries WHERE {_AGENCY} AND fan_id IS NOT NULL GROUP BY {{keys}} fan_id"""  # noqa: S608
_LIFE = "sum(n), sum(paid), sum(CASE WHEN first_paid >= {m} AND first_paid < {m} THEN 1 ELSE 0 END)"
_LIFETIME = f"SELECT creator_id, {_LIFE} FROM ({_PER_FAN.format(keys='creator_id,', m='{m}')}) f GROUP BY creator_id"  # noqa: S608
_AGENCY_LIFETIME = f"SELECT {_LIFE} FROM ({_PER_FAN.format(keys='', m='{m}')}) f"  # noqa: S608

_SPEND = """fan_id, sum(gross_cents) AS g, sum(net_cents) AS n,
    sum(CASE WHEN kind = 'earning' THEN 1 ELSE 0 END), sum(CASE WHEN kind <> 'earning' THEN 1 ELSE 0 END),
    max(CASE WHEN kind = 'earning' THEN occurred_at END)"""
_TOP = f"""SELECT * FROM (SELECT creator_id, {_SPEND},
    row_number() OVER (PARTITION BY creator_id ORDER BY sum(net_cents) DESC, sum(gross_cents) DESC,
                       fan_id COLLATE {{collation}}) AS rk
  FROM ledger_entries WHERE {_AGENCY} AND {_PERIOD} AND fan_id IS NOT NULL GROUP BY creator_id, fan_id) t
WHERE rk <= {TOP} ORDER BY creator_id, rk"""  # noqa: S608 - constant SQL
_AGENCY_TOP = f"""SELECT {_SPEND} FROM ledger_entries WHERE {_AGENCY} AND {_PERIOD} AND fan_id IS NOT NULL
GROUP BY fan_id ORDER BY n DESC, g DESC, fan_id COLLATE {{collation}} LIMIT {TOP}"""  # noqa: S608

_OTHER_CURRENCY = f"SELECT key FROM ledger_entries WHERE {_AGENCY} AND (currency < 'USD' OR currency > 'USD') LIMIT 1"  # noqa: S608
_EARLIEST = f"SELECT min(occurred_at) FROM ledger_entries WHERE {_AGENCY}"  # noqa: S608


class _Dialect:
    def __init__(self, engine: Engine) -> None:
        self.pg = engine == "postgresql"
        self.mark = "%s" if self.pg else "?"
        self.collation = '"C"' if self.pg else "BINARY"

    def bucket(self, granularity: Granularity) -> str:
        if self.pg:
            fmt = "YYYY-MM-DD" if granularity is Granularity.DAY else "YYYY-MM-01"
            return f"to_char(occurred_at AT TIME ZONE 'UTC', '{fmt}')"
        return "substr(occurred_at, 1, 10)" if granularity is Granularity.DAY else "substr(occurred_at, 1, 7) || '-01'"

    def instant(self, moment: datetime) -> Any:
        return moment if self.pg else ledger_rows.sqlite_instant(moment)

    def read_instant(self, value: Any) -> datetime | None:
        if value is None or self.pg:
            return value  # type: ignore[no-any-return]
        return datetime.fromisoformat(value).replace(tzinfo=NOW.tzinfo)


def _add(a: Totals, b: Sequence[int]) -> Totals:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5])


def _bare(db: BenchDatabase, creators: Sequence[CreatorId]) -> tuple[float, Figures]:  # noqa: PLR0915
    d = _Dialect(db.engine)
    m = d.mark
    agency = ledger_rows.AGENCY_ID
    out: Figures = {}
    scopes = [*creators, AGENCY]
    with db.connect() as conn:
        conn.execute("SELECT 1 FROM ledger_entries LIMIT 1").fetchall()  # warm, as Onyx's pool is
        conn.rollback()
        start = time.perf_counter()
        if db.engine == "sqlite":
            conn.execute("BEGIN")  # one snapshot, as the dashboard reads one
        else:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur = conn.cursor()

        def rows(sql: str, params: Sequence[Any] = ()) -> list[Any]:
            cur.execute(sql.format(m=m, collation=d.collation, bucket="{bucket}"), params)
            return list(cur.fetchall())

        if rows(_OTHER_CURRENCY, (agency,)):
            raise AssertionError("the bench ledger is all USD")
        earliest = d.read_instant(rows(_EARLIEST, (agency,))[0][0])
        for name, window in RANGES.items():
            period = core.window_period(window, NOW, TZ, earliest=earliest)
            previous = None if window is Window.ALL else period.previous()
            granularity = Granularity.DAY if window is Window.D30 else Granularity.MONTH
            p = (d.instant(period.start), d.instant(period.end))
            q_start = d.instant(period.start if previous is None else previous.start)
            totals: dict[str, Totals] = defaultdict(lambda: _ZERO)
            before: dict[str, Totals] = defaultdict(lambda: _ZERO)
            by_source: dict[str, dict[str, Totals]] = defaultdict(dict)
            fan_net: dict[str, int] = defaultdict(int)
            ppv: dict[str, int] = defaultdict(int)
            for creator, w, source, *raw in rows(_BY_SOURCE, (p[0], agency, q_start, p[1])):
                sums = [int(s) for s in raw]
                for scope in (creator, AGENCY):
                    if w == 1:
                        before[scope] = _add(before[scope], sums[:6])
                        continue
                    totals[scope] = _add(totals[scope], sums[:6])
                    by_source[scope][source] = _add(by_source[scope].get(source, _ZERO), sums[:6])
                    fan_net[scope] += sums[6]
                    ppv[scope] += sums[7]
            series: dict[str, dict[date, dict[str, Totals]]] = defaultdict(lambda: defaultdict(dict))
            sql = _SERIES.replace("{bucket}", d.bucket(granularity))
            for creator, label, source, *raw in rows(sql, (agency, *p)):
                sums = [int(s) for s in raw]
                day = date.fromisoformat(label)
                for scope in (creator, AGENCY):
                    bucket = series[scope][day]
                    bucket[source] = _add(bucket.get(source, _ZERO), sums)
            fans: dict[str, tuple[int, ...]] = {c: tuple(int(x) for x in r) for c, *r in rows(_FANS, (agency, *p))}
            fans[AGENCY] = tuple(int(x or 0) for x in rows(_AGENCY_FANS, (agency, *p))[0])
            life_params = (*p, agency)
            life: dict[str, tuple[int, ...]] = {
                c: tuple(int(x or 0) for x in r) for c, *r in rows(_LIFETIME, life_params)
            }
            life[AGENCY] = tuple(int(x or 0) for x in rows(_AGENCY_LIFETIME, life_params)[0])
            top: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for creator, fan, g, n, tx, rv, last, _ in rows(_TOP, (agency, *p)):
                top[creator].append((fan, int(g), int(n), int(tx), int(rv), d.read_instant(last)))
            top[AGENCY] = [
                (fan, int(g), int(n), int(tx), int(rv), d.read_instant(last))
                for fan, g, n, tx, rv, last in rows(_AGENCY_TOP, (agency, *p))
            ]
            labels = list(core.bucket_labels(period, granularity, TZ))
            for scope in scopes:
                src = dict(sorted(by_source[scope].items()))

                def of(source: str, i: int, src: dict[str, Totals] = src) -> int:
                    return src.get(source, _ZERO)[i]

                def mix(i: int, src: dict[str, Totals] = src) -> tuple[int, int]:
                    return (
                        sum(src.get(s, _ZERO)[i] for s in Source.ENGAGEMENT),
                        sum(src.get(s, _ZERO)[i] for s in Source.SUBSCRIPTION_LIKE),
                    )

                counts = fans.get(scope, (0,) * 6)
                lifetime = life.get(scope, (0, 0, 0))
                out[scope, name, "totals"] = totals[scope]
                out[scope, name, "previous"] = None if previous is None else before[scope]
                out[scope, name, "by_source"] = src
                out[scope, name, "series"] = [(x, dict(sorted(series[scope].get(x, {}).items()))) for x in labels]
                out[scope, name, "tip_average"] = (
                    of(Source.TIP, 0) - of(Source.TIP, 4),
                    of(Source.TIP, 2),
                )
                out[scope, name, "arpu"] = (fan_net[scope], counts[0])
                out[scope, name, "ltv"] = (lifetime[0], lifetime[1])
                out[scope, name, "golden_ratio"] = mix(1)
                out[scope, name, "legacy_golden_ratio_gross"] = mix(0)
                out[scope, name, "legacy_ltv"] = (totals[scope][0], counts[1])
                out[scope, name, "fans"] = (counts[0], counts[1], lifetime[2])
                out[scope, name, "purchases"] = {
                    PurchaseType.MESSAGE.value: (of(Source.MESSAGE, 2), counts[2]),
                    PurchaseType.PPV.value: (ppv[scope], counts[3]),
                    PurchaseType.POST.value: (of(Source.POST, 2), counts[4]),
                    PurchaseType.TIP.value: (of(Source.TIP, 2), counts[5]),
                }
                out[scope, name, "top_spenders"] = top[scope][:TOP]
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds, out


# ----------------------------------------------------------------------------- the case


def _same(what: str, got: Figures, want: Figures) -> None:
    if got.keys() != want.keys():
        raise AssertionError(f"{what}: different figures ({len(got)} vs {len(want)})")
    wrong = [key for key in want if got[key] != want[key]]
    if wrong:
        key = wrong[0]
        raise AssertionError(f"{what}: {len(wrong)} figures differ, e.g. {key}: {got[key]!r} != {want[key]!r}")


def _run_engine(engine: Engine, size: Size) -> list[Row]:
    params = PARAMS[size]
    n, repeats = params["rows"], params["repeats"]
    creators = ledger_rows.creator_ids(params["creators"])
    rows = ledger_rows.entries(creators, n, seed=3, reversal_share=0.02)
    with ledger_rows.scratch_database(engine) as db:
        ledger_rows.seed_agency(db, creators)
        ledger_rows.bulk_load(db, [ledger_rows.as_tuple(entry, engine) for entry in rows])
        del rows
        ledger_rows.analyze(db)
        best_onyx = best_bare = float("inf")
        onyx: Figures = {}
        bare: Figures = {}
        for _ in range(repeats):  # interleaved, best of
            seconds, onyx = asyncio.run(_onyx(db))
            best_onyx = min(best_onyx, seconds)
            seconds, bare = _bare(db, creators)
            best_bare = min(best_bare, seconds)
        _same(f"{engine}: the dashboard read vs bare SQL", onyx, bare)
    scopes = len(creators) + 1
    workload = (
        f"{engine}: {len(creators)} creators + the agency x (30d, 1y, all), {len(bare):,} figure groups: "
        "SqlDashboardReader.read per range (3 reads) vs bare SQL for the agency"
    )
    return [
        time_ratio(
            CASE_NAME,
            workload,
            best_onyx,
            best_bare,
            LIMIT,
            n,
            f"Figures for {scopes} scopes: totals and the previous period's, revenue by source, the series by source "
            "(30d daily, 1y/all monthly), tip average, ARPU, LTV, golden ratio (Onyx's and the old system's), "
            f"legacy LTV, paying fans and subscribers, new fans, purchases and buyers per type, top spenders({TOP}). "
            "Numbers asserted equal. " + NOTES,
        )
    ]


NOTES = (
    "Onyx: per read one connection and snapshot, one currency check for the agency, about 15 agency-wide "
    "statements (GROUP BY creator_id; agency-level versions of the three that count fans) compiled once and "
    "served from SQLAlchemy's cache, bucket edges bound as one parameter (PostgreSQL width_bucket over an array, "
    "SQLite json_each). Besides the ledger figures it also reads the subscriber days, the audience series from "
    "stats events, headcounts and tracking links (empty here). The ceiling is the same ledger figures "
    "hand-written on the raw driver in one snapshot, with calendar buckets as UTC string labels."
)


def run(size: Size) -> list[Row]:
    engines: list[Engine] = ["postgresql", "sqlite"] if ledger_rows.postgres_available() else ["sqlite"]
    return [row for engine in engines for row in _run_engine(engine, size)]


CASE = Case(NUMBER, TITLE, run)
