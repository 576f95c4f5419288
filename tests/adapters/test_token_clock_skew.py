"""T10 (``/work/shared/requirements.md``): with the local clock skewed ±90 s from the sandbox, a 2-hour run makes
<= 3 refreshes and every API call succeeds with <= 1 retry. On SQLite and PostgreSQL.

What skew does: Onyx stamps ``expires_at`` on its own clock when it sends the token request, and compares it with
the same clock, so a machine's skew cancels out on the tokens that machine obtained. It matters when a token was
stamped on another machine: the connect flow (the web server) or another worker. A machine whose clock is behind
the one that stamped the token believes it lives longer than it does, and may send it expired (a 401: one forced
refresh and one retry); a machine whose clock is ahead refreshes early. So each run here:

- seeds the row with a token that the connect flow stamped on a correct clock (the sandbox's);
- runs 2 simulated hours (``expires_in=3600``) of one API call every 30 s per worker, through the production
  wiring (:class:`~onyx_adapters.fanvue_clients.ConnectionClients` over the SQL token store), with workers whose
  clocks are 90 s ahead, 90 s behind, or one of each sharing the row (180 s apart: each uses the other's tokens);
- at the default leeway (300 s) and at 60 s (the lowest that trusted clients use): the bound must hold for any
  leeway Onyx allows to be configured, and at 60 s a clock 90 s behind really does send an expired token.

Time is virtual: the sandbox clock moves 30 s between ticks, so a run takes a few seconds. 30 s is as wide as the
narrowest window in which a token can be sent expired here (a clock 90 s behind with a 60 s leeway), so some call
always falls into it. Every request is counted on the wire: a call's requests are its first attempt plus its
retries.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from token_workers import Shared, Worker

from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
TWO_HOURS, EVERY, EXPIRES_IN = 7200, 30, 3600
SKEWS = {"ahead": (90,), "behind": (-90,), "ahead-and-behind": (90, -90)}


@pytest.mark.parametrize("leeway", [300, 60], ids=["leeway300", "leeway60"])
@pytest.mark.parametrize("skews", list(SKEWS.values()), ids=list(SKEWS))
async def test_t10_a_skewed_clock_costs_at_most_three_refreshes_and_one_retry_per_call(
    database_url: str, skews: tuple[int, ...], leeway: int
) -> None:
    sandbox = FanvueSandbox(
        spec=WorldSpec(seed=10, creators=1, days=1),
        clock=SandboxClock(T0),
        expires_in=EXPIRES_IN,
        rate_limit=100_000,
    )
    shared = Shared.open(sandbox, database_url, timedelta(seconds=leeway))
    seeded = shared.reader()
    workers = [Worker(shared, timedelta(seconds=skew)) for skew in skews]
    calls: list[list[int]] = []
    try:
        for tick in range(TWO_HOURS // EVERY + 1):
            if tick:
                sandbox.advance(EVERY)
            results = await asyncio.gather(*(worker.me() for worker in workers), return_exceptions=True)
            failed = [result for result in results if isinstance(result, BaseException)]
            assert not failed, f"at {tick * EVERY} s: {failed!r}"
            calls += [result for result in results if not isinstance(result, BaseException)]
        stored = seeded.load()
        grant = sandbox.oauth.unspent_refresh_tokens
    finally:
        for worker in workers:
            await worker.close()
        seeded.close()

    wire = shared.wire
    assert len(calls) == len(workers) * (TWO_HOURS // EVERY + 1)
    # every call succeeded, with at most one retry: a 401, one forced refresh, then the retry
    assert {tuple(statuses) for statuses in calls} <= {(200,), (401, 200)}
    # two 1-hour tokens must follow the seed within 2 hours; skew may cost one more, never four
    assert 2 <= wire.token_requests <= 3, wire.token_requests
    assert wire.rotations == wire.token_requests
    assert wire.invalid_grants == 0
    # clocks that differ by less than the leeway never send an expired token at all
    clocks = (0, *skews)
    if max(clocks) - min(clocks) < leeway:
        assert wire.unauthorized == 0, f"{wire.unauthorized} expired tokens sent (clocks {clocks}, leeway {leeway})"
    assert stored is not None
    assert stored.refresh_token is not None
    live = stored.refresh_token.get_secret_value()
    assert grant(live) == {live}  # the DB holds the sandbox's live refresh token
