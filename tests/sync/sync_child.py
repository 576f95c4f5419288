"""One agency sync in a process of its own, for the kill-and-resume test (S7, ``test_sigkill_resume.py``).

    .venv/bin/python tests/sync/sync_child.py <database_url> <seed> <cipher key>

Builds the seeded in-process sandbox (always the same world: same seed, same frozen ``now``), reconnects the
agency and every creator (a fresh sandbox's OAuth server knows only the tokens it issued itself, so the stored
ones from an earlier process are replaced), imports the creators if the database has none yet, and runs the
whole agency sync. The sandbox answers each request after a short real delay, so the sync lasts long enough to
be killed in the middle. Exits 0 when the sync completed without anything partial, 3 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sandbox_runtime import connect_agency, connect_creator, sandbox_runtime
from onyx_core.ids import AgencyId
from onyx_core.usecases import AgencySyncReport, import_creators, sync_agency
from onyx_fanvue.sandbox.clock import SandboxClock
from onyx_fanvue.sandbox.sandbox import FanvueSandbox
from onyx_fanvue.sandbox.world import WorldSpec

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # frozen: every process sees the same world and sync window
AGENCY = AgencyId("kill-agency")
CREATORS = 3
DAYS = 365
LATENCY = 0.008
"""Real seconds per sandbox answer: a whole run (start-up included) then takes about 2 s, a window to kill it in."""


def world_sandbox(seed: int, *, latency: float = LATENCY) -> FanvueSandbox:
    """The same world for every process of a run (and for the oracle)."""
    spec = WorldSpec(seed=seed, creators=CREATORS, days=DAYS)
    return FanvueSandbox(spec=spec, clock=SandboxClock(NOW), latency=latency)


async def sync_once(database_url: str, seed: int, cipher_key: str, *, latency: float = LATENCY) -> AgencySyncReport:
    """Connect (again), import if nothing is imported yet, and sync the whole agency once."""
    sandbox = world_sandbox(seed, latency=latency)
    cipher = FernetCipher([cipher_key])
    async with sandbox_runtime(sandbox, database_url, cipher, virtual_time=False) as runtime:
        await connect_agency(runtime, sandbox, AGENCY, "Kill Agency")
        async with runtime.ctx.uow() as uow:
            imported = await uow.creators.for_agency(AGENCY)
        if not imported:
            await import_creators(runtime.ctx, AGENCY)
        for creator in sandbox.world.creators:
            await connect_creator(runtime, sandbox, creator.person.handle)
        return await sync_agency(runtime.ctx, AGENCY, import_first=False)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: sync_child.py <database_url> <seed> <cipher key>\n")
        return 2
    url, seed, key = argv[0], int(argv[1]), argv[2]
    report = asyncio.run(sync_once(url, seed, key))
    return 3 if report.partial else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
