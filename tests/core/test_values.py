"""Money, instants, ledger entries and keys, catalog values and sync cursors: the small values everything uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onyx_core.catalog import Creator, CreatorProfile, RankedSpender, TrackingLink
from onyx_core.errors import CurrencyMismatchError, DomainValueError, NaiveDatetimeError
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source, ledger_key
from onyx_core.money import Money
from onyx_core.sync import Stream, SyncCursor, SyncPolicy
from onyx_core.timeutil import optional_utc, require_utc

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ Money


def test_money_is_integer_cents_with_a_currency():
    assert Money(1999) + Money(1) == Money(2000, "USD")
    assert Money(500, "EUR") - Money(200, "EUR") == Money(300, "EUR")
    assert -Money(5) == Money(-5)
    assert abs(Money(-5)) == Money(5)
    assert Money(250) * 3 == 3 * Money(250) == Money(750)
    assert str(Money(123456)) == "1234.56 USD"
    assert str(Money(-5)) == "-0.05 USD"
    assert Money.total([Money(1), Money(2)]) == Money(3)
    assert Money.total([], "EUR") == Money.zero("EUR")
    assert not Money(0)
    assert Money(1) < Money(2) <= Money(2) < Money(3)
    assert Money(3) > Money(2) >= Money(2)


@pytest.mark.parametrize("bad", [1.5, True, "100", None])
def test_money_refuses_anything_but_an_int(bad):
    with pytest.raises(DomainValueError):
        Money(bad)


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "", "U$D"])
def test_money_needs_an_iso_currency(currency):
    with pytest.raises(DomainValueError):
        Money(1, currency)


def test_money_refuses_mixed_currencies_everywhere():
    usd, eur = Money(1, "USD"), Money(1, "EUR")
    for operation in (lambda: usd + eur, lambda: usd - eur, lambda: usd < eur, lambda: usd >= eur):
        with pytest.raises(CurrencyMismatchError):
            operation()
    with pytest.raises(CurrencyMismatchError):
        Money.total([usd, eur])
    with pytest.raises(DomainValueError):
        Money(1) * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1) + 1  # type: ignore[operator]


@given(st.lists(st.integers(-(10**12), 10**12), max_size=30))
def test_money_sums_exactly(cents):
    assert Money.total(Money(c) for c in cents).cents == sum(cents)


# ------------------------------------------------------------------------------------------ instants


def test_naive_datetimes_are_refused_and_aware_ones_converted_to_utc():
    with pytest.raises(NaiveDatetimeError, match="naive"):
        require_utc(datetime(2026, 1, 1), "start")
    plus_two = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert require_utc(plus_two) == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert require_utc(plus_two).tzinfo is UTC
    assert optional_utc(None) is None
    with pytest.raises(TypeError):
        require_utc("2026-01-01")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ ledger


def key(**changes):
    fields = {
        "kind": EntryKind.EARNING,
        "transaction_order_id": None,
        "occurred_at": T0,
        "source": Source.TIP,
        "gross_cents": 1000,
        "net_cents": 800,
        "fan_id": "fan-1",
        "reference": None,
    }
    fields.update(changes)
    return ledger_key(**fields)


def test_ledger_keys_prefer_the_order_id_and_otherwise_hash_every_field():
    assert key(transaction_order_id="FV-ORDER-1") == "earning:FV-ORDER-1"
    assert key(transaction_order_id="FV-ORDER-1", kind=EntryKind.REFUND) == "refund:FV-ORDER-1"
    assert key() == key()
    assert key(occurred_at=T0.astimezone(timezone(timedelta(hours=5)))) == key(), "same instant, same key"
    variants = [
        key(occurred_at=T0 + timedelta(microseconds=1)),
        key(source=Source.MESSAGE),
        key(gross_cents=1001),
        key(net_cents=801),
        key(fan_id="fan-2"),
        key(fan_id=None),
        key(reference="post-1"),
        key(kind=EntryKind.REFUND),
    ]
    assert len({key(), *variants}) == len(variants) + 1


def test_ledger_entries_check_their_signs_and_currencies():
    ok = LedgerEntry(CreatorId("c"), "k", T0, Source.TIP, Money(1000), Money(800), fan_id=FanId("f"))
    assert not ok.is_reversal
    refund = LedgerEntry(CreatorId("c"), "r", T0, Source.REFUND, Money(-1000), Money(-800), EntryKind.REFUND)
    assert refund.is_reversal
    with pytest.raises(DomainValueError):
        LedgerEntry(CreatorId("c"), "k", T0, Source.TIP, Money(-1), Money(0))
    with pytest.raises(DomainValueError):
        LedgerEntry(CreatorId("c"), "k", T0, Source.REFUND, Money(5), Money(5), EntryKind.CHARGEBACK)
    with pytest.raises(DomainValueError):
        LedgerEntry(CreatorId("c"), "k", T0, Source.TIP, Money(1, "EUR"), Money(1))
    with pytest.raises(DomainValueError):
        LedgerEntry(CreatorId("c"), "", T0, Source.TIP, Money(1), Money(1))
    with pytest.raises(NaiveDatetimeError):
        LedgerEntry(CreatorId("c"), "k", datetime(2026, 1, 1), Source.TIP, Money(1), Money(1))


# ------------------------------------------------------------------------------------------ catalog


def test_creators_come_from_fanvue_profiles():
    profile = CreatorProfile("uuid-1", "luna", "Luna")
    creator = Creator.from_profile(profile, AgencyId("a"), T0)
    assert (creator.id, creator.agency_id, creator.handle) == ("uuid-1", "a", "luna")
    assert creator.same_profile(profile)
    assert not creator.same_profile(CreatorProfile("uuid-1", "luna2", "Luna"))
    with pytest.raises(DomainValueError):
        CreatorProfile("", "x", "y")


def test_catalog_values_are_validated():
    with pytest.raises(DomainValueError):
        TrackingLink(TrackingLinkId("l"), CreatorId("c"), "n", "u", "tiktok", T0, -1, 0, 0)
    with pytest.raises(DomainValueError):
        RankedSpender(0, FanId("f"), "h", "d", Money(1), Money(1), 0)
    link = TrackingLink(TrackingLinkId("l"), CreatorId("c"), "n", "u", "tiktok", T0, 3, 1, 1)
    assert link.earnings_gross is None, "a link that never earned has no earnings, not $0"


# ------------------------------------------------------------------------------------------ sync cursors


def test_a_cursor_moves_through_a_run_and_completes_at_the_window_end():
    cursor = SyncCursor(CreatorId("c"), Stream.EARNINGS)
    assert not cursor.in_progress
    started = cursor.started(T0 - timedelta(days=7), T0, T0)
    assert started.in_progress
    advanced = started.advanced("abc", T0)
    assert advanced.page_cursor == "abc"
    done = advanced.completed(T0 + timedelta(minutes=1), saw_data=True)
    assert (done.synced_through, done.backfilled, done.in_progress, done.page_cursor) == (T0, True, False, None)
    assert not started.completed(T0, saw_data=False).backfilled, "an empty first run is not a backfill"
    assert done.started(T0, T0, T0).completed(T0, saw_data=False).backfilled, "once backfilled, always"
    with pytest.raises(DomainValueError):
        cursor.completed(T0, saw_data=True)
    with pytest.raises(DomainValueError):
        SyncCursor(CreatorId("c"), Stream.EARNINGS, window_start=T0)


def test_sync_policy_is_validated():
    assert SyncPolicy().lookback == timedelta(days=7)
    with pytest.raises(DomainValueError):
        SyncPolicy(concurrency=0)
    with pytest.raises(DomainValueError):
        SyncPolicy(lookback=timedelta(days=-1))
    with pytest.raises(NaiveDatetimeError):
        SyncPolicy(backfill_from=datetime(2020, 1, 1))
    with pytest.raises(DomainValueError):
        SyncPolicy(batch_rows=0)
    with pytest.raises(DomainValueError):
        SyncPolicy(batch_time=timedelta(seconds=-1))


def test_a_ledger_batch_is_due_by_rows_or_by_time():
    policy = SyncPolicy(batch_rows=2_000, batch_time=timedelta(seconds=2))
    assert (policy.batch_rows, policy.batch_time) == (2_000, timedelta(seconds=2))  # the documented defaults
    assert not policy.batch_due(1_999, T0, T0 + timedelta(seconds=1.999))
    assert policy.batch_due(2_000, T0, T0)
    assert policy.batch_due(50, T0, T0 + timedelta(seconds=2))
    every_page = SyncPolicy(batch_rows=1)
    assert every_page.batch_due(1, T0, T0)
    assert every_page.batch_due(0, T0, T0 + timedelta(seconds=2))
    assert SyncPolicy(batch_time=timedelta(0)).batch_due(0, T0, T0)
