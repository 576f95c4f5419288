"""The public fakes: the storage contract suite run against the in-memory unit of work, and the small fakes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from onyx_core.catalog import Agency
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.errors import (
    ConcurrentUpdateError,
    DomainValueError,
    InvalidCiphertextError,
    NaiveDatetimeError,
    OnyxError,
)
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.stats import EventKind, MetricRecord, StatsEvent
from onyx_core.testing import contracts
from onyx_core.testing.contracts import ALL_CONTRACTS, Contract, ContractViolation
from onyx_core.testing.fakes import (
    InMemoryCache,
    InMemoryLock,
    InMemoryStore,
    InMemoryUnitOfWork,
    ManualClock,
    ReversibleCipher,
)
from onyx_core.tokens import TokenSet

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
AGENCY = Agency(AgencyId("a-1"), "Agency One")
CREATOR = CreatorId("c-1")


def factory(store: InMemoryStore):
    return lambda: InMemoryUnitOfWork(store)


def connection(version: int = 1) -> Connection:
    tokens = TokenSet("access", "refresh", T0 + timedelta(hours=1), frozenset({"read:self"}))
    return Connection(
        ConnectionId("conn-1"), ConnectionKind.AGENCY, AGENCY.id, None, "fv-1", ConnectionStatus.ACTIVE, tokens,
        version,
    )  # fmt: skip


# ----------------------------------------------------------------------------- the contract suite


@pytest.mark.parametrize("contract", ALL_CONTRACTS, ids=lambda c: c.__name__)
async def test_in_memory_unit_of_work_meets_the_contract(contract: Contract):
    await contract(factory(InMemoryStore()))


async def test_the_contracts_share_one_store_even_concurrently():
    store = InMemoryStore()
    await asyncio.gather(*(contract(factory(store)) for contract in ALL_CONTRACTS))
    await asyncio.gather(*(contract(factory(store)) for contract in ALL_CONTRACTS))


def test_every_check_is_in_the_list():
    checks = {getattr(contracts, name) for name in dir(contracts) if name.startswith("check_")}
    assert checks == set(ALL_CONTRACTS)


async def test_the_writers_contract_catches_a_missing_lock(monkeypatch: pytest.MonkeyPatch):
    async def no_lock(self: InMemoryUnitOfWork, table: str, key: str) -> None:
        return None

    monkeypatch.setattr(InMemoryUnitOfWork, "_lock", no_lock)
    with pytest.raises(ContractViolation, match="concurrent updates were lost"):
        await contracts.check_stats_get_for_update_serialises_writers(factory(InMemoryStore()))


# ----------------------------------------------------------------------------- the store and its units


async def test_commits_counts_successful_commits_only():
    store = InMemoryStore()
    async with InMemoryUnitOfWork(store) as uow:
        await uow.agencies.upsert(AGENCY)
    assert store.commits == 0
    async with InMemoryUnitOfWork(store) as uow:
        await uow.agencies.upsert(AGENCY)
        await uow.commit()
    assert store.commits == 1
    assert store.agencies == {AGENCY.id: AGENCY}


async def test_fail_next_commit_applies_nothing_and_fires_once():
    store = InMemoryStore()
    store.fail_next_commit(RuntimeError("disk full"))
    async with InMemoryUnitOfWork(store) as uow:
        await uow.agencies.upsert(AGENCY)
        await uow.stats.save(CREATOR, {}, [StatsEvent("likes", EventKind.APPLIED, T0, "s")], T0)
        with pytest.raises(RuntimeError, match="disk full"):
            await uow.commit()
        assert await uow.agencies.get(AGENCY.id) is None  # a failed commit rolled the unit back
    assert (store.commits, store.agencies, store.stats_events) == (0, {}, [])
    async with InMemoryUnitOfWork(store) as uow:
        await uow.agencies.upsert(AGENCY)
        await uow.commit()
    assert store.commits == 1


async def test_fail_next_commit_can_skip_commits():
    store = InMemoryStore()
    store.fail_next_commit(RuntimeError("later"), skip=2)
    for _ in range(2):
        async with InMemoryUnitOfWork(store) as uow:
            await uow.commit()
    with pytest.raises(RuntimeError, match="later"):
        async with InMemoryUnitOfWork(store) as uow:
            await uow.commit()
    assert store.commits == 2
    with pytest.raises(DomainValueError):
        store.fail_next_commit(RuntimeError(), skip=-1)


async def test_a_failed_commit_releases_the_row_locks():
    store = InMemoryStore()
    store.fail_next_commit(RuntimeError("crash"))
    uow = InMemoryUnitOfWork(store)
    await uow.stats.get_for_update(CREATOR)
    with pytest.raises(RuntimeError):
        await uow.commit()
    async with InMemoryUnitOfWork(store) as other:
        await asyncio.wait_for(other.stats.get_for_update(CREATOR), timeout=1)


async def test_row_locks_last_until_the_transaction_ends():
    store = InMemoryStore()
    order: list[str] = []

    async def second() -> None:
        async with InMemoryUnitOfWork(store) as uow:
            await uow.stats.get_for_update(CREATOR)
            order.append("second")

    async with InMemoryUnitOfWork(store) as uow:
        await uow.stats.get_for_update(CREATOR)
        await uow.stats.get_for_update(CREATOR)  # re-entrant within the unit
        waiter = asyncio.create_task(second())
        await asyncio.sleep(0.01)
        order.append("first")
        await uow.commit()  # ends the transaction: the lock goes with it
        await asyncio.wait_for(waiter, timeout=1)
    assert order == ["first", "second"]


async def test_other_creators_do_not_wait():
    store = InMemoryStore()
    async with InMemoryUnitOfWork(store) as a, InMemoryUnitOfWork(store) as b:
        await a.stats.get_for_update(CREATOR)
        await asyncio.wait_for(b.stats.get_for_update(CreatorId("c-2")), timeout=1)


async def test_a_second_fenced_writer_waits_then_is_refused():
    store = InMemoryStore()
    async with InMemoryUnitOfWork(store) as uow:
        await uow.connections.save(connection(1))
        await uow.commit()
    refreshed = connection(2)
    stale = connection(2)

    async def late_writer() -> None:
        async with InMemoryUnitOfWork(store) as uow:
            await uow.connections.save(stale, expected_version=1)
            await uow.commit()

    async with InMemoryUnitOfWork(store) as uow:
        await uow.connections.save(refreshed, expected_version=1)
        late = asyncio.create_task(late_writer())
        await asyncio.sleep(0.01)
        assert not late.done()  # it waits for the row, like a second UPDATE
        await uow.commit()
    with pytest.raises(ConcurrentUpdateError):
        await late
    assert store.connections[refreshed.id].token_version == 2


async def test_stats_save_refuses_a_record_under_another_metric():
    async with InMemoryUnitOfWork(InMemoryStore()) as uow:
        with pytest.raises(DomainValueError):
            await uow.stats.save(CREATOR, {"likes": MetricRecord("posts")}, [], T0)


async def test_events_are_stored_with_when_they_were_recorded():
    store = InMemoryStore()
    event = StatsEvent("likes", EventKind.APPLIED, T0, "s", None, 5)
    async with InMemoryUnitOfWork(store) as uow:
        await uow.stats.save(CREATOR, {}, [event], T0 + timedelta(seconds=1))
        await uow.commit()
    assert [(r.creator_id, r.recorded_at, r.event) for r in store.stats_events] == [
        (CREATOR, T0 + timedelta(seconds=1), event)
    ]


# ----------------------------------------------------------------------------- clock, lock, cache


async def test_manual_clock_moves_only_when_told():
    clock = ManualClock(T0)
    assert clock.now() == T0
    assert clock.advance(60) == T0 + timedelta(minutes=1)
    assert clock.advance(timedelta(hours=1)) == T0 + timedelta(hours=1, minutes=1)
    await clock.sleep(1.5)
    await clock.sleep(0)
    assert clock.now() == T0 + timedelta(hours=1, minutes=1, seconds=1.5)
    assert clock.sleeps == [1.5, 0]
    with pytest.raises(DomainValueError):
        clock.advance(-1)
    with pytest.raises(NaiveDatetimeError):
        ManualClock(datetime(2026, 1, 1))


async def test_in_memory_lock_serialises_holders_per_key():
    lock = InMemoryLock()
    inside = 0
    most = 0

    async def holder() -> None:
        nonlocal inside, most
        async with lock.hold("refresh:conn-1"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(holder() for _ in range(10)))
    assert most == 1
    assert lock.acquisitions == {"refresh:conn-1": 10}
    assert not lock.held("refresh:conn-1")
    async with lock.hold("a"):
        assert lock.held("a")
        async with lock.hold("b"):  # another key is independent
            assert lock.held("b")
    assert lock.acquisitions["a"] == lock.acquisitions["b"] == 1


async def test_in_memory_cache_expires_by_the_clock():
    clock = ManualClock(T0)
    cache = InMemoryCache(clock)
    assert await cache.get("k") is None
    await cache.set("k", b"v", timedelta(seconds=30))
    clock.advance(29)
    assert await cache.get("k") == b"v"
    clock.advance(1)
    assert await cache.get("k") is None  # at expiry it is already gone
    await cache.set("k", b"v2", timedelta(minutes=1))
    await cache.delete("k")
    await cache.delete("never-set")
    assert await cache.get("k") is None
    await cache.set("z", b"v", timedelta(0))
    assert await cache.get("z") is None


# ----------------------------------------------------------------------------- cipher


def test_cipher_round_trips_and_hides_the_plaintext():
    cipher = ReversibleCipher(b"test key")
    secret = b"refresh-token-0123456789-" * 4
    for plaintext in (b"", b"x", secret):
        assert cipher.decrypt(cipher.encrypt(plaintext)) == plaintext
    ciphertext = cipher.encrypt(secret)
    assert b"refresh-token" not in ciphertext
    assert secret not in ciphertext
    assert cipher.encrypt(secret) != ciphertext  # a fresh nonce each time


@pytest.mark.parametrize("position", [0, 25, 40, -40, -1])
def test_cipher_detects_tampering(position: int):
    cipher = ReversibleCipher()
    ciphertext = bytearray(cipher.encrypt(b"a secret worth keeping"))
    ciphertext[position] ^= 0x01
    with pytest.raises(InvalidCiphertextError):
        cipher.decrypt(bytes(ciphertext))


def test_cipher_refuses_other_keys_and_garbage():
    ciphertext = ReversibleCipher(b"one").encrypt(b"secret")
    with pytest.raises(OnyxError):
        ReversibleCipher(b"two").decrypt(ciphertext)
    with pytest.raises(InvalidCiphertextError):
        ReversibleCipher(b"one").decrypt(ciphertext[:-1])
    with pytest.raises(InvalidCiphertextError):
        ReversibleCipher(b"one").decrypt(b"secret")
    with pytest.raises(DomainValueError):
        ReversibleCipher(b"")
