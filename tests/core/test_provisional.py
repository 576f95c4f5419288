"""onyx_core.provisional: which polled ledger entry settles which webhook's provisional entry (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onyx_core.ids import CreatorId, FanId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.money import Money
from onyx_core.provisional import SETTLE_WINDOW, confirms, is_provisional, provisional_key, settlements

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CREATOR = CreatorId("creator-1")


def webhook(
    gross: int = 500, at: datetime = AT, source: str = "tip", fan: str = "fan-1", reference: str | None = None
) -> LedgerEntry:
    key = provisional_key(
        event_type="tip.new", creator_id=CREATOR, occurred_at=at, source=source, gross_cents=gross,
        currency="USD", fan_id=fan, reference=reference,
    )  # fmt: skip
    return LedgerEntry(CREATOR, key, at, source, Money(gross), Money(0), fan_id=FanId(fan), reference=reference)


def polled(
    order: str,
    gross: int = 500,
    at: datetime = AT,
    source: str = "tip",
    fan: str = "fan-1",
    reference: str | None = None,
) -> LedgerEntry:
    return LedgerEntry(
        CREATOR, f"earning:{order}", at, source, Money(gross), Money(gross * 8 // 10), fan_id=FanId(fan),
        reference=reference,
    )  # fmt: skip


def test_a_polled_row_confirms_the_webhook_of_the_same_payment_only() -> None:
    w = webhook()
    assert is_provisional(w)
    assert not is_provisional(polled("1"))
    assert confirms(polled("1", at=AT + timedelta(seconds=2)), w)
    assert confirms(polled("1", at=AT + SETTLE_WINDOW), w)
    assert not confirms(polled("1", at=AT + SETTLE_WINDOW + timedelta(seconds=1)), w)
    assert not confirms(polled("1", gross=501), w)
    assert not confirms(polled("1", source="post"), w)
    assert not confirms(polled("1", fan="fan-2"), w)
    assert not confirms(w, w)  # a provisional entry never settles another
    refund = LedgerEntry(CREATOR, "refund:1", AT, "refund", Money(-500), Money(-400), kind=EntryKind.REFUND)
    assert not confirms(refund, w)


def test_the_same_delivery_has_the_same_key_and_another_payment_another() -> None:
    assert webhook().key == webhook().key
    assert webhook().key != webhook(at=AT + timedelta(seconds=1)).key


def test_two_equal_payments_settle_one_each_and_the_nearest_first() -> None:
    early, late = webhook(at=AT), webhook(at=AT + timedelta(minutes=5))
    first, second = polled("1", at=AT + timedelta(seconds=3)), polled("2", at=AT + timedelta(minutes=5, seconds=3))
    pairs = settlements([late, early], [second, first])
    assert {(w.key, p.key) for w, p in pairs} == {(early.key, first.key), (late.key, second.key)}


def test_the_same_reference_wins_and_a_claimed_row_is_never_used() -> None:
    w = webhook(reference="post-2")
    near_other, far_same = (
        polled("1", reference="post-1"),
        polled("2", at=AT + timedelta(minutes=9), reference="post-2"),
    )
    assert [(a.key, b.key) for a, b in settlements([w], [near_other, far_same])] == [(w.key, far_same.key)]
    claimed = frozenset({(CREATOR, far_same.key)})
    assert [(a.key, b.key) for a, b in settlements([w], [near_other, far_same], claimed)] == [(w.key, near_other.key)]


minutes = st.integers(min_value=0, max_value=180)
amounts = st.sampled_from([500, 999])


@given(
    st.lists(st.tuples(minutes, amounts), max_size=6),
    st.lists(st.tuples(minutes, amounts), max_size=6),
    st.randoms(use_true_random=False),
)
def test_settlements_pair_each_entry_at_most_once_whatever_the_order(
    hooks: list[tuple[int, int]], polls: list[tuple[int, int]], rnd: object
) -> None:
    ws = list({w.key: w for w in (webhook(g, AT + timedelta(minutes=m)) for m, g in hooks)}.values())
    ps = [polled(str(i), g, AT + timedelta(minutes=m)) for i, (m, g) in enumerate(polls)]
    pairs = settlements(ws, ps)
    assert len({w.key for w, _ in pairs}) == len(pairs) == len({p.key for _, p in pairs})
    assert all(confirms(p, w) for w, p in pairs)
    shuffled_ws, shuffled_ps = ws[:], ps[:]
    rnd.shuffle(shuffled_ws)  # type: ignore[attr-defined]
    rnd.shuffle(shuffled_ps)  # type: ignore[attr-defined]
    assert {(w.key, p.key) for w, p in settlements(shuffled_ws, shuffled_ps)} == {(w.key, p.key) for w, p in pairs}
    # maximal: no unpaired webhook is left with an unpaired polled row that confirms it
    free_ps = [p for p in ps if p.key not in {q.key for _, q in pairs}]
    free_ws = [w for w in ws if w.key not in {v.key for v, _ in pairs}]
    assert not any(confirms(p, w) for w in free_ws for p in free_ps)
