"""When to refresh a Fanvue OAuth token, and what to do when the token endpoint fails.

Fanvue's refresh tokens rotate and are single-use with reuse detection: every refresh spends the stored
refresh token, and a lost or raced rotation kills the whole grant. So refreshing is not free, and this module
refreshes as late as is safe (``RefreshPolicy.leeway``) instead of "whenever a token is less than an hour old".

Everything here is pure: the current time, the jitter and the outcome of each HTTP attempt are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from onyx_core.errors import DomainValueError
from onyx_core.timeutil import optional_utc, require_utc

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "DEFAULT_TOKEN_TYPE",
    "REDACTED",
    "TERMINAL_OAUTH_ERRORS",
    "TRANSIENT_OAUTH_ERRORS",
    "InvalidTokenResponseError",
    "MaintenanceDecision",
    "MaintenanceReason",
    "RefreshAction",
    "RefreshActionKind",
    "RefreshAttempt",
    "RefreshPolicy",
    "RefreshRetryPolicy",
    "TokenFailureClass",
    "TokenSet",
    "classify_token_failure",
]

REDACTED = "…redacted…"
"""What a token looks like in every ``repr``, ``str`` and error message."""

DEFAULT_EXPIRES_IN = 3600
"""Seconds an access token lives when the token response has no ``expires_in`` (Fanvue documents ~1 h)."""

DEFAULT_TOKEN_TYPE = "Bearer"  # noqa: S105 - a token type name, not a secret
"""The token type when the response doesn't say (Fanvue always issues bearer tokens)."""

TERMINAL_OAUTH_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope"}
)
"""OAuth ``error`` codes (RFC 6749 §5.2) that no retry can fix: the user has to connect again."""

TRANSIENT_OAUTH_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
"""OAuth ``error`` codes that say the server, not the grant, is the problem, whatever the HTTP status."""

_ONE_MICROSECOND = timedelta(microseconds=1)


class InvalidTokenResponseError(DomainValueError):
    """The token endpoint answered 2xx with a body that is not a usable token response.

    The message names the offending field and its type, never a value: the body holds live tokens.
    """


def _check_token(value: object, what: str, error: type[DomainValueError] = DomainValueError) -> str:
    if not isinstance(value, str) or not value:
        # Name the type only: the value might be a token.
        raise error(f"{what} must be a non-empty string, got {type(value).__name__}")
    return value


def _check_scopes(value: object) -> frozenset[str]:
    # A bare string is iterable too and would become a set of characters.
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DomainValueError(f"scopes must be an iterable of strings, got {type(value).__name__}")
    scopes = frozenset(value)
    if not all(isinstance(scope, str) and scope for scope in scopes):
        raise DomainValueError("scopes must contain only non-empty strings")
    return scopes


@dataclass(frozen=True, slots=True, repr=False)
class TokenSet:
    """One access token with its refresh token, expiry and granted scopes.

    ``repr`` and ``str`` show ``…redacted…`` in place of both tokens, so a token set can be logged safely.
    """

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    """When the access token stops working (UTC)."""
    scopes: frozenset[str]
    token_type: str = DEFAULT_TOKEN_TYPE

    def __post_init__(self) -> None:
        _check_token(self.access_token, "access_token")
        if self.refresh_token is not None:
            _check_token(self.refresh_token, "refresh_token")
        object.__setattr__(self, "expires_at", require_utc(self.expires_at, "expires_at"))
        object.__setattr__(self, "scopes", _check_scopes(self.scopes))
        _check_token(self.token_type, "token_type")

    def __repr__(self) -> str:
        refresh = "None" if self.refresh_token is None else repr(REDACTED)
        return (
            f"TokenSet(access_token={REDACTED!r}, refresh_token={refresh}, "
            f"expires_at={self.expires_at.isoformat()!r}, scopes={sorted(self.scopes)!r}, "
            f"token_type={self.token_type!r})"
        )

    __str__ = __repr__

    def remaining(self, now: datetime) -> timedelta:
        """Life left in the access token at ``now``; negative once it has expired."""
        return self.expires_at - require_utc(now, "now")

    def is_expired(self, now: datetime) -> bool:
        """Whether the access token no longer works at ``now``."""
        return self.remaining(now) <= timedelta(0)

    @classmethod
    def from_token_response(
        cls,
        payload: Mapping[str, object],
        *,
        requested_at: datetime,
        previous: TokenSet | None = None,
    ) -> TokenSet:
        """Build a token set from the JSON body of a successful token-endpoint response.

        ``requested_at`` is when the request was *sent*: counting the lifetime from then means network
        latency can only make Onyx refresh earlier, never use an expired token. A response without
        ``refresh_token`` keeps ``previous.refresh_token`` (some servers don't rotate on every refresh);
        one without ``scope`` keeps ``previous.scopes``. JSON ``null`` counts as absent.

        Raises :class:`InvalidTokenResponseError` if a field has the wrong type or ``expires_in`` is negative.
        """
        requested_at = require_utc(requested_at, "requested_at")
        if not isinstance(payload, Mapping):
            raise InvalidTokenResponseError(f"token response must be a JSON object, got {type(payload).__name__}")
        if previous is not None and not isinstance(previous, TokenSet):
            raise TypeError(f"previous must be a TokenSet or None, got {type(previous).__name__}")

        access_token = _check_token(payload.get("access_token"), "access_token", InvalidTokenResponseError)

        raw_refresh = payload.get("refresh_token")
        if raw_refresh is None:
            refresh_token = previous.refresh_token if previous is not None else None
        else:
            refresh_token = _check_token(raw_refresh, "refresh_token", InvalidTokenResponseError)

        raw_type = payload.get("token_type")
        token_type = (
            DEFAULT_TOKEN_TYPE if raw_type is None else _check_token(raw_type, "token_type", InvalidTokenResponseError)
        )

        raw_expires = payload.get("expires_in")
        if raw_expires is None:
            expires_in = DEFAULT_EXPIRES_IN
        elif type(raw_expires) is not int:
            # type() rather than isinstance(): True is an int, and "3600" is a bug in the server, not ours.
            raise InvalidTokenResponseError(f"expires_in must be an integer, got {type(raw_expires).__name__}")
        elif raw_expires < 0:
            raise InvalidTokenResponseError("expires_in must not be negative")
        else:
            expires_in = raw_expires
        try:
            expires_at = requested_at + timedelta(seconds=expires_in)
        except OverflowError:
            raise InvalidTokenResponseError("expires_in is too large to be a token lifetime") from None

        raw_scope = payload.get("scope")
        if raw_scope is None:
            scopes = previous.scopes if previous is not None else frozenset[str]()
        elif isinstance(raw_scope, str):
            scopes = frozenset(raw_scope.split())  # RFC 6749 §3.3: space-delimited
        else:
            raise InvalidTokenResponseError(f"scope must be a space-delimited string, got {type(raw_scope).__name__}")

        return cls(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=expires_at,
            scopes=scopes,
            token_type=token_type,
        )


# ---------------------------------------------------------------- when to refresh


class MaintenanceReason(StrEnum):
    """Why the maintenance job did or did not refresh a connection."""

    NOT_DUE = "not_due"
    """Active connection with more than the proactive window of life left: the next API call will refresh it."""
    IN_PROACTIVE_WINDOW = "in_proactive_window"
    """Active connection inside the proactive window: refresh now so the next call doesn't wait."""
    IDLE_KEEPALIVE = "idle_keepalive"
    """Idle connection not refreshed for an interval: refresh once to keep the refresh token alive."""
    IDLE_RECENTLY_REFRESHED = "idle_recently_refreshed"
    """Idle connection refreshed within the interval: leave it, whatever the access token's expiry."""
    NO_REFRESH_TOKEN = "no_refresh_token"  # noqa: S105 - a reason code, not a secret
    """Nothing to refresh with."""


_REFRESHING_REASONS = frozenset({MaintenanceReason.IN_PROACTIVE_WINDOW, MaintenanceReason.IDLE_KEEPALIVE})


@dataclass(frozen=True, slots=True)
class MaintenanceDecision:
    """What :meth:`RefreshPolicy.maintenance_decision` decided; ``refresh`` follows from ``reason``."""

    reason: MaintenanceReason

    @property
    def refresh(self) -> bool:
        """Whether the maintenance job should refresh this connection now."""
        return self.reason in _REFRESHING_REASONS


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """When to refresh. Defaults: 5 min leeway on use, 15 min ahead in the maintenance job, idle after 7 days."""

    leeway: timedelta = timedelta(seconds=300)
    """An API call refreshes first when the access token has this much life left or less."""
    proactive_window: timedelta = timedelta(minutes=15)
    """The maintenance job may refresh an active connection this long before expiry, and no earlier."""
    idle_after: timedelta = timedelta(days=7)
    """A connection not used for longer than this is idle."""
    idle_refresh_interval: timedelta = timedelta(days=7)
    """An idle connection is refreshed at most once per this interval, only to keep its refresh token alive."""

    def __post_init__(self) -> None:
        if self.leeway <= timedelta(0):
            raise DomainValueError("leeway must be positive, or tokens are used until they fail")
        if self.proactive_window < self.leeway:
            raise DomainValueError("proactive_window must be at least leeway")
        if self.idle_after <= timedelta(0):
            raise DomainValueError("idle_after must be positive")
        if self.idle_refresh_interval <= timedelta(0):
            raise DomainValueError("idle_refresh_interval must be positive")

    def needs_refresh(self, token: TokenSet, now: datetime) -> bool:
        """Whether an API call at ``now`` must refresh ``token`` first: remaining life <= ``leeway``.

        This is the only rule on the request path; it never refreshes earlier, because each refresh spends a
        single-use refresh token (see docs/tokens.md).
        """
        return token.remaining(now) <= self.leeway

    def maintenance_decision(
        self,
        token: TokenSet,
        now: datetime,
        *,
        last_used_at: datetime | None,
        last_refreshed_at: datetime | None,
    ) -> MaintenanceDecision:
        """Whether the scheduled maintenance job should refresh ``token`` at ``now``.

        The maintenance job is the only caller that refreshes ahead of need. An active connection (used within
        ``idle_after``) is refreshed only inside ``proactive_window``. An idle one (never used, or not for longer
        than ``idle_after``) is refreshed at most once per ``idle_refresh_interval`` since ``last_refreshed_at``
        (never refreshed counts as due), whatever its access token's expiry: nobody is waiting for it.
        """
        now = require_utc(now, "now")
        last_used_at = optional_utc(last_used_at, "last_used_at")
        last_refreshed_at = optional_utc(last_refreshed_at, "last_refreshed_at")
        if token.refresh_token is None:
            return MaintenanceDecision(MaintenanceReason.NO_REFRESH_TOKEN)
        idle = last_used_at is None or now - last_used_at > self.idle_after
        if not idle:
            if token.remaining(now) <= self.proactive_window:
                return MaintenanceDecision(MaintenanceReason.IN_PROACTIVE_WINDOW)
            return MaintenanceDecision(MaintenanceReason.NOT_DUE)
        if last_refreshed_at is None or now - last_refreshed_at >= self.idle_refresh_interval:
            return MaintenanceDecision(MaintenanceReason.IDLE_KEEPALIVE)
        return MaintenanceDecision(MaintenanceReason.IDLE_RECENTLY_REFRESHED)


# ---------------------------------------------------------------- when the token endpoint fails


class TokenFailureClass(StrEnum):
    """What a failed token-endpoint call means for the connection."""

    TERMINAL = "terminal"
    """The grant is dead or the client is misconfigured: mark the connection needs-reauth, don't retry."""
    TRANSIENT = "transient"
    """The server or network failed and the refresh token was certainly not spent: retry with backoff."""
    AMBIGUOUS = "ambiguous"
    """The request left but no answer came back: the server may have rotated the refresh token. Retry once."""


def classify_token_failure(*, status: int | None, oauth_error: str | None, sent: bool) -> TokenFailureClass:
    """Classify one failed token-endpoint attempt.

    ``status`` is the HTTP status if a response arrived, else ``None``; ``oauth_error`` the ``error`` field of its
    body, if any; ``sent`` whether the request was fully written to the server. Without a response only ``sent``
    decides: a timeout or a dropped connection *after* sending are equally ambiguous, and before sending equally
    harmless.

    - TERMINAL: ``invalid_grant``, ``invalid_client``, ``unauthorized_client``, ``unsupported_grant_type``,
      ``invalid_scope`` and any other 4xx except 408 and 429.
    - TRANSIENT: 5xx, 408, 429, ``server_error``/``temporarily_unavailable``, no response and not sent; also
      1xx/3xx, which say nothing about the grant.
    - AMBIGUOUS: no response after sending; or 2xx with an unusable body (the server did refresh, and the new
      refresh token is lost).
    """
    if status is None:
        return TokenFailureClass.AMBIGUOUS if sent else TokenFailureClass.TRANSIENT
    if type(status) is not int or not 100 <= status <= 599:
        raise DomainValueError(f"status must be an HTTP status code (100-599), got {status!r}")
    if oauth_error in TRANSIENT_OAUTH_ERRORS or status >= 500 or status in (408, 429):
        return TokenFailureClass.TRANSIENT
    if status >= 400 or oauth_error in TERMINAL_OAUTH_ERRORS:
        return TokenFailureClass.TERMINAL
    if 200 <= status < 300:
        return TokenFailureClass.AMBIGUOUS
    return TokenFailureClass.TRANSIENT


@dataclass(frozen=True, slots=True)
class RefreshAttempt:
    """One failed token-endpoint attempt, as :meth:`RefreshRetryPolicy.next_action` needs it."""

    failure: TokenFailureClass
    retry_after: timedelta | None = None
    """The server's ``Retry-After``, if it sent one."""
    oauth_error: str | None = None
    """The OAuth ``error`` code of the answer, if any (a code such as ``invalid_grant``, never a token)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "failure", TokenFailureClass(self.failure))
        if self.retry_after is not None and self.retry_after < timedelta(0):
            raise DomainValueError("retry_after must not be negative")


class RefreshActionKind(StrEnum):
    """What to do after a failed refresh attempt."""

    RETRY = "retry"
    """Wait ``delay``, then try the token endpoint again with the same refresh token."""
    GIVE_UP_TERMINAL = "give_up_terminal"
    """Stop and mark the connection needs-reauth: only the user connecting again can fix it."""
    GIVE_UP_TRANSIENT = "give_up_transient"
    """Stop for now; keep the connection ACTIVE and its tokens. A later call or job tries again."""


@dataclass(frozen=True, slots=True)
class RefreshAction:
    """The decision of :meth:`RefreshRetryPolicy.next_action`."""

    kind: RefreshActionKind
    delay: timedelta = timedelta(0)
    """RETRY: how long to wait first. GIVE_UP_TRANSIENT: the earliest sensible next try (the server's
    ``Retry-After`` when it was longer than the policy waits in-line), else zero."""

    @property
    def retry(self) -> bool:
        """Whether to try again now (after ``delay``)."""
        return self.kind is RefreshActionKind.RETRY

    @property
    def needs_reauth(self) -> bool:
        """Whether the connection must be marked needs-reauth. True only for GIVE_UP_TERMINAL."""
        return self.kind is RefreshActionKind.GIVE_UP_TERMINAL


@dataclass(frozen=True, slots=True)
class RefreshRetryPolicy:
    """How often and how long to retry a failed refresh. Defaults: 3 retries, 0.5 s doubling up to 30 s."""

    max_retries: int = 3
    """Retries after the first attempt, all failure classes together."""
    base_delay: timedelta = timedelta(milliseconds=500)
    max_delay: timedelta = timedelta(seconds=30)
    """Longest in-line wait; a ``Retry-After`` longer than this gives up for now instead of blocking."""
    max_ambiguous_retries: int = 1
    """Retries after an ambiguous attempt. More than one cannot help: if the server rotated the token, the retry
    spends an already-used refresh token and gets ``invalid_grant``."""

    def __post_init__(self) -> None:
        for name in ("max_retries", "max_ambiguous_retries"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise DomainValueError(f"{name} must be a non-negative int")
        if self.base_delay < timedelta(0):
            raise DomainValueError("base_delay must not be negative")
        if self.max_delay < self.base_delay:
            raise DomainValueError("max_delay must be at least base_delay")

    def backoff(self, retry_number: int, *, jitter: float) -> timedelta:
        """``min(max_delay, base_delay * 2**retry_number) * jitter``, for the 0-based ``retry_number``."""
        _check_jitter(jitter)
        if retry_number < 0:
            raise DomainValueError("retry_number must not be negative")
        # Integer microseconds: 2**n never overflows, so a huge max_retries can't crash the policy.
        capped = min(self.max_delay // _ONE_MICROSECOND, (self.base_delay // _ONE_MICROSECOND) << retry_number)
        return timedelta(microseconds=capped * jitter)

    def next_action(self, history: Sequence[RefreshAttempt], *, jitter: float) -> RefreshAction:
        """What to do after the failed attempts in ``history`` (oldest first; the last is the one just made).

        ``jitter`` in [0, 1] scales the backoff ("full jitter"); pass ``random.random()``. Rules:

        - a TERMINAL attempt anywhere -> GIVE_UP_TERMINAL. This includes the retry after an ambiguous attempt
          answering ``invalid_grant`` (classified TERMINAL): the server had rotated the token. Only the class
          decides: a 5xx whose body happens to say ``invalid_grant`` is TRANSIENT, as
          :func:`classify_token_failure` says.
        - ``max_retries`` retries already made -> GIVE_UP_TRANSIENT.
        - the last attempt AMBIGUOUS and ``max_ambiguous_retries`` ambiguous retries already made
          -> GIVE_UP_TRANSIENT.
        - ``Retry-After`` longer than ``max_delay`` -> GIVE_UP_TRANSIENT with that delay.
        - otherwise RETRY after ``max(backoff(retries made), Retry-After)``.

        GIVE_UP_TRANSIENT never asks for re-consent: the grant may be fine.
        """
        _check_jitter(jitter)
        if not history:
            raise DomainValueError("history must hold at least the attempt that just failed")
        if any(attempt.failure is TokenFailureClass.TERMINAL for attempt in history):
            return RefreshAction(RefreshActionKind.GIVE_UP_TERMINAL)
        last = history[-1]
        retry_after = last.retry_after or timedelta(0)
        retries_made = len(history) - 1
        if retries_made >= self.max_retries:
            return RefreshAction(RefreshActionKind.GIVE_UP_TRANSIENT, retry_after)
        if last.failure is TokenFailureClass.AMBIGUOUS:
            ambiguous_retries_made = sum(1 for a in history[:-1] if a.failure is TokenFailureClass.AMBIGUOUS)
            if ambiguous_retries_made >= self.max_ambiguous_retries:
                return RefreshAction(RefreshActionKind.GIVE_UP_TRANSIENT, retry_after)
        if retry_after > self.max_delay:
            return RefreshAction(RefreshActionKind.GIVE_UP_TRANSIENT, retry_after)
        return RefreshAction(RefreshActionKind.RETRY, max(self.backoff(retries_made, jitter=jitter), retry_after))


def _check_jitter(jitter: float) -> None:
    # type() excludes bool; NaN fails the range check because it compares False with everything.
    if type(jitter) not in (int, float) or not 0 <= jitter <= 1:
        raise DomainValueError(f"jitter must be a number in [0, 1], got {jitter!r}")
