"""The one lease, against a real MongoDB wire-protocol server: expiry is the server's
arithmetic on the server's clock, only the holder's token renews or releases, renewals move
the holder's deadline on, and a holder whose renewals fail is stopped at its deadline,
before anyone else can take the lease."""

import asyncio

import pytest
from pymongo.database import Database

from application.errors import StorageUnavailable
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_lease import LeaseFields, LeaseLost, MongoLease, Renewals, kept
from infrastructure.schema import stamp

pytestmark = pytest.mark.mongo
DOC = "the-document"


@pytest.fixture
def lease(database: Database[Document], executor: MongoExecutor) -> MongoLease:
    return MongoLease(database["leases"], executor)


def renewals_of(lease: MongoLease, token: str, seconds: float, safe_for: float) -> Renewals:
    loop = asyncio.get_running_loop()
    return Renewals(
        lambda: lease.renew(DOC, token, round(seconds * 1000)),
        seconds=seconds,
        safe_for=safe_for,
        granted_at=loop.time(),
        name="test",
        clock=loop.time,
    )


async def test_the_server_clock_decides_when_a_lease_runs_out(lease: MongoLease) -> None:
    assert (await lease.acquire(DOC, "a", 400)).held
    refused = await lease.acquire(DOC, "b", 400)
    assert not refused.held
    assert 0 < refused.remaining_seconds <= 0.4

    await asyncio.sleep(refused.remaining_seconds + 0.2)  # what the server said is left

    assert (await lease.acquire(DOC, "b", 400)).held


async def test_only_the_holders_token_renews_or_releases(lease: MongoLease) -> None:
    assert (await lease.acquire(DOC, "a", 60_000)).held

    assert not await lease.renew(DOC, "b", 60_000)
    assert not await lease.release(DOC, "b", also_set={"state": "b's"})
    assert not await lease.hand_over(DOC, "b", 0)
    document = lease.collection.find_one({"_id": DOC})
    assert document is not None
    assert document["token"] == "a"
    assert "state" not in document
    assert await lease.renew(DOC, "a", 60_000)


async def test_a_release_is_also_the_holders_write_and_frees_the_lease(
    database: Database[Document], executor: MongoExecutor
) -> None:
    fields = LeaseFields(token="lease_token", until_ms="lease_until_ms", now_ms="lease_seen_ms")
    lease = MongoLease(database["docs"], executor, fields=fields, note_every_try=False)
    taken = await lease.acquire(DOC, "a", 60_000, when_taken={"taken_by": "a"})
    busy = await lease.acquire(DOC, "b", 60_000, when_taken={"taken_by": "b"})

    assert taken.held
    assert taken.now_ms > 0
    assert not busy.held
    assert busy.now_ms == 0  # nothing noted: how long the holder has left is unknown
    assert busy.document == taken.document  # a waiter's try writes nothing
    assert await lease.release(DOC, "a", also_set={"state": {"$literal": "$done"}})
    document = lease.collection.find_one({"_id": DOC})
    assert document == {"_id": DOC, "taken_by": "a", "state": "$done", **stamp()}
    assert (await lease.acquire(DOC, "b", 60_000)).held


async def test_a_renewal_moves_the_deadline_on(lease: MongoLease) -> None:
    assert (await lease.acquire(DOC, "a", 3000)).held
    renewals = renewals_of(lease, "a", seconds=3.0, safe_for=1.5)
    first = renewals.deadline
    moved: list[float] = []

    keeping = asyncio.create_task(renewals.keep(moved.append))
    async with asyncio.timeout(60):  # renewed every second: waited for, not timed
        while len(moved) < 2:  # noqa: ASYNC110 - `moved` is plain state, not an event
            await asyncio.sleep(0.05)
    held_by_b = (await lease.acquire(DOC, "b", 3000)).held
    keeping.cancel()

    assert moved == sorted(moved)
    assert moved[0] > first
    assert not held_by_b  # a still holds it


async def test_a_holder_whose_renewals_fail_is_stopped_at_its_deadline_before_the_lease_ends(
    lease: MongoLease,
) -> None:
    assert (await lease.acquire(DOC, "a", 1000)).held

    async def cannot_renew() -> bool:
        raise StorageUnavailable("MongoDB call failed: NetworkTimeout")

    loop = asyncio.get_running_loop()
    renewals = Renewals(
        cannot_renew,
        seconds=1.0,
        safe_for=0.6,
        granted_at=loop.time(),
        name="test",
        clock=loop.time,
    )
    started = loop.time()

    with pytest.raises(LeaseLost, match="not renewed in time"):
        async with kept(renewals):
            await asyncio.sleep(60)

    assert 0.55 <= loop.time() - started < 0.8
    assert not (await lease.acquire(DOC, "b", 1000)).held  # nobody else could have it yet


async def test_a_holder_whose_lease_was_taken_is_stopped_at_the_next_renewal(
    lease: MongoLease,
) -> None:
    assert (await lease.acquire(DOC, "a", 3000)).held
    renewals = renewals_of(lease, "a", seconds=3.0, safe_for=2.0)
    lease.collection.update_one({"_id": DOC}, {"$set": {"token": "intruder"}})
    started = asyncio.get_running_loop().time()

    with pytest.raises(LeaseLost, match="another holder has it now"):
        async with kept(renewals):
            await asyncio.sleep(60)

    assert asyncio.get_running_loop().time() - started < 1.5  # a third of the lease


async def test_a_waiter_gets_the_lease_once_it_is_released_or_gives_up(lease: MongoLease) -> None:
    assert (await lease.acquire(DOC, "a", 60_000)).held

    async def release_soon() -> bool:
        await asyncio.sleep(0.3)
        return await lease.release(DOC, "a")

    releasing = asyncio.create_task(release_soon())

    waited = await lease.wait_for(DOC, "b", 60_000, seconds=5)

    assert await releasing
    assert waited.attempt.held
    assert waited.tries > 1
    assert 0.3 <= waited.seconds < 1.5
    gave_up = await lease.wait_for(DOC, "c", 60_000, seconds=0.3)
    assert not gave_up.attempt.held
    assert 0.3 <= gave_up.seconds < 0.6
