"""The refresh policy over generated timelines (bursts, steady calls, idle hours), with the public strategies."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from onyx_core.testing.strategies import EPOCH, token_responses, token_timelines
from onyx_core.tokens import RefreshPolicy, TokenSet


@settings(max_examples=300)
@given(token_timelines(), st.sampled_from([60, 120, 300]))
def test_refreshes_are_lazy_and_calls_never_use_a_dying_token(timeline, leeway_seconds):
    policy = RefreshPolicy(leeway=timedelta(seconds=leeway_seconds))
    body = {"access_token": "a", "refresh_token": "r", "expires_in": timeline.expires_in}
    token = TokenSet.from_token_response(body, requested_at=timeline.start)
    refreshes = 0
    for at in timeline.calls:
        if policy.needs_refresh(token, at):
            assert token.remaining(at) <= policy.leeway, "never refresh with more than the leeway left"
            token = TokenSet.from_token_response(body, requested_at=at, previous=token)
            refreshes += 1
        assert token.remaining(at) > policy.leeway, "every call goes out with more than the leeway of life"
    if timeline.calls:
        # A refresh comes at least (expires_in - leeway) after the previous one: the T4 bound, on any timeline.
        elapsed = (timeline.calls[-1] - timeline.start).total_seconds()
        assert refreshes <= elapsed // (timeline.expires_in - leeway_seconds)


@settings(max_examples=300)
@given(token_responses(), token_responses())
def test_any_token_response_parses_keeps_the_old_refresh_token_and_never_shows_secrets(first, second):
    old = TokenSet.from_token_response(first, requested_at=EPOCH)
    new = TokenSet.from_token_response(second, requested_at=EPOCH + timedelta(hours=1), previous=old)
    if "refresh_token" in second:
        assert new.refresh_token == second["refresh_token"]
    else:
        assert new.refresh_token == old.refresh_token, "T6: no refresh_token in the answer keeps the stored one"
    assert new.expires_at == EPOCH + timedelta(hours=1, seconds=second.get("expires_in", 3600))
    for secret in (first["access_token"], second["access_token"], first.get("refresh_token")):
        if secret:
            assert secret not in repr(new)
            assert secret not in str(old)
