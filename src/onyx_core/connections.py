"""Stored Fanvue OAuth connections, and which one to use for a creator's stats.

An agency's team member connects once (an AGENCY connection) and reads every creator it manages through
``/creators/{uuid}/...``. A creator may also connect personally (a CREATOR connection). Creators imported under an
agency have no personal token, so the agency connection is tried first and the creator's own only as a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from onyx_core.errors import DomainValueError
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.timeutil import optional_utc, require_utc
from onyx_core.tokens import REDACTED, TokenSet

__all__ = [
    "Connection",
    "ConnectionChoice",
    "ConnectionKind",
    "ConnectionStatus",
    "Skip",
    "SkipReason",
    "resolve_connection",
]


class ConnectionKind(StrEnum):
    """Whose OAuth grant a connection holds."""

    AGENCY = "agency"
    """An agency team member's grant; reads the creators the agency manages."""
    CREATOR = "creator"
    """A creator's own grant; reads only that creator."""


class ConnectionStatus(StrEnum):
    """Whether a connection can be used."""

    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    """The token endpoint refused the grant for good (e.g. ``invalid_grant``): the user must connect again."""
    REVOKED = "revoked"
    """The user or an admin disconnected the app."""


_E = TypeVar("_E", bound=StrEnum)


def _nonempty(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise DomainValueError(f"{what} must be a non-empty string")


def _member(enum: type[_E], value: object, what: str) -> _E:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    raise DomainValueError(f"{what} must be one of {[m.value for m in enum]}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Connection:
    """One stored Fanvue OAuth connection. Immutable: the ``with_*``/``marked_*`` methods return a new one.

    ``token_version`` rises by exactly 1 on every stored refresh, so a store can compare-and-set on it and a
    process holding a stale copy can't overwrite a newer token. ``repr`` never shows a token.
    """

    id: ConnectionId
    kind: ConnectionKind
    agency_id: AgencyId
    creator_id: CreatorId | None
    """The creator a CREATOR connection belongs to; ``None`` for an AGENCY connection."""
    fanvue_user_uuid: str
    """The Fanvue user who granted access: the team member (AGENCY) or the creator (CREATOR)."""
    status: ConnectionStatus
    tokens: TokenSet | None
    token_version: int = 0
    last_refreshed_at: datetime | None = None
    last_used_at: datetime | None = None
    last_error: str | None = None
    """Why the connection is not ACTIVE (or why its last refresh failed); never contains a token."""

    def __post_init__(self) -> None:
        _nonempty(self.id, "id")
        object.__setattr__(self, "kind", _member(ConnectionKind, self.kind, "kind"))
        object.__setattr__(self, "status", _member(ConnectionStatus, self.status, "status"))
        _nonempty(self.agency_id, "agency_id")
        if self.kind is ConnectionKind.CREATOR:
            _nonempty(self.creator_id, "creator_id of a CREATOR connection")
        elif self.creator_id is not None:
            raise DomainValueError("an AGENCY connection has no creator_id")
        _nonempty(self.fanvue_user_uuid, "fanvue_user_uuid")
        if self.tokens is not None and not isinstance(self.tokens, TokenSet):
            raise DomainValueError(f"tokens must be a TokenSet or None, got {type(self.tokens).__name__}")
        if type(self.token_version) is not int or self.token_version < 0:
            raise DomainValueError("token_version must be a non-negative int")
        object.__setattr__(self, "last_refreshed_at", optional_utc(self.last_refreshed_at, "last_refreshed_at"))
        object.__setattr__(self, "last_used_at", optional_utc(self.last_used_at, "last_used_at"))
        if self.last_error is not None:
            object.__setattr__(self, "last_error", self._scrub(self.last_error))

    @property
    def is_usable(self) -> bool:
        """ACTIVE and holding tokens (which may still need a refresh before use)."""
        return self.status is ConnectionStatus.ACTIVE and self.tokens is not None

    def with_tokens(self, tokens: TokenSet, now: datetime) -> Connection:
        """The connection after storing ``tokens`` obtained at ``now``: ``token_version`` + 1, ACTIVE, no error."""
        if not isinstance(tokens, TokenSet):
            raise DomainValueError(f"tokens must be a TokenSet, got {type(tokens).__name__}")
        return replace(
            self,
            tokens=tokens,
            token_version=self.token_version + 1,
            last_refreshed_at=require_utc(now, "now"),
            last_error=None,
            status=ConnectionStatus.ACTIVE,
        )

    def marked_needs_reauth(self, reason: str) -> Connection:
        """The connection after the token endpoint refused the grant for good.

        The tokens are dropped: they can't work again and would only be one more secret at rest.
        """
        return self._ended(ConnectionStatus.NEEDS_REAUTH, reason)

    def marked_revoked(self, reason: str) -> Connection:
        """The connection after the user or an admin disconnected it. The tokens are dropped."""
        return self._ended(ConnectionStatus.REVOKED, reason)

    def marked_used(self, now: datetime) -> Connection:
        """The connection after an API call at ``now``. ``last_used_at`` never moves backwards."""
        now = require_utc(now, "now")
        if self.last_used_at is not None and self.last_used_at >= now:
            return self
        return replace(self, last_used_at=now)

    def _ended(self, status: ConnectionStatus, reason: str) -> Connection:
        _nonempty(reason, "reason")
        # Scrub before the tokens are dropped, while we still know what to look for.
        return replace(self, status=status, tokens=None, last_error=self._scrub(reason))

    def _scrub(self, text: str) -> str:
        """``text`` with this connection's tokens replaced: reasons often quote an upstream error verbatim."""
        if self.tokens is not None:
            for secret in (self.tokens.access_token, self.tokens.refresh_token):
                if secret:
                    text = text.replace(secret, REDACTED)
        return text


class SkipReason(StrEnum):
    """Why :func:`resolve_connection` passed over a connection."""

    ABSENT = "absent"
    NEEDS_REAUTH = "needs_reauth"
    REVOKED = "revoked"
    NO_TOKENS = "no_tokens"
    EXCLUDED = "excluded"
    """The caller excluded this kind, e.g. the agency answered "creator not assigned to team member"."""


@dataclass(frozen=True, slots=True)
class Skip:
    """One connection kind that was passed over, and why."""

    kind: ConnectionKind
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class ConnectionChoice:
    """The result of :func:`resolve_connection`: the connection to use (if any) and what was skipped first."""

    connection: Connection | None
    kind: ConnectionKind | None
    reasons: tuple[Skip, ...] = ()
    """The kinds tried before the chosen one (or all of them, when none was found), in order."""

    def __post_init__(self) -> None:
        expected = None if self.connection is None else self.connection.kind
        if self.kind is not expected:
            raise DomainValueError("kind must be the chosen connection's kind, or None when nothing was chosen")

    @property
    def found(self) -> bool:
        """Whether a usable connection was chosen."""
        return self.connection is not None


_ORDER = (ConnectionKind.AGENCY, ConnectionKind.CREATOR)


def _skip_reason(
    connection: Connection | None, kind: ConnectionKind, exclude: frozenset[ConnectionKind]
) -> SkipReason | None:
    if kind in exclude:
        return SkipReason.EXCLUDED
    if connection is None:
        return SkipReason.ABSENT
    if connection.status is ConnectionStatus.REVOKED:
        return SkipReason.REVOKED
    if connection.status is ConnectionStatus.NEEDS_REAUTH:
        return SkipReason.NEEDS_REAUTH
    if connection.tokens is None:
        return SkipReason.NO_TOKENS
    return None


def resolve_connection(
    *,
    agency: Connection | None,
    creator: Connection | None,
    exclude: frozenset[ConnectionKind] = frozenset(),
) -> ConnectionChoice:
    """Pick the connection to read one creator's stats with: the agency's first, the creator's own as fallback.

    ``agency`` is the agency's connection, ``creator`` the creator's personal one (either may be ``None``).
    ``exclude`` skips kinds, so a caller whose agency call answered "creator not assigned to team member" can
    resolve again with ``exclude=frozenset({ConnectionKind.AGENCY})``. Any combination of states gives a choice,
    never an exception; passing a connection of the wrong kind, or an agency and a creator connection of two
    different agencies, is a bug and raises :class:`DomainValueError`.
    """
    candidates = {ConnectionKind.AGENCY: agency, ConnectionKind.CREATOR: creator}
    for kind, connection in candidates.items():
        if connection is not None and connection.kind is not kind:
            raise DomainValueError(f"the {kind} argument holds a {connection.kind} connection")
    if agency is not None and creator is not None and agency.agency_id != creator.agency_id:
        # Never fall back across tenants.
        raise DomainValueError("the agency and creator connections belong to different agencies")
    exclude = frozenset(ConnectionKind(kind) for kind in exclude)

    skipped: list[Skip] = []
    for kind in _ORDER:
        connection = candidates[kind]
        reason = _skip_reason(connection, kind, exclude)
        if reason is None:
            return ConnectionChoice(connection, kind, tuple(skipped))
        skipped.append(Skip(kind, reason))
    return ConnectionChoice(None, None, tuple(skipped))
