"""Connections and connection resolution: the agency's connection first, the creator's own as fallback."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from onyx_core.connections import (
    Connection,
    ConnectionChoice,
    ConnectionKind,
    ConnectionStatus,
    Skip,
    SkipReason,
    resolve_connection,
)
from onyx_core.errors import DomainValueError, NaiveDatetimeError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.tokens import REDACTED, TokenSet

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NAIVE = datetime(2026, 5, 1, 12, 0)
AGENCY, CREATOR = ConnectionKind.AGENCY, ConnectionKind.CREATOR
ACCESS, REFRESH = "at-secret-0123456789", "ory_rt_secret-0123456789"


def tokens(access: str = ACCESS, refresh: str | None = REFRESH) -> TokenSet:
    return TokenSet(access, refresh, T0 + timedelta(hours=1), frozenset({"read:creator"}))


def conn(kind: ConnectionKind = AGENCY, **changes: object) -> Connection:
    fields: dict[str, object] = {
        "id": ConnectionId(f"conn-{kind}"),
        "kind": kind,
        "agency_id": AgencyId("agency-1"),
        "creator_id": CreatorId("creator-1") if kind is CREATOR else None,
        "fanvue_user_uuid": f"fv-{kind}",
        "status": ConnectionStatus.ACTIVE,
        "tokens": tokens(),
        "token_version": 3,
        "last_refreshed_at": T0,
        "last_used_at": None,
        "last_error": None,
    }
    fields.update(changes)
    return Connection(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------- Connection


def test_defaults_and_usable() -> None:
    minimal = Connection(ConnectionId("c"), AGENCY, AgencyId("a"), None, "fv", ConnectionStatus.ACTIVE, None)
    assert minimal.token_version == 0
    assert minimal.last_refreshed_at is None
    assert not minimal.is_usable  # ACTIVE but no tokens
    assert conn().is_usable


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": CREATOR, "creator_id": None},
        {"kind": CREATOR, "creator_id": ""},
        {"kind": AGENCY, "creator_id": CreatorId("creator-1")},
        {"id": ""},
        {"agency_id": ""},
        {"fanvue_user_uuid": ""},
        {"token_version": -1},
        {"token_version": True},
        {"tokens": "at-secret"},
        {"status": "broken"},
        {"kind": "team"},
    ],
)
def test_connection_validates(changes: dict[str, object]) -> None:
    with pytest.raises(DomainValueError):
        conn(**changes)  # type: ignore[arg-type]


def test_with_tokens_bumps_version_by_exactly_one() -> None:
    before = conn(last_error="temporary: 503", last_used_at=T0)
    later = T0 + timedelta(minutes=55)
    new_tokens = tokens("at-new-0123456789", "rt-new-0123456789")
    after = before.with_tokens(new_tokens, later)
    assert after.token_version == before.token_version + 1
    assert after.tokens is new_tokens
    assert after.last_refreshed_at == later
    assert after.last_error is None
    assert after.status is ConnectionStatus.ACTIVE
    assert after.last_used_at == before.last_used_at
    assert before.token_version == 3  # the original is untouched


def test_with_tokens_reactivates_after_reconsent() -> None:
    ended = conn().marked_needs_reauth("invalid_grant")
    again = ended.with_tokens(tokens(), T0)
    assert again.status is ConnectionStatus.ACTIVE
    assert again.is_usable


@pytest.mark.parametrize(
    ("mark", "status"),
    [
        (Connection.marked_needs_reauth, ConnectionStatus.NEEDS_REAUTH),
        (Connection.marked_revoked, ConnectionStatus.REVOKED),
    ],
)
def test_marking_ends_the_connection_and_drops_tokens(
    mark: Callable[[Connection, str], Connection], status: ConnectionStatus
) -> None:
    before = conn()
    after = mark(before, f"invalid_grant: refresh token {REFRESH} was already used (access {ACCESS})")
    assert after.status is status
    assert after.tokens is None
    assert not after.is_usable
    assert after.token_version == before.token_version  # the store fences on it; a mark is not a refresh
    assert after.last_error is not None
    assert REFRESH not in after.last_error
    assert ACCESS not in after.last_error
    assert REDACTED in after.last_error
    with pytest.raises(DomainValueError):
        mark(before, "")


def test_marked_used_never_moves_backwards() -> None:
    used = conn().marked_used(T0 + timedelta(minutes=5))
    assert used.last_used_at == T0 + timedelta(minutes=5)
    assert used.marked_used(T0).last_used_at == T0 + timedelta(minutes=5)
    assert used.marked_used(T0 + timedelta(minutes=6)).last_used_at == T0 + timedelta(minutes=6)


def test_last_error_given_at_construction_is_scrubbed() -> None:
    assert conn(last_error=f"boom {ACCESS}").last_error == f"boom {REDACTED}"


NAIVE_ENTRY_POINTS: dict[str, Callable[[], object]] = {
    "last_refreshed_at": lambda: conn(last_refreshed_at=NAIVE),
    "last_used_at": lambda: conn(last_used_at=NAIVE),
    "with_tokens": lambda: conn().with_tokens(tokens(), NAIVE),
    "marked_used": lambda: conn().marked_used(NAIVE),
}


@pytest.mark.parametrize("call", NAIVE_ENTRY_POINTS.values(), ids=NAIVE_ENTRY_POINTS.keys())
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(NaiveDatetimeError):
        call()


secrets = st.text(min_size=8, max_size=64)


@given(access=secrets, refresh=secrets)
def test_connection_repr_never_shows_tokens(access: str, refresh: str) -> None:
    connection = conn(tokens=tokens(access, refresh))
    placeholder = conn(tokens=tokens("A" * 8, "B" * 8))
    assert repr(connection) == repr(placeholder)
    for secret in (access, refresh):
        assume(secret not in repr(placeholder))
        assert secret not in repr(connection)
        assert secret not in str(connection)
        assert secret not in repr(ConnectionChoice(connection, AGENCY))


# ---------------------------------------------------------------- resolution table

# The states a stored connection can be in, as seen by resolution.
STATES: dict[str, Callable[[ConnectionKind], Connection | None]] = {
    "absent": lambda kind: None,
    "usable": conn,
    "needs_reauth": lambda kind: conn(kind).marked_needs_reauth("invalid_grant"),
    "revoked": lambda kind: conn(kind).marked_revoked("user disconnected"),
    "no_tokens": lambda kind: conn(kind, tokens=None),
}
SKIP_FOR_STATE = {
    "absent": SkipReason.ABSENT,
    "needs_reauth": SkipReason.NEEDS_REAUTH,
    "revoked": SkipReason.REVOKED,
    "no_tokens": SkipReason.NO_TOKENS,
}
EXCLUDES = [frozenset(), frozenset({AGENCY}), frozenset({CREATOR}), frozenset({AGENCY, CREATOR})]


def expected_choice(
    agency_state: str, creator_state: str, exclude: frozenset[ConnectionKind]
) -> tuple[ConnectionKind | None, tuple[Skip, ...]]:
    """The rule, written independently of the implementation: agency first, then creator."""
    skips: list[Skip] = []
    for kind, state in ((AGENCY, agency_state), (CREATOR, creator_state)):
        if kind in exclude:
            skips.append(Skip(kind, SkipReason.EXCLUDED))
        elif state == "usable":
            return kind, tuple(skips)
        else:
            skips.append(Skip(kind, SKIP_FOR_STATE[state]))
    return None, tuple(skips)


@pytest.mark.parametrize(
    ("agency_state", "creator_state", "exclude"),
    list(itertools.product(STATES, STATES, EXCLUDES)),
    ids=lambda value: "-".join(sorted(value)) or "none" if isinstance(value, frozenset) else str(value),
)
def test_resolution_table(agency_state: str, creator_state: str, exclude: frozenset[ConnectionKind]) -> None:
    agency, creator = STATES[agency_state](AGENCY), STATES[creator_state](CREATOR)
    choice = resolve_connection(agency=agency, creator=creator, exclude=exclude)
    kind, reasons = expected_choice(agency_state, creator_state, exclude)
    assert choice.kind is kind
    assert choice.reasons == reasons
    assert choice.found is (kind is not None)
    assert choice.connection is {AGENCY: agency, CREATOR: creator, None: None}[kind]
    if choice.connection is None:
        assert len(choice.reasons) == 2  # total: both kinds accounted for
    else:
        assert choice.connection.is_usable


# A few rows spelled out, as docs/tokens.md shows them.
def test_agency_connection_wins_even_when_the_creator_has_one() -> None:
    choice = resolve_connection(agency=conn(AGENCY), creator=conn(CREATOR))
    assert choice.kind is AGENCY
    assert choice.reasons == ()


def test_imported_creator_without_own_token_uses_the_agency() -> None:
    choice = resolve_connection(agency=conn(AGENCY), creator=None)
    assert choice.kind is AGENCY


def test_fallback_after_creator_not_assigned_to_team_member() -> None:
    choice = resolve_connection(agency=conn(AGENCY), creator=conn(CREATOR), exclude=frozenset({AGENCY}))
    assert choice.kind is CREATOR
    assert choice.reasons == (Skip(AGENCY, SkipReason.EXCLUDED),)


def test_nothing_usable_is_a_choice_not_an_exception() -> None:
    choice = resolve_connection(agency=conn(AGENCY).marked_needs_reauth("invalid_grant"), creator=None)
    assert not choice.found
    assert choice.kind is None
    assert choice.reasons == (Skip(AGENCY, SkipReason.NEEDS_REAUTH), Skip(CREATOR, SkipReason.ABSENT))


def test_wrong_kind_in_a_slot_is_a_bug() -> None:
    with pytest.raises(DomainValueError):
        resolve_connection(agency=conn(CREATOR), creator=None)
    with pytest.raises(DomainValueError):
        resolve_connection(agency=None, creator=conn(AGENCY))


def test_never_falls_back_across_agencies() -> None:
    other = replace(conn(CREATOR), agency_id=AgencyId("agency-2"))
    with pytest.raises(DomainValueError):
        resolve_connection(agency=conn(AGENCY), creator=other)


def test_choice_kind_must_match_connection() -> None:
    with pytest.raises(DomainValueError):
        ConnectionChoice(conn(AGENCY), CREATOR)
    with pytest.raises(DomainValueError):
        ConnectionChoice(None, AGENCY)
