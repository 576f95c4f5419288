"""Webhook storage: each agency's signing secret (encrypted with the Cipher) and the payments webhooks announced.

A payment a webhook announces is a provisional ledger entry (:mod:`onyx_core.provisional`) plus a row of
``webhook_payments`` that remembers the delivery and which ledger row stands for it. Polling's row of the same
payment settles the provisional entry (:func:`settle_provisional`, called by the ledger's upsert): the provisional
row goes, the delivery's row then points at the polled one, and a redelivery still finds it and adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from onyx_adapters.sql.repositories._base import Transaction, chunks, insert
from onyx_adapters.sql.schema import ledger_entries, webhook_payments, webhook_secrets
from onyx_core.errors import InvalidCiphertextError
from onyx_core.ids import AgencyId
from onyx_core.ledger import EntryKind, LedgerEntry
from onyx_core.ports import Cipher
from onyx_core.provisional import PROVISIONAL_PREFIX, SETTLE_WINDOW, is_provisional, settlements

__all__ = ["SqlWebhookPayments", "SqlWebhookSecrets", "StoredSecret", "WebhookOutcome", "settle_provisional"]

_L = ledger_entries.c
_P = webhook_payments.c


class WebhookOutcome(StrEnum):
    """What a payment's delivery did to the ledger."""

    RECORDED = "recorded"
    """A provisional entry was added (polling has not read the payment yet)."""
    DUPLICATE = "duplicate"
    """This payment was delivered before: nothing changed."""
    ALREADY_POLLED = "already_polled"
    """Polling had already stored the payment: the delivery is noted against that row, the ledger is unchanged."""


@dataclass(frozen=True, slots=True)
class StoredSecret:
    secret: str | None
    """``None`` when no key of the configured ring decrypts it (the key it was stored with was dropped)."""
    set_at: datetime

    def __repr__(self) -> str:
        return f"StoredSecret(secret=<hidden>, set_at={self.set_at!r})"


class SqlWebhookSecrets:
    """The agencies' webhook signing secrets, encrypted at rest."""

    def __init__(self, tx: Transaction, cipher: Cipher) -> None:
        self._tx = tx
        self._cipher = cipher

    async def get(self, agency_id: AgencyId) -> StoredSecret | None:
        conn = await self._tx.reader()
        row = (
            await conn.execute(select(webhook_secrets).where(webhook_secrets.c.agency_id == agency_id))
        ).one_or_none()
        if row is None:
            return None
        try:
            secret: str | None = self._cipher.decrypt(row.secret).decode()
        except InvalidCiphertextError:
            secret = None
        return StoredSecret(secret, row.set_at)

    async def set(self, agency_id: AgencyId, secret: str, at: datetime) -> None:
        values = {"agency_id": agency_id, "secret": self._cipher.encrypt(secret.encode()), "set_at": at}
        stmt = insert(self._tx.dialect, webhook_secrets).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["agency_id"], set_={"secret": stmt.excluded.secret, "set_at": stmt.excluded.set_at}
        )
        await (await self._tx.writer()).execute(stmt)


def _earning_rows(entry: LedgerEntry, *, provisional: bool) -> Select[Any]:
    """Ledger rows that could be the other side of ``entry`` (same creator, source, amount, within the window)."""
    key_filter = _L.key.like(f"{PROVISIONAL_PREFIX}%")
    return select(ledger_entries).where(
        _L.creator_id == entry.creator_id,
        _L.kind == EntryKind.EARNING.value,
        _L.source == entry.source,
        _L.gross_cents == entry.gross.cents,
        _L.currency == entry.gross.currency,
        _L.occurred_at >= entry.occurred_at - SETTLE_WINDOW,
        _L.occurred_at <= entry.occurred_at + SETTLE_WINDOW,
        key_filter if provisional else ~key_filter,
    )


def _lock_key(creator_id: str) -> int:
    digest = hashlib.sha256(b"onyx-webhook-settle:" + creator_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _serialize(conn: AsyncConnection, dialect: str, creators: Sequence[str]) -> None:
    """Hold the creators' settle locks until the transaction ends, so that a delivery and a poll of the same
    payment never both miss the other (each reads what the other committed). PostgreSQL: a transaction-scoped
    advisory lock per creator, in sorted order (no deadlock). SQLite: the writer already holds the database's
    write lock, which serializes them."""
    if dialect != "postgresql":
        return
    for creator_id in sorted(set(creators)):
        await conn.execute(select(func.pg_advisory_xact_lock(_lock_key(creator_id))))


class SqlWebhookPayments:
    """The payments webhooks announced, and their provisional ledger entries."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def record(self, entry: LedgerEntry, event_type: str, at: datetime) -> WebhookOutcome:
        """Store a webhook's payment ``entry`` (provisional): once per delivery, and only if polling has not
        stored it already. One transaction: the caller commits."""
        from onyx_adapters.sql.repositories.ledger import SqlLedgerRepository, _entry  # noqa: PLC0415 - a cycle

        if not is_provisional(entry):
            raise ValueError("a webhook's payment is a provisional entry")
        conn = await self._tx.writer()
        await _serialize(conn, self._tx.dialect, [entry.creator_id])
        row = {
            "creator_id": entry.creator_id,
            "delivery_key": entry.key,
            "event_type": event_type,
            "ledger_key": entry.key,
            "received_at": at,
        }
        # the delivery's row first: of two concurrent deliveries of one payment, exactly one goes on
        fresh = insert(self._tx.dialect, webhook_payments).values(row).on_conflict_do_nothing()
        if not (await conn.execute(fresh.returning(_P.delivery_key))).all():
            return WebhookOutcome.DUPLICATE
        polled = [_entry(r) for r in await conn.execute(_earning_rows(entry, provisional=False))]
        if polled:
            keys = [p.key for p in polled]
            taken = select(_P.ledger_key).where(_P.creator_id == entry.creator_id, _P.ledger_key.in_(keys))
            claimed = frozenset((entry.creator_id, key) for (key,) in await conn.execute(taken))
            pairs = settlements([entry], polled, claimed)
            if pairs:
                stands_for = pairs[0][1].key
                await conn.execute(
                    update(webhook_payments)
                    .where(_P.creator_id == entry.creator_id, _P.delivery_key == entry.key)
                    .values(ledger_key=stands_for)
                )
                return WebhookOutcome.ALREADY_POLLED
        await SqlLedgerRepository(self._tx).upsert([entry])
        return WebhookOutcome.RECORDED


async def settle_provisional(tx: Transaction, inserted: Sequence[LedgerEntry]) -> int:
    """Remove the provisional entries that the newly ``inserted`` polled entries confirm, and point their
    deliveries at the polled rows; returns how many were settled. Costs one probe of ``webhook_payments`` when no
    webhook ever announced a payment of these creators."""
    from onyx_adapters.sql.repositories.ledger import _entry  # noqa: PLC0415 - a cycle

    polled = [e for e in inserted if e.kind is EntryKind.EARNING and not is_provisional(e)]
    if not polled:
        return 0
    conn = await tx.writer()
    creators = sorted({e.creator_id for e in polled})
    await _serialize(conn, tx.dialect, creators)
    if not (await conn.execute(select(exists().where(_P.creator_id.in_(creators))))).scalar():
        return 0
    start = min(e.occurred_at for e in polled) - SETTLE_WINDOW
    end = max(e.occurred_at for e in polled) + SETTLE_WINDOW
    query = select(ledger_entries).where(
        _L.creator_id.in_(creators),
        _L.key.like(f"{PROVISIONAL_PREFIX}%"),
        _L.occurred_at >= start,
        _L.occurred_at <= end,
    )
    provisional = [_entry(r) for r in await conn.execute(query)]
    if not provisional:
        return 0
    pairs = settlements(provisional, polled)
    for batch in chunks(pairs):
        await conn.execute(
            delete(ledger_entries).where(or_(*(and_(_L.creator_id == w.creator_id, _L.key == w.key) for w, _ in batch)))
        )
        for webhook, poll in batch:
            await conn.execute(
                update(webhook_payments)
                .where(_P.creator_id == webhook.creator_id, _P.ledger_key == webhook.key)
                .values(ledger_key=poll.key)
            )
    return len(pairs)
