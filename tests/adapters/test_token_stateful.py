"""T11 (``/work/shared/requirements.md``): a 1,000-step Hypothesis stateful run (concurrent calls, clock jumps,
worker restarts, no crash inside the refresh commit) ends with 0 ``invalid_grant`` answers and the refresh token in
the database equal to the sandbox's live one. On SQLite and PostgreSQL.

Three workers share one connection row, each built as its own process would build it (see ``token_workers``): own
engine and database sessions, own ``ConnectionClients``/``RefreshingAuth``/``AsyncSqlTokenStore``, own OAuth client,
own clock (the sandbox's plus the machine's skew). Nothing in memory is shared, so the only thing keeping them apart
is the store's database lock, which is the same one separate processes take: a ``pg_advisory_lock`` and
``SELECT … FOR UPDATE`` in a session of the worker's own engine on PostgreSQL, the ``BEGIN IMMEDIATE`` write lock of
its own connection on SQLite. (T2 runs real OS processes against a served sandbox; here, in one process, Hypothesis
can choose the schedule and move every clock.) The sandbox is Fanvue's Ory with grace period 0: a reused refresh
token answers ``invalid_grant`` and revokes the grant.

The rules: bursts of concurrent API calls by any workers, with the maintenance job's refresh (under the same lock,
only inside its 15-minute window) mixed in; time passing (a little, right up to a chosen life left on the stored
token, or hours past expiry); a machine's clock stepping to another skew of up to ±10 min; a worker restarting
(its in-memory state dropped, rebuilt from the database); the token endpoint failing before the server sees the
request (503 from a gateway or a refused connection, several times in a row so that a whole refresh fails); a
worker's process reconnecting the account (the connect flow's write of a new grant through that worker's connection
repository), optionally after disconnecting it. Workers keep the token in memory (``RefreshingAuth`` over the
store's ``generation()``), so a reconnect or disconnect made in one worker's process must take effect on its very
next call: after a disconnect that call raises ``MissingTokenError`` and sends nothing, and after the reconnect every
request of that worker carries the new grant's tokens (the old grant stays live at the sandbox, so only the store's
generation can tell). The other workers, other processes, may go on with the old grant's access token until their
re-validation age, a 401 or the leeway sends them to the database; none may ever spend a refresh token. A
crash inside the refresh commit is left out, as T11 says: a token rotated by the server but never stored is lost by
definition. After every step: no ``invalid_grant`` so far, the database holds the sandbox's one unspent refresh
token, ``token_version`` only rose and rose once per rotation or reconnect, and every call succeeded (with at most
one retry) unless the token endpoint failed during that step, and then only with a transient error.

Steps: 10 runs of 100 steps (1,000 in all, counted below rather than trusted), not one run of 1,000: each run
starts from a fresh sandbox and database row, so ten different schedules are explored instead of one, and a failing
history is a tenth as long to read. Each run still crosses many token lifetimes (one ``time_passes`` step can move
hours). Every step after a run's first (starting the workers) is an event followed by a burst of concurrent work.
Shrinking is off: the workers really run concurrently, so replaying the same steps may interleave them differently;
shrinking then spent minutes and ended in Hypothesis's "inconsistent data generation" error, hiding the broken
invariant. Without it a failure is reported within seconds, with its assertion and the steps of its run. 25-55 s per
engine on a busy 2-core machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from token_workers import CIPHER, Shared, Worker

from onyx_adapters.connect import token_set
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.ports import SourceUnavailableError
from onyx_core.tokens import RefreshPolicy
from onyx_fanvue.errors import InvalidGrantError, MissingTokenError, OAuthServerError, TransportError
from onyx_fanvue.oauth import AsyncOAuthClient, OAuthToken
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
WORKERS = 3
RUNS, STEPS = 12, 100  # hypothesis may end a run before STEPS: 12 runs reach REQUIRED_STEPS with room
REQUIRED_STEPS = 1_000
MACHINE_SETTINGS = settings(
    max_examples=RUNS,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # no shrinking: see the module docstring
)
POLICY = RefreshPolicy()
TRANSIENT = (OAuthServerError, TransportError, SourceUnavailableError)
"""What a call or the maintenance job may raise while the token endpoint is failing."""

worker_index = st.integers(0, WORKERS - 1)
job = st.tuples(worker_index, st.sampled_from(("call", "call", "call", "maintain")))
burst = st.lists(job, min_size=1, max_size=8)


async def _together(work: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run ``work`` concurrently (gathered inside the machine's loop); exceptions are returned, not raised."""
    return await asyncio.gather(*work, return_exceptions=True)


async def _close(workers: list[Worker]) -> None:
    await asyncio.gather(*(worker.close() for worker in workers))


def refresh_machine(database_url: str, steps: list[str]) -> type[RuleBasedStateMachine]:
    """The machine on ``database_url``; every rule it runs is appended to ``steps``."""

    class RefreshUnderChaos(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.sandbox = FanvueSandbox(
                spec=WorldSpec(seed=11, creators=1, days=1), clock=SandboxClock(T0), rate_limit=1_000_000
            )
            self.shared = Shared.open(self.sandbox, database_url)
            self.reader = self.shared.reader()
            seed = self.reader.load()
            first = self.reader.version()
            assert seed is not None
            assert seed.refresh_token is not None
            assert first is not None
            self.grant = seed.refresh_token.get_secret_value()  # names the grant to the sandbox even when spent
            self.first_version = self.version = first
            self.reconnects = 0
            self.workers: list[Worker] = []

        def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            try:
                self._run(_close(self.workers))
            finally:
                self.reader.close()
                self.loop.close()

        def _stored(self) -> OAuthToken:
            token = self.reader.load()
            assert token is not None
            return token

        # -- rules

        @initialize(offsets=st.lists(st.integers(-90, 90), min_size=WORKERS, max_size=WORKERS))
        def start_workers(self, offsets: list[int]) -> None:
            steps.append("start_workers")
            self.workers = [Worker(self.shared, timedelta(seconds=offset)) for offset in offsets]

        def _burst(self, jobs: list[tuple[int, str]]) -> None:
            """The workers' concurrent work after each step's event: API calls and maintenance refreshes."""
            wire = self.shared.wire
            failed_before = wire.failed_token_requests
            work = [self.workers[i].me() if kind == "call" else self._maintain(self.workers[i]) for i, kind in jobs]
            results = self._run(_together(work))
            endpoint_failed = wire.failed_token_requests > failed_before
            for (_, kind), result in zip(jobs, results, strict=True):
                if isinstance(result, BaseException):
                    # only a failing token endpoint may fail a call, and then transiently (never a lost grant)
                    assert endpoint_failed, f"{kind}: {result!r}"
                    assert isinstance(result, TRANSIENT), f"{kind}: {result!r}"
                elif kind == "call" and not endpoint_failed:
                    assert tuple(result) in {(200,), (401, 200)}, result  # at most one retry

        async def _maintain(self, worker: Worker) -> bool:
            """The maintenance job on ``worker``, as ``maintain_tokens`` treats an active connection: read the row
            (tokens and ``token_version`` together), refresh only inside the proactive window."""
            async with SqlUnitOfWork(worker.engine, CIPHER) as uow:
                connection = await uow.connections.get(self.shared.connection.id)
            assert connection is not None
            assert connection.tokens is not None
            now = worker.clock()
            decision = POLICY.maintenance_decision(
                connection.tokens, now, last_used_at=now, last_refreshed_at=connection.last_refreshed_at
            )
            return decision.refresh and await worker.clients.refresh(connection)

        @rule(jobs=burst)
        def calls(self, jobs: list[tuple[int, str]]) -> None:
            steps.append("calls")
            self._burst(jobs)

        @rule(seconds=st.one_of(st.integers(1, 600), st.integers(3600, 3 * 3600)), jobs=burst)
        def time_passes(self, seconds: int, jobs: list[tuple[int, str]]) -> None:
            steps.append("time_passes")
            self.sandbox.advance(seconds)
            self._burst(jobs)

        @rule(left=st.integers(-60, 400), jobs=burst)
        def time_passes_until_the_stored_token_has_left(self, left: int, jobs: list[tuple[int, str]]) -> None:
            """Straight to the edge: ``left`` seconds of life (as stamped) on the stored token, if still ahead."""
            steps.append("time_passes_until")
            gap = self._stored().expires_at - timedelta(seconds=left) - self.sandbox.clock.now()
            if gap > timedelta(0):
                self.sandbox.advance(gap)
            self._burst(jobs)

        @rule(worker=worker_index, offset=st.integers(-600, 600), jobs=burst)
        def a_machine_clock_steps(self, worker: int, offset: int, jobs: list[tuple[int, str]]) -> None:
            steps.append("clock_steps")
            self.workers[worker].clock.offset = timedelta(seconds=offset)
            self._burst(jobs)

        @rule(worker=worker_index, jobs=burst)
        def a_worker_restarts(self, worker: int, jobs: list[tuple[int, str]]) -> None:
            steps.append("restart")
            old = self.workers[worker]
            self._run(old.close())
            self.workers[worker] = Worker(self.shared, old.clock.offset)
            self._burst(jobs)

        async def _reconnect(self, worker: Worker, *, disconnect_first: bool) -> str:
            """What the connect flow stores for a new grant (``Connection.with_tokens``, ``token_version`` + 1), on
            ``worker``'s engine: its process's write. Returns the new grant's refresh token."""
            async with SqlUnitOfWork(worker.engine, CIPHER) as uow:
                current = await uow.connections.get_for_update(self.shared.connection.id)
                assert current is not None
                if disconnect_first:
                    await uow.connections.save(
                        current.marked_revoked("disconnected"), expected_version=current.token_version
                    )
                    await uow.commit()
            if disconnect_first:
                with pytest.raises(MissingTokenError):
                    await worker.me()  # the very next call: no token, and nothing sent
                assert worker.sent == []
            grant = OAuthToken.from_response(self.sandbox.tokens(), self.sandbox.clock.now())
            async with SqlUnitOfWork(worker.engine, CIPHER) as uow:
                current = await uow.connections.get_for_update(self.shared.connection.id)
                assert current is not None
                connected = current.with_tokens(token_set(grant), worker.clock())
                await uow.connections.save(connected, expected_version=current.token_version)
                await uow.commit()
            assert grant.refresh_token is not None
            return grant.refresh_token.get_secret_value()

        @rule(worker=worker_index, disconnect_first=st.booleans(), jobs=burst)
        def a_worker_reconnects(self, worker: int, disconnect_first: bool, jobs: list[tuple[int, str]]) -> None:
            steps.append("reconnect")
            reconnecting = self.workers[worker]
            reconnecting.sent.clear()
            self.grant = self._run(self._reconnect(reconnecting, disconnect_first=disconnect_first))
            self.reconnects += 1
            self._burst([(worker, "call"), *jobs])
            unspent = self.sandbox.oauth.unspent_refresh_tokens
            # every request of the reconnecting worker used the new grant (none of the old one it held in memory)
            assert reconnecting.sent
            assert all(unspent(sent) == unspent(self.grant) != frozenset() for sent in reconnecting.sent)

        @rule(times=st.integers(1, 6), failure=st.sampled_from(("503", "connect")), jobs=burst)
        def the_token_endpoint_fails(self, times: int, failure: str, jobs: list[tuple[int, str]]) -> None:
            """The next ``times`` token requests fail before the server sees them (4 in a row fail a refresh)."""
            steps.append("token_endpoint_fails")
            self.shared.wire.fail_token_requests = times
            self.shared.wire.failure = failure
            self._burst(jobs)

        # -- invariants

        @invariant()
        def no_grant_was_refused(self) -> None:
            assert self.shared.wire.invalid_grants == 0, self.shared.wire.token_errors

        @invariant()
        def the_database_holds_the_live_refresh_token(self) -> None:
            stored = self._stored().refresh_token
            assert stored is not None
            assert self.sandbox.oauth.unspent_refresh_tokens(self.grant) == {stored.get_secret_value()}

        @invariant()
        def every_rotation_is_committed_once(self) -> None:
            version = self.reader.version()
            assert version is not None
            assert version >= self.version
            self.version = version
            assert version - self.first_version == self.shared.wire.rotations + self.reconnects

    return RefreshUnderChaos


def test_t11_a_thousand_steps_of_concurrency_clock_jumps_and_restarts_refuse_no_grant(database_url: str) -> None:
    steps: list[str] = []
    run_state_machine_as_test(refresh_machine(database_url, steps), settings=MACHINE_SETTINGS)
    assert len(steps) >= REQUIRED_STEPS, len(steps)


async def test_the_sandbox_names_the_one_unspent_refresh_token_of_a_grant() -> None:
    """The oracle T11 trusts: one unspent refresh token per live grant, the one the last refresh issued; none once
    the grant is revoked (here by reusing a spent token) or for a token the sandbox never issued."""
    sandbox = FanvueSandbox(spec=WorldSpec(seed=11, creators=1, days=1), clock=SandboxClock(T0))
    first = sandbox.tokens()
    unspent = sandbox.oauth.unspent_refresh_tokens
    assert unspent(first["access_token"]) == unspent(first["refresh_token"]) == {first["refresh_token"]}
    async with httpx.AsyncClient(transport=sandbox.transport()) as http:
        oauth = AsyncOAuthClient(sandbox.client_id, sandbox.client_secret, sandbox.redirect_uris[0], http_client=http)
        second = await oauth.refresh(first["refresh_token"])
        assert second.refresh_token is not None
        assert unspent(first["refresh_token"]) == {second.refresh_token.get_secret_value()}
        with pytest.raises(InvalidGrantError):
            await oauth.refresh(first["refresh_token"])
        assert unspent(first["refresh_token"]) == frozenset()
    assert unspent("ory_rt_never_issued") == frozenset()
