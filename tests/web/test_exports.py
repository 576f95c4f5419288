"""GET /api/exports/{ledger,daily-revenue,stats-history,top-spenders}?format=csv|json on SQLite and PostgreSQL:
the files hold exactly the repository's rows (parsed back and compared), filtered by creator and a half-open UTC
range, limited to the caller's agency and creator scope (another agency's or an out-of-scope creator: 404, no
data; a viewer: 403), bad filters answer 4xx problems, every export is audited and no refused request is; formula-
like text is neutralised in CSV. The 1M-row memory test is tests/web/test_exports_memory.py."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from auth_kit import Env, client, make_env
from export_kit import (
    export_audit,
    ledger_rows,
    parse_csv,
    parse_json,
    store_events,
    store_ledger,
    store_spenders,
    stored_events,
)
from tenancy_kit import Agency, Tenancy, leaks

from onyx_core.accounts.model import Role
from onyx_core.analytics import Period, top_spenders
from onyx_core.catalog import RankedSpender
from onyx_core.exports import COLUMNS, Dataset
from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.stats.events import EventKind, StatsEvent

T0 = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
"""The evening before Europe/Berlin moves its clocks forward (2026-03-29 01:00 UTC)."""
LEDGER = list(COLUMNS[Dataset.LEDGER])


@pytest.fixture
def env(database_url: str) -> Env:
    return make_env(database_url)


def _entry(creator: str, n: int, at: datetime, source: str = Source.TIP, **extra: Any) -> LedgerEntry:
    kind = extra.pop("kind", EntryKind.EARNING)
    sign = 1 if kind is EntryKind.EARNING else -1
    gross = extra.pop("gross", 100 * (n + 1))
    return LedgerEntry(
        creator_id=CreatorId(creator),
        key=f"{kind.value}:{uuid.uuid4()}",
        occurred_at=at,
        source=source if kind is EntryKind.EARNING else kind.value,
        gross=Money(sign * gross, "USD"),
        net=Money(sign * (gross * 8 // 10), "USD"),
        kind=kind,
        fan_id=extra.pop("fan_id", FanId(f"fan-{n % 3}")),
        reference=extra.pop("reference", None),
        original_currency=extra.pop("original_currency", None),
    )


def _ledger(creator: str, count: int = 14) -> list[LedgerEntry]:
    """``count`` entries two hours apart from T0, sources mixed, a refund among them."""
    sources = [Source.TIP, Source.MESSAGE, Source.SUBSCRIPTION, Source.POST]
    entries = [_entry(creator, n, T0 + timedelta(hours=2 * n, microseconds=n), sources[n % 4]) for n in range(count)]
    entries.append(_entry(creator, 99, T0 + timedelta(hours=5), kind=EntryKind.REFUND, gross=50))
    entries.append(_entry(creator, 98, T0 + timedelta(hours=7), Source.REFERRAL, fan_id=None, original_currency="EUR"))
    return entries


def _as_row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "creator_id": entry.creator_id,
        "key": entry.key,
        "occurred_at": entry.occurred_at,
        "kind": entry.kind.value,
        "source": entry.source,
        "gross_cents": entry.gross.cents,
        "net_cents": entry.net.cents,
        "currency": entry.gross.currency,
        "fan_id": entry.fan_id,
        "reference": entry.reference,
        "original_currency": entry.original_currency,
    }


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["creator_id"], row["key"])


def _world(env: Env) -> tuple[Tenancy, Agency, str, str, Agency, str]:
    """Agency A with creators x and y (each with a ledger), agency B with creator z (with a ledger)."""
    t = Tenancy(env)
    a, b = t.agency("Alpha"), t.agency("Bravo")
    x, y, z = t.creator(a, "xena"), t.creator(a, "yara"), t.creator(b, "zed")
    store_ledger(env, _ledger(x) + _ledger(y, 5) + _ledger(z, 3))
    return t, a, x, y, b, z


def test_the_ledger_export_is_the_repositorys_rows_in_csv_and_json(env: Env) -> None:
    t, a, x, y, b, _ = _world(env)
    owner = t.session(a.owner_email)
    expected = sorted((_as_row(e) for c in (x, y) for e in ledger_rows(env, c)), key=_key)
    with client(env.app) as c:
        as_csv = c.get("/api/exports/ledger", headers=owner.headers())
        as_json = c.get("/api/exports/ledger?format=json", headers=owner.headers())
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"].startswith('attachment; filename="onyx-ledger-')
    assert as_csv.headers["content-disposition"].endswith('.csv"')
    header, rows = parse_csv(as_csv.text)
    assert header == LEDGER
    assert sorted(rows, key=_key) == expected
    assert [(r["creator_id"], r["occurred_at"]) for r in rows] == sorted(
        (r["creator_id"], r["occurred_at"]) for r in rows
    )
    assert as_csv.headers["x-export-rows"] == str(len(expected))
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].endswith('.json"')
    assert sorted(parse_json(as_json.text), key=_key) == expected
    assert leaks(as_csv.text + as_json.text, b) == []
    assert '"occurred_at":"2026-03-28T20:00:00Z"' in as_json.text  # ISO 8601 UTC


def test_filters_creator_and_half_open_range(env: Env) -> None:
    t, a, x, _y, _, _ = _world(env)
    owner = t.session(a.owner_email)
    start, end = T0 + timedelta(hours=4, microseconds=2), T0 + timedelta(hours=10, microseconds=5)
    params = {"creator_id": x, "from": start.isoformat(), "to": end.isoformat()}
    with client(env.app) as c:
        response = c.get("/api/exports/ledger", params=params, headers=owner.headers())
        empty = c.get(
            "/api/exports/ledger", params={**params, "to": start.isoformat(), "format": "json"}, headers=owner.headers()
        )
    assert response.status_code == 200
    _, rows = parse_csv(response.text)
    expected = [_as_row(e) for e in ledger_rows(env, x) if start <= e.occurred_at < end]
    assert {e.occurred_at for e in ledger_rows(env, x)} >= {start, end}  # both ends are entries: one in, one out
    assert sorted(rows, key=_key) == sorted(expected, key=_key)
    assert empty.status_code == 200
    assert empty.json() == []


def test_daily_revenue_sums_by_local_day_source_and_currency(env: Env) -> None:
    t, a, x, y, _, _ = _world(env)
    owner = t.session(a.owner_email)
    berlin = ZoneInfo("Europe/Berlin")
    with client(env.app) as c:
        response = c.get("/api/exports/daily-revenue", params={"tz": "Europe/Berlin"}, headers=owner.headers())
        as_json = c.get("/api/exports/daily-revenue?format=json&tz=Europe/Berlin", headers=owner.headers())
        utc = c.get("/api/exports/daily-revenue", params={"creator_id": x, "format": "json"}, headers=owner.headers())
        # the widest range there is: the days are found over the entries' own span, not ten thousand years'
        wide = c.get(
            "/api/exports/daily-revenue",
            params={"tz": "Europe/Berlin", "from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"},
            headers=owner.headers(),
        )
    assert response.status_code == 200, response.text
    header, rows = parse_csv(response.text)
    assert header == list(COLUMNS[Dataset.DAILY_REVENUE])

    def reference(creators: list[str], tz: ZoneInfo) -> list[dict[str, Any]]:
        sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for creator in creators:
            for e in ledger_rows(env, creator):
                day = e.occurred_at.astimezone(tz).date().isoformat()
                s = sums[(day, creator, e.source, e.gross.currency)]
                s[0] += e.gross.cents
                s[1] += e.net.cents
                s[2 if e.kind is EntryKind.EARNING else 3] += 1
        return [dict(zip(COLUMNS[Dataset.DAILY_REVENUE], (*k, *v), strict=True)) for k, v in sorted(sums.items())]

    expected = reference(sorted([x, y]), berlin)
    assert sorted(rows, key=lambda r: (r["day"], r["creator_id"], r["source"])) == expected
    assert parse_json(as_json.text) == rows
    assert wide.status_code == 200
    assert parse_csv(wide.text)[1] == rows
    assert sorted(parse_json(utc.text), key=lambda r: (r["day"], r["source"])) == reference([x], ZoneInfo("UTC"))
    # the days are Berlin's, on each side of its DST change: 22:00 UTC on the 29th is already the 30th (CEST), which
    # one offset for the whole range (CET) would put on the 29th
    assert expected != reference(sorted([x, y]), ZoneInfo("UTC"))
    assert expected != reference(sorted([x, y]), ZoneInfo("Etc/GMT-1"))
    assert "2026-03-30" in {r["day"] for r in rows}


def test_stats_history_is_the_stored_events(env: Env) -> None:
    t, a, x, _y, b, z = _world(env)
    events = [
        StatsEvent("subscribers", EventKind.APPLIED, T0, "insights", None, 10),
        StatsEvent("subscribers", EventKind.CLIFF_HELD, T0 + timedelta(hours=1), "insights", 10, 0, "held"),
        StatsEvent("followers", EventKind.MARKED_STALE, T0 + timedelta(hours=2), "=cmd|' /C calc'!A0", 5, 5),
    ]
    store_events(env, x, events, T0 + timedelta(hours=3))
    store_events(env, z, events[:1], T0 + timedelta(hours=3))
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        everything = c.get("/api/exports/stats-history?format=json", headers=owner.headers())
        subscribers = c.get(
            "/api/exports/stats-history",
            params={"metric": "subscribers", "from": (T0 + timedelta(minutes=30)).isoformat()},
            headers=owner.headers(),
        )
        as_csv = c.get("/api/exports/stats-history", headers=owner.headers())
    assert everything.status_code == 200
    rows = parse_json(everything.text)
    stored = stored_events(env, x)
    assert [
        (r["metric"], r["kind"], r["at"], r["source"], r["old_value"], r["new_value"], r["detail"]) for r in rows
    ] == [(e.metric, e.kind.value, e.at, e.source, e.old_value, e.new_value, e.detail) for e in stored]
    assert {r["creator_id"] for r in rows} == {x}
    assert all(r["recorded_at"] == T0 + timedelta(hours=3) for r in rows)
    _, filtered = parse_csv(subscribers.text)
    assert [(r["metric"], r["kind"]) for r in filtered] == [("subscribers", "cliff_held")]
    _, csv_rows = parse_csv(as_csv.text)
    assert len(csv_rows) == len(rows)
    assert csv_rows[-1]["source"] == "'=cmd|' /C calc'!A0"  # neutralised in CSV, exact in JSON
    assert rows[-1]["source"] == "=cmd|' /C calc'!A0"
    assert leaks(everything.text, b) == []


def test_top_spenders_rank_as_the_core_does_and_formula_handles_are_neutralised(env: Env) -> None:
    t, a, x, y, _, _ = _world(env)
    hostile = {'=HYPERLINK("http://evil")': "@SUM(1+1)", "+1+1": "-2+3", "plain": "Plain Name"}
    spenders = [
        RankedSpender(rank, FanId(f"fan-{rank - 1}"), handle, name, Money(1, "USD"), Money(1, "USD"), 0, CreatorId(x))
        for rank, (handle, name) in enumerate(hostile.items(), start=1)
    ]
    store_spenders(env, x, spenders, T0)
    owner = t.session(a.owner_email)
    with client(env.app) as c:
        as_csv = c.get("/api/exports/top-spenders", params={"creator_id": x}, headers=owner.headers())
        as_json = c.get("/api/exports/top-spenders?format=json", headers=owner.headers())
        top1 = c.get("/api/exports/top-spenders?format=json&limit=1", headers=owner.headers())
    assert as_csv.status_code == 200, as_csv.text
    header, rows = parse_csv(as_csv.text)
    assert header == list(COLUMNS[Dataset.TOP_SPENDERS])
    everything = Period(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    reference = top_spenders(ledger_rows(env, x), everything, limit=None)
    assert [
        (r["rank"], r["fan_id"], r["gross_cents"], r["net_cents"], r["transactions"], r["reversals"], r["last_paid_at"])
        for r in rows
    ] == [
        (n, s.fan_id, s.gross.cents, s.net.cents, s.transaction_count, s.reversal_count, s.last_paid_at)
        for n, s in enumerate(reference, start=1)
    ]
    by_fan = {r["fan_id"]: r for r in rows}
    assert by_fan["fan-0"]["handle"] == '\'=HYPERLINK("http://evil")'
    assert by_fan["fan-0"]["display_name"] == "'@SUM(1+1)"
    assert by_fan["fan-1"]["handle"] == "'+1+1"
    assert by_fan["fan-1"]["display_name"] == "'-2+3"
    assert by_fan["fan-2"]["handle"] == "plain"
    for line in as_csv.text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "@"))
            assert not cell.lstrip('"').startswith("-2")
    json_rows = parse_json(as_json.text)
    assert {r["creator_id"] for r in json_rows} == {x, y}
    unneutralised = {"'" + text: text for pair in hostile.items() for text in pair}
    assert [r for r in json_rows if r["creator_id"] == x] == [
        {
            **r,
            "handle": unneutralised.get(r["handle"], r["handle"]),
            "display_name": unneutralised.get(r["display_name"], r["display_name"]),
        }
        for r in rows
    ]
    assert [(r["creator_id"], r["rank"]) for r in parse_json(top1.text)] == sorted([(x, 1), (y, 1)])


def test_a_scoped_manager_exports_only_her_creators_and_a_viewer_none(env: Env) -> None:
    t, a, x, y, _b, _z = _world(env)
    manager = t.session(t.member(a, Role.MANAGER, frozenset({x})))
    viewer = t.session(t.member(a, Role.VIEWER))
    before = len(export_audit(env, a.id))
    with client(env.app) as c:
        mine = c.get("/api/exports/ledger?format=json", headers=manager.headers())
        other = c.get("/api/exports/ledger", params={"creator_id": y}, headers=manager.headers())
        unknown = c.get("/api/exports/ledger", params={"creator_id": "no-such-creator"}, headers=manager.headers())
        refused = [
            c.get(f"/api/exports/{name}", headers=viewer.headers())
            for name in ("ledger", "daily-revenue", "stats-history", "top-spenders")
        ]
        # the guard answers before the filters are even read: 403, not 422
        refused.append(
            c.get(
                "/api/exports/ledger",
                params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                headers=viewer.headers(),
            )
        )
    assert mine.status_code == 200
    assert {r["creator_id"] for r in mine.json()} == {x}
    for response in (other, unknown):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert y not in response.text
    assert {k: v for k, v in other.json().items() if k != "request_id"} == {
        k: v for k, v in unknown.json().items() if k != "request_id"
    }
    for response in refused:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    assert len(export_audit(env, a.id)) == before + 1  # the manager's own export only


def test_another_agencys_creator_is_not_found_with_no_data(env: Env) -> None:
    t, a, x, _, b, _z = _world(env)
    with client(env.app) as c:
        responses = [
            c.get(
                f"/api/exports/{name}",
                params={"creator_id": x, "format": "json"},
                headers=t.session(b.owner_email).headers(),
            )
            for name in ("ledger", "daily-revenue", "stats-history", "top-spenders")
        ]
    for response in responses:
        assert response.status_code == 404
        assert leaks(response.text, a) == []
    assert export_audit(env, b.id) == []


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/exports/ledger", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, 422),
        ("/api/exports/ledger", {"from": "2026-03-01T00:00:00"}, 422),  # no UTC offset
        ("/api/exports/ledger", {"from": "yesterday"}, 400),
        ("/api/exports/ledger", {"format": "xml"}, 400),
        ("/api/exports/daily-revenue", {"tz": "Mars/Olympus_Mons"}, 422),
        ("/api/exports/top-spenders", {"limit": "0"}, 400),
        ("/api/exports/payroll", {}, 404),
        ("/api/exports/ledger.csv", {}, 404),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(env: Env, path: str, params: dict[str, str], status: int) -> None:
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        response = c.get(path, params=params, headers=t.session(a.owner_email).headers())
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert export_audit(env, a.id) == []


def test_each_export_is_audited_with_who_what_filters_and_rows(env: Env) -> None:
    t, a, x, _, _, _ = _world(env)
    manager_email = t.member(a, Role.MANAGER)
    start = T0 + timedelta(hours=1)
    with client(env.app) as c:
        response = c.get(
            "/api/exports/daily-revenue",
            params={"creator_id": x, "from": start.isoformat(), "tz": "Europe/Berlin", "format": "json"},
            headers=t.session(manager_email).headers(),
        )
    assert response.status_code == 200
    [entry] = export_audit(env, a.id)
    assert entry.target == "daily-revenue"
    assert entry.details == {
        "dataset": "daily-revenue",
        "format": "json",
        "rows": str(len(response.json())),
        "creator_id": x,
        "from": start.isoformat(),
        "tz": "Europe/Berlin",
    }
    assert entry.actor is not None
    assert entry.actor != a.owner_id
    assert entry.at == env.clock.now()


@pytest.mark.parametrize(
    "query",
    [
        "/api/exports/ledger?creator_id=a%00b",
        "/api/exports/daily-revenue?tz=Europe/Ber%00lin",
        "/api/exports/stats-history?metric=sub%00scribers",
    ],
    ids=["creator_id", "tz", "metric"],
)
def test_nul_in_a_text_filter_is_a_400_not_a_server_error(env: Env, query: str) -> None:
    """PostgreSQL refuses NUL in a string: W2 met a 500 with a NUL creator_id."""
    t = Tenancy(env)
    a = t.agency("Alpha")
    with client(env.app) as c:
        answer = c.get(query, headers=t.session(a.owner_email).headers())
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
