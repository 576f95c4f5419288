"""The sync engine end to end: sandbox + OAuth + gateway + core use cases + SQLite (``run_sandbox_demo``)."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onyx_adapters.cli.sandbox_demo import DEMO_AGENCY, OWN_CONNECTIONS, demo_spec, run_sandbox_demo, sqlite_url
from onyx_core.usecases.chatters import LOOKBACK_CHATTER_DAYS
from onyx_fanvue.sandbox.world import World, build_world

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SEED = 1


def _row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}  # noqa: S608


def _ledger(path: Path) -> dict[str, tuple[int, int]]:
    """Per creator: (net sum, number of reversal rows) as stored."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT creator_id, sum(net_cents), sum(kind != 'earning') FROM ledger_entries GROUP BY creator_id"
        ).fetchall()
    return {creator: (net, reversals) for creator, net, reversals in rows}


def _unlocks(path: Path) -> tuple[int, int]:
    """The demo agency's stored chatter days: (PPVs unlocked, PPVs sent)."""
    with sqlite3.connect(path) as db:
        unlocked, sent = db.execute(
            "SELECT sum(ppvs_unlocked), sum(ppvs_sent) FROM chatter_days WHERE agency_id = ?", (DEMO_AGENCY,)
        ).fetchone()
    return unlocked, sent


def _world_unlocks(world: World) -> tuple[int, int]:
    """The truth: the PPVs team members sent in the look-back's whole UTC days (the leaderboard lags a day)."""
    today = NOW.replace(hour=0)
    start = today - timedelta(days=LOOKBACK_CHATTER_DAYS - 1)
    members = {m.uuid for m in world.members()}
    sent = [
        m
        for chats in world.chats.values()
        for chat in chats
        for m in chat.messages
        if m.sent_by_user_id in members and m.price is not None and start <= m.sent_at < today
    ]
    return sum(m.purchased_at is not None for m in sent), len(sent)


async def _run(url: str) -> str:
    out = io.StringIO()
    assert await run_sandbox_demo(out, database_url=url, seed=SEED, now=NOW) == 0
    return out.getvalue()


async def test_the_sandbox_agency_syncs_into_sqlite_idempotently_with_tokens_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "onyx.sqlite3"
    url = sqlite_url(path)
    world = build_world(demo_spec(SEED), NOW)

    first = await _run(url)
    assert "Traceback" not in first
    assert "imported 3 creators (3 new" in first
    table = first.split("stored stats at", 1)[1]
    for creator in world.creators:
        assert creator.person.handle in table, f"{creator.person.handle} missing from the summary table"
    agency_only = world.creators[OWN_CONNECTIONS:]
    for creator in agency_only:
        assert f"{creator.person.handle} posts: permission" in table, "a value the agency cannot read is explained"

    until = NOW.replace(microsecond=1)  # everything Fanvue shows at NOW

    def truth(uuid: str) -> tuple[int, int]:
        earned = sum(row.net for row in world.iter_earnings(uuid, end=until))
        reversals = list(world.iter_reversals(uuid, end=until))
        return earned - sum(row.net for row in reversals), len(reversals)

    # Creators with their own connection: earnings and refunds, to the cent. The agency-only creator: earnings
    # (its refunds are on its own /insights/spending, which the agency's grant cannot read).
    stored = _ledger(path)
    assert set(stored) == {c.uuid for c in world.creators}
    for creator in world.creators[:OWN_CONNECTIONS]:
        assert stored[creator.uuid] == truth(creator.uuid)
    for creator in agency_only:
        assert stored[creator.uuid] == (sum(row.net for row in world.iter_earnings(creator.uuid, end=until)), 0)
        assert f"{creator.person.handle}: complete; ledger earnings" in first
        assert "unavailable: ledger:reversals (permission)" in first
    # the first sync reconciles every creator's earnings with Fanvue's daily totals and says so
    assert first.count("days agree with Fanvue") == len(world.creators), first

    # Stored revenue is Fanvue's lifetime total (refunds taken off): the reconciled ledger net.
    with sqlite3.connect(path) as db:
        revenue = dict(db.execute("SELECT creator_id, value FROM creator_stats WHERE metric = 'revenue_total'"))
    for creator in world.creators:
        assert revenue[creator.uuid] == truth(creator.uuid)[0]

    # the PPV unlock rate's source: the chatter leaderboard's days, as the sandbox counts them
    unlocked, sent = _unlocks(path)
    assert sent > 0, "the demo must leave unlock data in the database"
    assert (unlocked, sent) == _world_unlocks(world)
    assert "chatter leaderboard (PPV unlock rate):" in first

    counts = _row_counts(path)
    assert counts["connections"] == 1 + OWN_CONNECTIONS
    assert counts["creators"] == 3

    second = await _run(url)
    assert "imported 3 creators (0 new, 0 updated, 3 unchanged)" in second
    assert "ledger earnings +0, reversals +0" in second
    assert _row_counts(path) == counts, "a re-run on the same database adds no rows"
    assert _ledger(path) == stored

    with sqlite3.connect(path) as db:
        tokens = [t for (t,) in db.execute("SELECT tokens FROM connections")]
    assert all(tokens), "every connection's tokens are stored"
    for file in tmp_path.iterdir():  # the database, and any WAL or journal left beside it
        data = file.read_bytes()
        assert b"ory_at_" not in data, f"an access token in clear in {file.name}"
        assert b"ory_rt_" not in data, f"a refresh token in clear in {file.name}"
