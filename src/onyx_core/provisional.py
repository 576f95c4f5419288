"""Provisional ledger entries: payments a webhook announced before polling read them.

A Fanvue webhook (``tip.new``, ``purchase.new``, ``subscription.new``) says who paid how much, for what and when,
but carries neither the ``transactionOrderId`` nor the creator's net: it cannot compute the key polling gives the
same payment (:func:`~onyx_core.ledger.ledger_key`). So a webhook's payment enters the ledger as a *provisional*
entry, keyed ``webhook:<hash of the delivery>`` with the net at 0 (never more than the creator got), and the
polled row of the same payment *settles* it: the provisional entry is removed in the same transaction that
inserts the polled one, so one payment is one row at every moment.

:func:`settlements` decides which polled entry confirms which provisional one: same creator, kind (an earning),
source, gross, currency and fan, at most :data:`SETTLE_WINDOW` apart; among several candidates the one with the
same message/post reference, then the nearest in time, then the smallest key. Each entry settles at most one of
the other side, so two equal tips of one fan stay two rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from onyx_core.ids import CreatorId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.timeutil import require_utc

__all__ = ["PROVISIONAL_PREFIX", "SETTLE_WINDOW", "confirms", "is_provisional", "provisional_key", "settlements"]

PROVISIONAL_PREFIX = "webhook:"
"""The key prefix of a provisional entry; polled keys start with the entry kind (``earning:`` ...)."""

SETTLE_WINDOW = timedelta(hours=1)
"""How far apart a webhook's timestamp and the polled row's date may be. Wide on purpose: only equal payments
(same fan, source and amount) can be confused within it, and confusing two of those changes no total."""


def is_provisional(entry: LedgerEntry) -> bool:
    return entry.key.startswith(PROVISIONAL_PREFIX)


def provisional_key(
    *,
    event_type: str,
    creator_id: CreatorId,
    occurred_at: datetime,
    source: str,
    gross_cents: int,
    currency: str,
    fan_id: str | None,
    reference: str | None,
) -> str:
    """The key of a webhook's payment: a hash of everything the delivery says about it, so a redelivery of the
    same payment (same body) gets the same key and is stored once."""
    parts = (
        event_type,
        creator_id,
        require_utc(occurred_at, "occurred_at").isoformat(),
        source,
        str(gross_cents),
        currency,
        fan_id or "",
        reference or "",
    )
    return PROVISIONAL_PREFIX + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def confirms(polled: LedgerEntry, provisional: LedgerEntry) -> bool:
    """Whether ``polled`` may be the row polling reads for the payment ``provisional`` announced."""
    return (
        is_provisional(provisional)
        and not is_provisional(polled)
        and polled.creator_id == provisional.creator_id
        and polled.kind is EntryKind.EARNING
        and provisional.kind is EntryKind.EARNING
        and polled.source == provisional.source
        and polled.gross == provisional.gross
        and polled.fan_id == provisional.fan_id
        and abs(polled.occurred_at - provisional.occurred_at) <= SETTLE_WINDOW
    )


def _rank(polled: LedgerEntry, provisional: LedgerEntry) -> tuple[bool, timedelta, str, str, str]:
    differs = None not in (polled.reference, provisional.reference) and polled.reference != provisional.reference
    delta = abs(polled.occurred_at - provisional.occurred_at)
    return differs, delta, polled.creator_id, provisional.key, polled.key


def settlements(
    provisional: Iterable[LedgerEntry],
    polled: Sequence[LedgerEntry],
    claimed: frozenset[tuple[str, str]] = frozenset(),
) -> list[tuple[LedgerEntry, LedgerEntry]]:
    """Pairs ``(provisional entry, polled entry that settles it)``: each side used at most once, a polled entry
    whose ``(creator_id, key)`` is in ``claimed`` (it already stands for an earlier webhook) never. The best
    pairs first (see the module), so the answer does not depend on the order of either input."""
    candidates = sorted(
        (
            (_rank(p, w), w, p)
            for w in provisional
            for p in polled
            if (p.creator_id, p.key) not in claimed and confirms(p, w)
        ),
        key=lambda candidate: candidate[0],
    )
    pairs: list[tuple[LedgerEntry, LedgerEntry]] = []
    used_provisional: set[tuple[str, str]] = set()
    used_polled: set[tuple[str, str]] = set()
    for _, webhook, poll in candidates:
        w, p = (webhook.creator_id, webhook.key), (poll.creator_id, poll.key)
        if w in used_provisional or p in used_polled:
            continue
        used_provisional.add(w)
        used_polled.add(p)
        pairs.append((webhook, poll))
    return pairs
