"""Live updates: what changed in an agency's dashboard data (:class:`DataChange`), the port that carries such
changes to whoever watches (:class:`ChangeFeed`), and the wire format of a change between processes.

A change names the agency and the creators whose data moved; ``agency_wide`` says "anything of the agency may
have changed" (its own rows such as chatter days, or a listener that may have missed changes and asks everyone to
read again). Who may learn of a change is the accounts' rule (:func:`onyx_core.accounts.usecases.live.visible_change`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from onyx_core.ids import AgencyId, CreatorId

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "ChangeFeed",
    "ChangeSubscription",
    "DataChange",
    "decode_change",
    "encode_changes",
    "merge_changes",
]

MAX_PAYLOAD_BYTES = 7000
"""The longest encoded change: PostgreSQL's ``NOTIFY`` payload must be shorter than 8000 bytes."""


@dataclass(frozen=True, slots=True)
class DataChange:
    """Data of ``agency_id`` that a dashboard shows changed: that of ``creator_ids``, or (``agency_wide``) any."""

    agency_id: AgencyId
    creator_ids: frozenset[CreatorId] = field(default_factory=frozenset)
    agency_wide: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "creator_ids", frozenset(self.creator_ids))

    @property
    def empty(self) -> bool:
        return not self.creator_ids and not self.agency_wide


class ChangeSubscription(Protocol):
    """The changes of one agency, in the order they were published, from subscribing on."""

    async def next_change(self) -> DataChange:
        """The next change (waits for one). After more changes than the subscriber kept up with, one
        ``agency_wide`` change stands for all it missed."""
        ...


class ChangeFeed(Protocol):
    """Carries committed changes to the subscribers of their agency (within a process, and across processes
    where the adapter can)."""

    def publish(self, change: DataChange) -> None:
        """Hand ``change`` to every current subscriber of its agency; never waits, never fails for a slow one."""
        ...

    def subscribe(self, agency_id: AgencyId) -> AbstractAsyncContextManager[ChangeSubscription]:
        """Changes of ``agency_id`` until the block ends (then the subscription is gone)."""
        ...


def merge_changes(changes: Iterable[DataChange]) -> list[DataChange]:
    """One change per agency (the union of its creators; agency-wide if any was), in first-seen agency order."""
    merged: dict[AgencyId, DataChange] = {}
    for change in changes:
        known = merged.get(change.agency_id)
        if known is None:
            merged[change.agency_id] = change
        else:
            merged[change.agency_id] = DataChange(
                change.agency_id, known.creator_ids | change.creator_ids, known.agency_wide or change.agency_wide
            )
    return list(merged.values())


def _encode(agency_id: AgencyId, creator_ids: list[str], agency_wide: bool) -> str:  # noqa: FBT001
    return json.dumps({"a": agency_id, "c": creator_ids, "w": agency_wide}, separators=(",", ":"))


def encode_changes(change: DataChange, limit: int = MAX_PAYLOAD_BYTES) -> list[str]:
    """``change`` as JSON texts of at most ``limit`` UTF-8 bytes each (its creators split across as many as
    needed; the agency-wide flag on the first). Every creator id appears in exactly one text."""
    ids = sorted(change.creator_ids)
    texts: list[str] = []
    batch: list[str] = []
    wide = change.agency_wide
    for creator_id in ids:
        if len(_encode(change.agency_id, [*batch, creator_id], wide).encode()) > limit and batch:
            texts.append(_encode(change.agency_id, batch, wide))
            batch, wide = [], False
        batch.append(creator_id)
    if batch or wide or not texts:
        texts.append(_encode(change.agency_id, batch, wide))
    too_long = [t for t in texts if len(t.encode()) > limit]
    if too_long:
        raise ValueError(f"an id too long for a {limit}-byte payload: {too_long[0][:80]}")
    return texts


def decode_change(text: str) -> DataChange | None:
    """A change from :func:`encode_changes`'s text; ``None`` for anything else (a payload never raises)."""
    try:
        raw = json.loads(text)
        agency, creators, wide = raw["a"], raw["c"], raw["w"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(agency, str) or not isinstance(creators, list) or not isinstance(wide, bool):
        return None
    if not all(isinstance(c, str) for c in creators):
        return None
    return DataChange(AgencyId(agency), frozenset(CreatorId(c) for c in creators), wide)
