"""The live hub and its sources below the web: a subscriber that falls behind gets one agency-wide change instead
of an unbounded queue; a change published from another thread (a commit on another event loop) arrives; on
PostgreSQL, one transaction that bumps 600 creators notifies them all, in payloads under the NOTIFY limit (a too
long payload would fail the writer's transaction), and only when it commits."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import insert

from onyx_adapters.crypto import FernetCipher
from onyx_adapters.live import ChangeHub, PostgresChangeListener
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.repositories.versions import bump_creators
from onyx_adapters.sql.schema import agencies, creators
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.ids import AgencyId, CreatorId
from onyx_core.live import DataChange

A = AgencyId("agency-a")


def test_a_subscriber_that_falls_behind_gets_one_agency_wide_change() -> None:
    async def go() -> list[DataChange]:
        hub = ChangeHub(queue_size=3)
        async with hub.subscribe(A) as slow:
            for n in range(10):
                hub.publish(DataChange(A, frozenset({CreatorId(f"c{n}")})))
            first = await slow.next_change()
            rest = []
            while True:
                try:
                    rest.append(await asyncio.wait_for(slow.next_change(), 0.05))
                except TimeoutError:
                    break
        assert hub.subscribers(A) == 0
        return [first, *rest]

    got = asyncio.run(go())
    # the queue held 3; the 4th found it full: one "read everything again" then what came after it
    assert got[0] == DataChange(A, agency_wide=True)
    assert len(got) <= 3


def test_a_change_published_from_another_thread_arrives() -> None:
    async def go() -> DataChange:
        hub = ChangeHub()
        async with hub.subscribe(A) as subscription:
            threading.Thread(target=hub.publish, args=(DataChange(A, frozenset({CreatorId("x")})),)).start()
            return await asyncio.wait_for(subscription.next_change(), 5)

    assert asyncio.run(go()) == DataChange(A, frozenset({CreatorId("x")}))


def test_one_transaction_of_600_creators_notifies_them_all_at_commit(postgresql_database: str) -> None:
    url = postgresql_database
    agency = AgencyId(f"ag-{uuid.uuid4().hex[:12]}")
    ids = [CreatorId(str(uuid.uuid4())) for _ in range(600)]

    async def go() -> tuple[set[CreatorId], int]:
        engine = create_engine(url)
        hub = ChangeHub(queue_size=1000)
        listener = PostgresChangeListener(url, hub)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(agencies).values(id=agency, name="Live", fanvue_user_uuid=str(uuid.uuid4())))
                now = datetime.now(UTC)
                rows = [
                    {"id": c, "agency_id": agency, "handle": c[:8], "display_name": "C", "imported_at": now}
                    for c in ids
                ]
                await conn.execute(insert(creators), rows)
            async with hub.subscribe(agency) as subscription:
                await listener.start()
                assert listener.listening.is_set()
                async with SqlUnitOfWork(
                    engine, FernetCipher([FernetCipher.generate_key()])
                ) as uow:  # rolled back: nothing
                    await bump_creators(uow, ids[:10])
                async with SqlUnitOfWork(engine, FernetCipher([FernetCipher.generate_key()])) as uow:
                    await bump_creators(uow, ids)
                    await uow.commit()
                heard: set[CreatorId] = set()
                payloads = 0
                while len(heard) < len(ids):
                    change = await asyncio.wait_for(subscription.next_change(), 5)
                    assert change.agency_id == agency
                    assert not change.agency_wide
                    heard |= change.creator_ids
                    payloads += 1
                return heard, payloads
        finally:
            await listener.aclose()
            await engine.dispose()

    heard, payloads = asyncio.run(go())
    assert heard == set(ids)
    assert payloads == 4  # 600 ids of 36 characters: 3 payloads of ~7 kB and the rest (none of the rolled back's)
