"""Token refresh policy (T3, T4, T6, T9) and the token-endpoint failure rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from onyx_core.errors import DomainValueError, NaiveDatetimeError
from onyx_core.tokens import (
    DEFAULT_TOKEN_TYPE,
    REDACTED,
    InvalidTokenResponseError,
    MaintenanceReason,
    RefreshAction,
    RefreshActionKind,
    RefreshAttempt,
    RefreshPolicy,
    RefreshRetryPolicy,
    TokenFailureClass,
    TokenSet,
    classify_token_failure,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
NAIVE = datetime(2026, 5, 1, 12, 0)
POLICY = RefreshPolicy()
RETRY = RefreshRetryPolicy()
TERMINAL, TRANSIENT, AMBIGUOUS = TokenFailureClass.TERMINAL, TokenFailureClass.TRANSIENT, TokenFailureClass.AMBIGUOUS


def token(seconds_left: float = 3600, *, refresh: str | None = "rt-0123456789", now: datetime = T0) -> TokenSet:
    return TokenSet("at-0123456789", refresh, now + timedelta(seconds=seconds_left), frozenset({"read:self"}))


# ---------------------------------------------------------------- TokenSet


def test_remaining_and_expiry() -> None:
    tok = token(10)
    assert tok.remaining(T0) == timedelta(seconds=10)
    assert not tok.is_expired(T0)
    assert tok.is_expired(T0 + timedelta(seconds=10))
    assert tok.remaining(T0 + timedelta(seconds=15)) == timedelta(seconds=-5)


def test_aware_non_utc_is_converted() -> None:
    plus2 = timezone(timedelta(hours=2))
    tok = TokenSet("at-0123456789", None, datetime(2026, 5, 1, 14, 0, tzinfo=plus2), frozenset())
    assert tok.expires_at == T0
    assert tok.expires_at.tzinfo is UTC


@pytest.mark.parametrize(
    "changes",
    [
        {"access_token": ""},
        {"access_token": None},
        {"refresh_token": ""},
        {"scopes": "read:self"},
        {"scopes": frozenset({""})},
        {"token_type": ""},
    ],
)
def test_tokenset_validates(changes: dict[str, object]) -> None:
    with pytest.raises(DomainValueError):
        replace(token(), **changes)  # type: ignore[arg-type]


def test_from_token_response_counts_from_request_time() -> None:
    payload = {
        "access_token": "new-access",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "read:self read:creator",
    }
    tok = TokenSet.from_token_response(payload, requested_at=T0)
    # The lifetime starts when the request was sent: latency only makes us refresh earlier.
    assert tok.expires_at == T0 + timedelta(hours=1)
    assert tok.scopes == {"read:self", "read:creator"}
    assert tok.refresh_token is None
    assert tok.token_type == payload["token_type"]  # kept as sent: RFC 6749 says it is case-insensitive


def test_missing_expires_in_defaults_to_one_hour() -> None:
    tok = TokenSet.from_token_response({"access_token": "a-token"}, requested_at=T0)
    assert tok.expires_at == T0 + timedelta(seconds=3600)
    assert tok.token_type == DEFAULT_TOKEN_TYPE
    assert tok.scopes == frozenset()


def test_t6_response_without_refresh_token_keeps_the_stored_one() -> None:
    previous = TokenSet("old-access", "ory_rt_ÄÖ-keep-me-exactly", T0, frozenset({"read:self", "read:insights"}))
    tok = TokenSet.from_token_response(
        {"access_token": "new-access", "expires_in": 3600}, requested_at=T0, previous=previous
    )
    assert tok.refresh_token is not None
    assert previous.refresh_token is not None
    assert tok.refresh_token.encode() == previous.refresh_token.encode()
    # Only the access token and expiry change; scope absent keeps the previous scopes.
    assert tok.access_token != previous.access_token
    assert tok.expires_at == T0 + timedelta(hours=1)
    assert tok.scopes == previous.scopes
    nulls = TokenSet.from_token_response(
        {"access_token": "new-access", "refresh_token": None, "scope": None}, requested_at=T0, previous=previous
    )
    assert nulls.refresh_token == previous.refresh_token
    assert nulls.scopes == previous.scopes


def test_rotated_refresh_token_replaces_the_previous_one() -> None:
    previous = token()
    payload = {"access_token": "new-access", "refresh_token": "rotated-rt", "scope": ""}
    tok = TokenSet.from_token_response(payload, requested_at=T0, previous=previous)
    assert tok.refresh_token == payload["refresh_token"]
    assert tok.scopes == frozenset()  # an explicit (empty) scope is what was granted


LEAKY = "s3cr3t-token-value"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"access_token": ""},
        {"access_token": 42},
        {"access_token": LEAKY, "expires_in": "3600"},
        {"access_token": LEAKY, "expires_in": 3600.0},
        {"access_token": LEAKY, "expires_in": True},
        {"access_token": LEAKY, "expires_in": -1},
        {"access_token": LEAKY, "expires_in": 10**30},
        {"access_token": LEAKY, "refresh_token": ""},
        {"access_token": LEAKY, "refresh_token": ["x"]},
        {"access_token": LEAKY, "scope": ["read:self"]},
        {"access_token": LEAKY, "token_type": 1},
        {"access_token": [LEAKY]},
        {"access_token": LEAKY, "refresh_token": {LEAKY: LEAKY}},
    ],
)
def test_malformed_response_is_refused_without_leaking(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidTokenResponseError) as failure:
        TokenSet.from_token_response(payload, requested_at=T0)
    assert LEAKY not in str(failure.value)
    assert LEAKY not in repr(failure.value)


def test_non_mapping_response_is_refused() -> None:
    with pytest.raises(InvalidTokenResponseError):
        TokenSet.from_token_response([("access_token", "x")], requested_at=T0)  # type: ignore[arg-type]


def test_zero_expires_in_is_an_expired_token() -> None:
    tok = TokenSet.from_token_response({"access_token": "a", "expires_in": 0}, requested_at=T0)
    assert tok.is_expired(T0)


tokens_text = st.text(min_size=8, max_size=64)


@given(access=tokens_text, refresh=st.one_of(st.none(), tokens_text))
def test_repr_and_str_never_show_tokens(access: str, refresh: str | None) -> None:
    tok = TokenSet(access, refresh, T0, frozenset({"read:self", "read:insights"}))
    placeholder = replace(tok, access_token="A" * 8, refresh_token=None if refresh is None else "B" * 8)
    # repr doesn't depend on the token values at all...
    assert repr(tok) == repr(placeholder)
    # ...so a token shows up only if it happens to be a piece of the fixed text.
    for secret in filter(None, (access, refresh)):
        assume(secret not in repr(placeholder))
        for shown in (repr(tok), str(tok), f"{tok}", repr([tok]), repr({"t": tok})):
            assert secret not in shown
    assert REDACTED in repr(tok)


@given(leaky=tokens_text, expires_in=st.one_of(st.text(), st.floats(), st.booleans(), st.integers(max_value=-1)))
def test_invalid_response_messages_never_show_tokens(leaky: str, expires_in: object) -> None:
    payload = {"access_token": leaky, "refresh_token": leaky, "expires_in": expires_in}
    with pytest.raises(InvalidTokenResponseError) as failure:
        TokenSet.from_token_response(payload, requested_at=T0)
    assume(leaky not in "expires_in must be an integer, got strfloatbool; expires_in must not be negative")
    assert leaky not in str(failure.value)


# ---------------------------------------------------------------- naive datetimes are refused everywhere

NAIVE_ENTRY_POINTS: dict[str, Callable[[], object]] = {
    "TokenSet.expires_at": lambda: TokenSet("at-0123456789", None, NAIVE, frozenset()),
    "TokenSet.remaining": lambda: token().remaining(NAIVE),
    "TokenSet.is_expired": lambda: token().is_expired(NAIVE),
    "from_token_response": lambda: TokenSet.from_token_response({"access_token": "a"}, requested_at=NAIVE),
    "needs_refresh": lambda: POLICY.needs_refresh(token(), NAIVE),
    "maintenance.now": lambda: POLICY.maintenance_decision(token(), NAIVE, last_used_at=None, last_refreshed_at=None),
    "maintenance.last_used_at": lambda: POLICY.maintenance_decision(
        token(), T0, last_used_at=NAIVE, last_refreshed_at=None
    ),
    "maintenance.last_refreshed_at": lambda: POLICY.maintenance_decision(
        token(), T0, last_used_at=T0, last_refreshed_at=NAIVE
    ),
}


@pytest.mark.parametrize("call", NAIVE_ENTRY_POINTS.values(), ids=NAIVE_ENTRY_POINTS.keys())
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(NaiveDatetimeError):
        call()


# ---------------------------------------------------------------- T3: when an API call refreshes


@pytest.mark.parametrize(
    ("seconds_left", "refresh"),
    [
        (3599, False),
        (3600, False),
        (901, False),
        (301, False),
        (300.001, False),
        (300, True),
        (299, True),
        (30, True),
        (1, True),
        (0, True),
        (-1, True),
        (-86400, True),
    ],
)
def test_t3_needs_refresh_table(seconds_left: float, refresh: bool) -> None:
    assert POLICY.needs_refresh(token(seconds_left), T0) is refresh


@pytest.mark.parametrize(("leeway", "seconds_left", "refresh"), [(60, 61, False), (60, 60, True), (120, 119, True)])
def test_leeway_is_configurable(leeway: int, seconds_left: int, refresh: bool) -> None:
    policy = RefreshPolicy(leeway=timedelta(seconds=leeway), proactive_window=timedelta(seconds=leeway))
    assert policy.needs_refresh(token(seconds_left), T0) is refresh


@pytest.mark.parametrize(
    "kwargs",
    [
        {"leeway": timedelta(0)},
        {"leeway": timedelta(seconds=-1)},
        {"leeway": timedelta(minutes=20)},  # wider than the default 15-min proactive window
        {"idle_after": timedelta(0)},
        {"idle_refresh_interval": timedelta(0)},
    ],
)
def test_refresh_policy_validates(kwargs: dict[str, timedelta]) -> None:
    with pytest.raises(DomainValueError):
        RefreshPolicy(**kwargs)


# ---------------------------------------------------------------- T3: the maintenance job

DAY = timedelta(days=1)
R = MaintenanceReason


@pytest.mark.parametrize(
    ("seconds_left", "used_ago", "refreshed_ago", "reason"),
    [
        # Active (used within 7 days): refresh only inside the 15-min window.
        (3599, timedelta(minutes=1), timedelta(seconds=1), R.NOT_DUE),
        (901, timedelta(minutes=1), timedelta(minutes=45), R.NOT_DUE),
        (900, timedelta(minutes=1), timedelta(minutes=45), R.IN_PROACTIVE_WINDOW),
        (899, 7 * DAY, timedelta(minutes=45), R.IN_PROACTIVE_WINDOW),  # exactly 7 days is not "more than"
        (-5000, 6 * DAY, 2 * DAY, R.IN_PROACTIVE_WINDOW),  # expired counts as inside the window
        (1800, 6 * DAY, 30 * DAY, R.NOT_DUE),
        # Idle (not used for more than 7 days, or never): at most once per 7 days, whatever the expiry.
        (-86400, 7 * DAY + timedelta(seconds=1), 6 * DAY, R.IDLE_RECENTLY_REFRESHED),
        (60, 30 * DAY, 7 * DAY - timedelta(seconds=1), R.IDLE_RECENTLY_REFRESHED),
        (-86400, 30 * DAY, 7 * DAY, R.IDLE_KEEPALIVE),
        (3599, 30 * DAY, 8 * DAY, R.IDLE_KEEPALIVE),  # keep-alive refreshes even a fresh access token
        (-86400, None, 3 * DAY, R.IDLE_RECENTLY_REFRESHED),  # never used
        (-86400, None, None, R.IDLE_KEEPALIVE),  # never used, never refreshed
        (-86400, 30 * DAY, None, R.IDLE_KEEPALIVE),
    ],
)
def test_t3_maintenance_table(
    seconds_left: int, used_ago: timedelta | None, refreshed_ago: timedelta | None, reason: MaintenanceReason
) -> None:
    decision = POLICY.maintenance_decision(
        token(seconds_left),
        T0,
        last_used_at=None if used_ago is None else T0 - used_ago,
        last_refreshed_at=None if refreshed_ago is None else T0 - refreshed_ago,
    )
    assert decision.reason is reason
    assert decision.refresh is (reason in {R.IN_PROACTIVE_WINDOW, R.IDLE_KEEPALIVE})


@pytest.mark.parametrize("used_ago", [None, timedelta(minutes=1), 30 * DAY])
def test_maintenance_never_refreshes_without_refresh_token(used_ago: timedelta | None) -> None:
    decision = POLICY.maintenance_decision(
        token(-10, refresh=None), T0, last_used_at=None if used_ago is None else T0 - used_ago, last_refreshed_at=None
    )
    assert decision.reason is R.NO_REFRESH_TOKEN
    assert not decision.refresh


def test_idle_connection_is_refreshed_at_most_weekly() -> None:
    """Run the maintenance job every 5 minutes for 8 weeks on a connection nobody uses."""
    tok, last_refreshed = token(3600), T0
    refreshes: list[datetime] = []
    now = T0
    while now < T0 + 56 * DAY:
        decision = POLICY.maintenance_decision(tok, now, last_used_at=T0 - 30 * DAY, last_refreshed_at=last_refreshed)
        if decision.refresh:
            refreshes.append(now)
            tok, last_refreshed = token(3600, now=now), now
        now += timedelta(minutes=5)
    assert len(refreshes) == 7  # days 7, 14, ..., 49
    assert all(b - a >= 7 * DAY for a, b in zip([T0, *refreshes], refreshes, strict=False))


def test_active_connection_maintenance_refreshes_once_per_token_inside_window() -> None:
    """Maintenance every 5 min for a day on a busy connection: one refresh per token, 10-15 min ahead."""
    tok = TokenSet.from_token_response({"access_token": "a0", "refresh_token": "r0"}, requested_at=T0)
    lead_times: list[timedelta] = []
    now = T0
    while now < T0 + DAY:
        decision = POLICY.maintenance_decision(tok, now, last_used_at=now, last_refreshed_at=None)
        if decision.refresh:
            lead_times.append(tok.remaining(now))
            tok = TokenSet.from_token_response({"access_token": f"a{now}", "refresh_token": "r"}, requested_at=now)
        now += timedelta(minutes=5)
    assert all(timedelta(minutes=10) < lead <= timedelta(minutes=15) for lead in lead_times)
    # One refresh per 1-h token, 15 min early: every 45 min, at 0:45 ... 23:15.
    assert len(lead_times) == 31


# ---------------------------------------------------------------- T4: 24 simulated hours


def simulate_day(policy: RefreshPolicy, *, call_every: timedelta = timedelta(seconds=10)) -> list[timedelta]:
    """One API call every ``call_every`` for 24 h; returns the life left in the token at each refresh."""
    counter = 0

    def refresh(now: datetime) -> TokenSet:
        nonlocal counter
        counter += 1
        payload = {"access_token": f"access-{counter}", "expires_in": 3600, "refresh_token": f"refresh-{counter}"}
        return TokenSet.from_token_response(payload, requested_at=now)

    tok = refresh(T0)  # the grant from the OAuth callback: not counted
    left_at_refresh: list[timedelta] = []
    now = T0
    while now < T0 + DAY:
        if policy.needs_refresh(tok, now):
            left_at_refresh.append(tok.remaining(now))
            tok = refresh(now)
        assert not tok.is_expired(now), "an API call went out with an expired token"
        now += call_every
    return left_at_refresh


@pytest.mark.parametrize("leeway", [60, 120, 300, 45, 299])
def test_t4_refresh_count_over_a_day(leeway: int) -> None:
    policy = RefreshPolicy(leeway=timedelta(seconds=leeway))
    left_at_refresh = simulate_day(policy)
    expected = 86400 / (3600 - leeway)
    assert abs(len(left_at_refresh) - expected) <= 1
    # Never while more than the leeway of life remained.
    assert all(left <= policy.leeway for left in left_at_refresh)


def test_t4_default_leeway_is_26_plus_minus_1() -> None:
    assert 25 <= len(simulate_day(POLICY)) <= 27


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("status", "oauth_error", "sent", "expected"),
    [
        (400, "invalid_grant", True, TERMINAL),
        (400, "invalid_client", True, TERMINAL),
        (401, "invalid_client", True, TERMINAL),
        (400, "unauthorized_client", True, TERMINAL),
        (400, "unsupported_grant_type", True, TERMINAL),
        (400, "invalid_scope", True, TERMINAL),
        (400, "invalid_request", True, TERMINAL),
        (400, None, True, TERMINAL),
        (403, None, True, TERMINAL),
        (404, None, True, TERMINAL),
        (410, None, True, TERMINAL),
        (429, None, True, TRANSIENT),
        (408, None, True, TRANSIENT),
        (500, None, True, TRANSIENT),
        (502, None, True, TRANSIENT),
        (503, "temporarily_unavailable", True, TRANSIENT),
        (503, "invalid_grant", True, TRANSIENT),  # a 5xx says nothing reliable about the grant
        (400, "temporarily_unavailable", True, TRANSIENT),
        (400, "server_error", True, TRANSIENT),
        (None, None, False, TRANSIENT),  # connection refused / DNS: never reached the server
        (None, None, True, AMBIGUOUS),  # read timeout: the server may have rotated
        (200, None, True, AMBIGUOUS),  # 200 with an unusable body: the server did rotate
        (302, None, True, TRANSIENT),
    ],
)
def test_classification_table(
    status: int | None, oauth_error: str | None, sent: bool, expected: TokenFailureClass
) -> None:
    # Without a response only `sent` decides: a timeout and a dropped connection are alike.
    assert classify_token_failure(status=status, oauth_error=oauth_error, sent=sent) is expected


@pytest.mark.parametrize("status", [0, 99, 600, True])
def test_classification_refuses_non_http_status(status: int) -> None:
    with pytest.raises(DomainValueError):
        classify_token_failure(status=status, oauth_error=None, sent=True)


# ---------------------------------------------------------------- retry policy (T9)


def attempt(
    failure: TokenFailureClass, retry_after: float | None = None, oauth_error: str | None = None
) -> RefreshAttempt:
    return RefreshAttempt(failure, None if retry_after is None else timedelta(seconds=retry_after), oauth_error)


def test_t9_429_with_retry_after_waits_at_least_that_long() -> None:
    for jitter in (0.0, 0.3, 1.0):
        action = RETRY.next_action([attempt(TRANSIENT, retry_after=2)], jitter=jitter)
        assert action.kind is RefreshActionKind.RETRY
        assert action.delay >= timedelta(seconds=2)


def test_t9_transient_failures_retry_three_times_then_give_up_without_reauth() -> None:
    history: list[RefreshAttempt] = []
    actions: list[RefreshAction] = []
    for failure in [attempt(TRANSIENT), attempt(AMBIGUOUS), attempt(TRANSIENT, retry_after=2), attempt(TRANSIENT)]:
        history.append(failure)
        actions.append(RETRY.next_action(history, jitter=1.0))
    assert [a.kind for a in actions] == [RefreshActionKind.RETRY] * 3 + [RefreshActionKind.GIVE_UP_TRANSIENT]
    assert not any(a.needs_reauth for a in actions)
    assert actions[2].delay >= timedelta(seconds=2)


def test_exponential_backoff_with_jitter() -> None:
    delays = [RETRY.next_action([attempt(TRANSIENT)] * n, jitter=1.0).delay for n in (1, 2, 3)]
    assert delays == [timedelta(seconds=0.5), timedelta(seconds=1), timedelta(seconds=2)]
    assert RETRY.next_action([attempt(TRANSIENT)] * 3, jitter=0.5).delay == timedelta(seconds=1)
    assert RETRY.next_action([attempt(TRANSIENT)], jitter=0.0).delay == timedelta(0)
    many = RefreshRetryPolicy(max_retries=10_000)
    assert many.backoff(9_999, jitter=1.0) == many.max_delay


def test_only_the_failure_class_decides_terminal() -> None:
    # A 5xx whose body says invalid_grant is classified TRANSIENT; the retry policy must agree.
    five_oh_three = classify_token_failure(status=503, oauth_error="invalid_grant", sent=True)
    action = RETRY.next_action([attempt(five_oh_three, oauth_error="invalid_grant")], jitter=0.5)
    assert action.retry
    assert not action.needs_reauth


def test_ambiguous_retries_once_then_invalid_grant_is_terminal() -> None:
    first = RETRY.next_action([attempt(AMBIGUOUS)], jitter=0.5)
    assert first.kind is RefreshActionKind.RETRY
    after = RETRY.next_action([attempt(AMBIGUOUS), attempt(TERMINAL, oauth_error="invalid_grant")], jitter=0.5)
    assert after.kind is RefreshActionKind.GIVE_UP_TERMINAL
    assert after.needs_reauth


def test_ambiguous_twice_gives_up_transient() -> None:
    action = RETRY.next_action([attempt(AMBIGUOUS), attempt(AMBIGUOUS)], jitter=0.5)
    assert action.kind is RefreshActionKind.GIVE_UP_TRANSIENT
    assert not action.needs_reauth


def test_terminal_gives_up_at_once() -> None:
    assert RETRY.next_action([attempt(TERMINAL, oauth_error="invalid_client")], jitter=1).needs_reauth


def test_retry_after_longer_than_max_delay_gives_up_for_now() -> None:
    action = RETRY.next_action([attempt(TRANSIENT, retry_after=120)], jitter=1.0)
    assert action.kind is RefreshActionKind.GIVE_UP_TRANSIENT
    assert action.delay == timedelta(seconds=120)


def test_zero_retries_policy() -> None:
    action = RefreshRetryPolicy(max_retries=0).next_action([attempt(TRANSIENT)], jitter=1.0)
    assert action.kind is RefreshActionKind.GIVE_UP_TRANSIENT


@pytest.mark.parametrize("jitter", [-0.1, 1.1, float("nan"), True, "0.5"])
def test_jitter_must_be_in_unit_interval(jitter: float) -> None:
    with pytest.raises(DomainValueError):
        RETRY.next_action([attempt(TRANSIENT)], jitter=jitter)


def test_next_action_needs_history() -> None:
    with pytest.raises(DomainValueError):
        RETRY.next_action([], jitter=0.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": True},
        {"max_ambiguous_retries": -1},
        {"base_delay": timedelta(seconds=-1)},
        {"base_delay": timedelta(seconds=60)},
    ],
)
def test_retry_policy_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(DomainValueError):
        RefreshRetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempt_validates_retry_after() -> None:
    with pytest.raises(DomainValueError):
        attempt(TRANSIENT, retry_after=-1)


attempts = st.builds(
    RefreshAttempt,
    st.sampled_from(list(TokenFailureClass)),
    st.one_of(st.none(), st.integers(0, 100).map(lambda s: timedelta(seconds=s))),
    st.sampled_from([None, "invalid_grant", "invalid_client", "server_error", "temporarily_unavailable"]),
)
retry_policies = st.builds(
    RefreshRetryPolicy,
    st.integers(0, 6),
    st.integers(0, 2000).map(lambda ms: timedelta(milliseconds=ms)),
    st.integers(2000, 60_000).map(lambda ms: timedelta(milliseconds=ms)),
    st.integers(0, 3),
)


@given(policy=retry_policies, history=st.lists(attempts, min_size=1, max_size=12), jitter=st.floats(0, 1))
def test_policy_properties_for_any_history(
    policy: RefreshRetryPolicy, history: list[RefreshAttempt], jitter: float
) -> None:
    action = policy.next_action(history, jitter=jitter)
    if action.retry:
        # This retry would be number len(history): never more than max_retries.
        assert len(history) <= policy.max_retries
        retry_after = history[-1].retry_after
        if retry_after is not None:
            assert action.delay >= retry_after
        assert action.delay <= policy.max_delay
    if action.kind is RefreshActionKind.GIVE_UP_TERMINAL:
        assert any(a.failure is TERMINAL for a in history)
    else:
        assert not action.needs_reauth


@given(policy=retry_policies, outcomes=st.lists(attempts, min_size=1, max_size=20), jitter=st.floats(0, 1))
def test_driving_the_policy_never_exceeds_max_retries(
    policy: RefreshRetryPolicy, outcomes: list[RefreshAttempt], jitter: float
) -> None:
    """Feed failures one by one as a refresher would; stop when the policy stops."""
    history: list[RefreshAttempt] = []
    for outcome in outcomes:
        history.append(outcome)
        action = policy.next_action(history, jitter=jitter)
        if not action.retry:
            break
    retries = len(history) - 1
    assert retries <= policy.max_retries
    ambiguous_retries = sum(1 for a in history[:-1] if a.failure is AMBIGUOUS)
    assert ambiguous_retries <= policy.max_ambiguous_retries
