"""The earnings ledger in domain terms: one entry per payment or reversal, with a stable key.

Amounts are signed: an earning is >= 0, a refund or chargeback is <= 0, so sums are net of reversals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.ids import CreatorId, FanId
from onyx_core.money import Money
from onyx_core.timeutil import require_utc


class EntryKind(StrEnum):
    """Whether a ledger entry is a payment or reverses one."""

    EARNING = "earning"
    REFUND = "refund"
    CHARGEBACK = "chargeback"


class Source:
    """Fanvue's earning sources, as plain strings: Fanvue adds values, so the set is open.

    A reversal (refund, chargeback) carries the source ``refund`` / ``chargeback`` as Fanvue reports it.
    """

    AFFILIATE = "affiliate"
    APP_STORE = "appStore"
    CHECKOUT_LINK = "checkoutLink"
    GIVEAWAY = "giveaway"
    MEDIA_LINK = "mediaLink"
    MESSAGE = "message"
    POST = "post"
    REFERRAL = "referral"
    RENEWAL = "renewal"
    SUBSCRIPTION = "subscription"
    TIP = "tip"
    REFUND = "refund"
    CHARGEBACK = "chargeback"

    SUBSCRIPTION_LIKE = frozenset({SUBSCRIPTION, RENEWAL})
    """What the golden ratio's denominator counts as subscription revenue."""
    ENGAGEMENT = frozenset({MESSAGE, POST, TIP})
    """What the golden ratio's numerator counts: messages, pay-to-view posts (PPV) and tips."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One row of a creator's ledger.

    ``key`` is unique per creator (see :func:`ledger_key`); ``gross`` is what the fan paid, ``net`` the
    creator's cut, both in the same currency (Fanvue converts insights money to USD cents).
    """

    creator_id: CreatorId
    key: str
    occurred_at: datetime
    source: str
    gross: Money
    net: Money
    kind: EntryKind = EntryKind.EARNING
    fan_id: FanId | None = None
    reference: str | None = field(default=None)
    """The message or post uuid the payment was for, when Fanvue says."""
    original_currency: str | None = None
    """The currency the fan paid in; informational only (amounts are already converted)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "occurred_at", require_utc(self.occurred_at, "LedgerEntry.occurred_at"))
        if self.gross.currency != self.net.currency:
            raise DomainValueError("gross and net must be in the same currency")
        if not self.key:
            raise DomainValueError("a ledger entry needs a key")
        if self.kind is EntryKind.EARNING:
            if self.gross.cents < 0 or self.net.cents < 0:
                raise DomainValueError("an earning has non-negative amounts; reversals are separate entries")
        elif self.gross.cents > 0 or self.net.cents > 0:
            raise DomainValueError(f"a {self.kind.value} has non-positive amounts")

    @property
    def is_reversal(self) -> bool:
        return self.kind is not EntryKind.EARNING


def ledger_key(
    *,
    kind: EntryKind,
    transaction_order_id: str | None,
    occurred_at: datetime,
    source: str,
    gross_cents: int,
    net_cents: int,
    fan_id: str | None,
    reference: str | None,
) -> str:
    """A stable key for a Fanvue earnings or spending row.

    Fanvue rows have no transaction id. Where ``transactionOrderId`` is present it identifies the order, so the
    key is ``kind:order``. Otherwise the key is a hash of every field Fanvue returns for the row (time to the
    microsecond, source, amounts, fan, message/post); two rows equal in all of these are indistinguishable in
    the API too, and collapse into one entry.
    """
    if transaction_order_id:
        return f"{kind.value}:{transaction_order_id}"
    parts = (
        kind.value,
        require_utc(occurred_at, "occurred_at").isoformat(),
        source,
        str(gross_cents),
        str(net_cents),
        fan_id or "",
        reference or "",
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"{kind.value}:h:{digest}"
