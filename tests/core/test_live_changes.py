"""The core of live updates: a change's wire form (every creator in exactly one payload, each under PostgreSQL's
8000-byte NOTIFY limit; anything else decodes to nothing), merging, and who may learn of a change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onyx_core.accounts import Principal
from onyx_core.accounts.model import Member, Role
from onyx_core.accounts.usecases.live import visible_change
from onyx_core.ids import AgencyId, CreatorId, MemberId
from onyx_core.live import MAX_PAYLOAD_BYTES, DataChange, decode_change, encode_changes, merge_changes

A, B = AgencyId("agency-a"), AgencyId("agency-b")
X, Y = CreatorId("x"), CreatorId("y")

ids = st.frozensets(st.text(min_size=1, max_size=60).map(CreatorId), max_size=400)


@given(creators=ids, wide=st.booleans())
def test_payloads_are_short_and_carry_every_creator_once(creators: frozenset[CreatorId], wide: bool) -> None:
    texts = encode_changes(DataChange(A, creators, wide), limit=1000)
    decoded = [decode_change(t) for t in texts]
    assert all(len(t.encode()) <= 1000 for t in texts)
    assert all(d is not None and d.agency_id == A for d in decoded)
    carried = [c for d in decoded if d is not None for c in d.creator_ids]
    assert sorted(carried) == sorted(creators)
    assert any(d is not None and d.agency_wide for d in decoded) is wide


def test_a_thousand_uuids_need_several_payloads_under_the_notify_limit() -> None:
    creators = frozenset(CreatorId(f"{n:08d}-0000-4000-8000-000000000000") for n in range(1000))
    texts = encode_changes(DataChange(A, creators))
    assert len(texts) > 1
    assert max(len(t.encode()) for t in texts) <= MAX_PAYLOAD_BYTES < 8000


@pytest.mark.parametrize(
    "text", ["", "null", "[]", '{"a": 1, "c": [], "w": false}', '{"a": "x", "c": [1], "w": false}', '{"a": "x"}']
)
def test_anything_else_decodes_to_nothing(text: str) -> None:
    assert decode_change(text) is None


def test_merging_is_one_change_per_agency() -> None:
    merged = merge_changes(
        [DataChange(A, frozenset({X})), DataChange(B, frozenset({Y})), DataChange(A, agency_wide=True)]
    )
    assert merged == [DataChange(A, frozenset({X}), agency_wide=True), DataChange(B, frozenset({Y}))]


def _principal(role: Role, scope: frozenset[CreatorId] | None = None, **flags: bool) -> Principal:
    member = Member(MemberId("m"), A, "m@a.test", "M", role, datetime(2026, 1, 1, tzinfo=UTC), scope)
    return Principal(member, **flags)


def test_an_owner_learns_of_every_change_of_her_agency_only() -> None:
    owner = _principal(Role.OWNER, frozenset({X}))  # an owner's scope never limits her
    assert visible_change(owner, DataChange(A, frozenset({X, Y}))) == DataChange(A, frozenset({X, Y}))
    assert visible_change(owner, DataChange(B, frozenset({X}), agency_wide=True)) is None


def test_a_scoped_viewer_learns_only_of_her_creators() -> None:
    viewer = _principal(Role.VIEWER, frozenset({X}))
    assert visible_change(viewer, DataChange(A, frozenset({Y}))) is None
    assert visible_change(viewer, DataChange(A, frozenset({X, Y}))) == DataChange(A, frozenset({X}))
    # an agency-wide change reaches her without the other creators' ids
    assert visible_change(viewer, DataChange(A, frozenset({Y}), agency_wide=True)) == DataChange(A, agency_wide=True)


def test_a_session_owing_its_second_factor_learns_nothing() -> None:
    assert visible_change(_principal(Role.OWNER, second_factor_due=True), DataChange(A, agency_wide=True)) is None
