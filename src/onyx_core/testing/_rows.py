"""Rows for the contracts: every field filled, fresh random ids, times with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from onyx_core.catalog import RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, Source
from onyx_core.money import Money
from onyx_core.tokens import TokenSet

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
"""A base instant with microseconds: storage must keep them (ledger keys hash the time to the microsecond)."""


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex}"


def new_connection(
    kind: ConnectionKind, agency_id: AgencyId, creator_id: CreatorId | None, version: int, at: datetime
) -> Connection:
    return Connection(
        id=ConnectionId(uid("conn")),
        kind=kind,
        agency_id=agency_id,
        creator_id=creator_id,
        fanvue_user_uuid=uid("fv"),
        status=ConnectionStatus.ACTIVE,
        tokens=TokenSet(uid("access"), uid("refresh"), at + timedelta(hours=1), frozenset({"read:self", "read:x"})),
        token_version=version,
        last_refreshed_at=at,
        last_used_at=None,
        last_error=None,
    )


def refreshed_connection(connection: Connection, at: datetime) -> Connection:
    tokens = TokenSet(uid("access"), uid("refresh"), at + timedelta(hours=1), frozenset({"read:self"}))
    return connection.with_tokens(tokens, at).marked_used(at)


def ledger_entry(
    creator_id: CreatorId,
    at: datetime,
    gross: int,
    *,
    kind: EntryKind = EntryKind.EARNING,
    currency: str = "USD",
    key: str | None = None,
) -> LedgerEntry:
    source = {EntryKind.EARNING: Source.TIP, EntryKind.REFUND: Source.REFUND}.get(kind, Source.CHARGEBACK)
    return LedgerEntry(
        creator_id,
        key or f"{kind.value}:{uuid4().hex}",
        at,
        source,
        Money(gross, currency),
        Money(gross * 8 // 10 if gross >= 0 else gross, currency),
        kind,
        FanId(uid("fan")),
        reference=None,
        original_currency="EUR" if currency == "USD" else None,
    )


def ranked_spender(rank: int, creator_id: CreatorId | None, cents: int) -> RankedSpender:
    return RankedSpender(
        rank, FanId(uid("fan")), f"fan{rank}", f"Fan {rank}", Money(cents), Money(cents * 8 // 10), rank * 3,
        creator_id, None if rank % 2 else T0,
    )  # fmt: skip


def tracking_link(creator_id: CreatorId, name: str, clicks: int, earned: int | None) -> TrackingLink:
    return TrackingLink(
        TrackingLinkId(uid("link")), creator_id, name, f"https://fanvue.example/{name}", "instagram", T0, clicks,
        clicks // 10, clicks // 5,
        None if earned is None else Money(earned), None if earned is None else Money(earned * 8 // 10),
    )  # fmt: skip
