"""T4: 24 simulated hours of one API call every 10 s refresh the token 86400 / (3600 - leeway) +- 1 times, each
time only once less than the leeway of life was left.

The calls go through the production path: the runtime's :class:`~onyx_adapters.fanvue_clients.ConnectionClients`
(an SDK client whose :class:`~onyx_fanvue.oauth.RefreshingAuth` reads the tokens from the SQL token store on every
request) with the agency's stored connection. The sandbox issues tokens with ``expires_in=3600`` and its clock
moves 10 s before each call; the token endpoint's hit counter tells which calls refreshed.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from harness import synced_world

from onyx_core.connections import ConnectionStatus
from onyx_fanvue.oauth import OAuthToken

DAY = 86_400
EVERY = 10
EXPIRES_IN = 3600


async def test_a_day_of_calls_refreshes_only_within_the_leeway(sync_database_url: str) -> None:
    async with synced_world(sync_database_url, creators=1, own=0, expires_in=EXPIRES_IN) as world:
        sandbox, runtime = world.sandbox, world.runtime
        leeway = runtime.ctx.refresh_policy.leeway
        async with world.ctx.uow() as uow:
            connection = await uow.connections.for_agency(world.agency)
        assert connection is not None
        client = runtime.clients(connection)
        store = runtime.clients.store(connection.id)

        async def stored() -> OAuthToken:
            token = await store.load()
            assert token is not None
            return token

        token = await stored()
        start = sandbox.clock.now()
        refreshed_at: list[timedelta] = []
        for call in range(DAY // EVERY):
            if call:
                sandbox.advance(EVERY)
            now = sandbox.clock.now()
            remaining = token.expires_at - now
            hits = sandbox.token_endpoint_hits
            me = await client.users.me()
            assert me.uuid == sandbox.admin
            refreshes = sandbox.token_endpoint_hits - hits
            assert refreshes in (0, 1), f"call {call}: {refreshes} token requests"
            if remaining <= leeway:
                # due: this call refreshed first, and the new token was stored before it was used
                assert refreshes == 1, f"call {call}: the token had {remaining} left and was not refreshed"
                token = await stored()
                assert token.expires_at - now >= timedelta(seconds=EXPIRES_IN) - timedelta(seconds=1)
                refreshed_at.append(now - start)
            else:
                assert refreshes == 0, f"call {call}: refreshed with {remaining} of life left (leeway {leeway})"

        expected = DAY / (EXPIRES_IN - leeway.total_seconds())  # 26.18 at the default 300 s leeway
        assert abs(len(refreshed_at) - expected) <= 1, (len(refreshed_at), expected)
        gaps = {later - earlier for earlier, later in pairwise(refreshed_at)}
        assert gaps == {timedelta(seconds=EXPIRES_IN) - leeway}, gaps
        async with world.ctx.uow() as uow:
            after = await uow.connections.get(connection.id)
        assert after is not None
        assert after.status is ConnectionStatus.ACTIVE
