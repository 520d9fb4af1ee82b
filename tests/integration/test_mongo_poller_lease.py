"""The poller lease against a real MongoDB wire-protocol server: one holder at a time, only
the holder renews or releases, and expiry is the server's arithmetic on the server's clock."""

import asyncio

import pytest
from pymongo.database import Database

from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_poller_lease import POLLER_LEASES, MongoPollerLease
from infrastructure.schema import SCHEMA_VERSION, VERSION_FIELD

pytestmark = pytest.mark.mongo


@pytest.fixture
def lease(database: Database[Document], executor: MongoExecutor) -> MongoPollerLease:
    return MongoPollerLease(database, executor, bot_id=4242)


async def test_acquiring_is_exclusive(lease: MongoPollerLease) -> None:
    first = await lease.acquire("a", 60)
    second = await lease.acquire("b", 60)

    assert first.held
    assert 59 < first.remaining_seconds <= 60
    assert not second.held
    assert 0 < second.remaining_seconds <= 60  # how long the holder's lease has left


async def test_racing_first_acquisitions_make_exactly_one_holder(lease: MongoPollerLease) -> None:
    tokens = [f"t{i}" for i in range(8)]

    states = await asyncio.gather(*(lease.acquire(token, 60) for token in tokens))

    assert sum(state.held for state in states) == 1


async def test_another_token_can_neither_renew_nor_release(lease: MongoPollerLease) -> None:
    assert (await lease.acquire("a", 60)).held

    assert not await lease.renew("b", 60)
    assert not await lease.release("b")
    assert not (await lease.acquire("b", 60)).held
    assert await lease.renew("a", 60)


async def test_an_expired_lease_goes_to_the_next_token_and_its_old_holder_cannot_renew(
    lease: MongoPollerLease,
) -> None:
    assert (await lease.acquire("a", 1)).held
    refused = await lease.acquire("b", 1)
    assert not refused.held

    # The wait is what the server reported; no clock of this process decides anything.
    await asyncio.sleep(refused.remaining_seconds + 0.2)
    taken = await lease.acquire("b", 1)

    assert taken.held
    assert not await lease.renew("a", 1)
    assert not await lease.release("a")


async def test_the_holder_extends_by_renewing_or_acquiring_again(lease: MongoPollerLease) -> None:
    # Leases of 1.5 s, looked at 0.8 s after each extension: alive only if extended, and
    # 0.7 s to spare for round trips on a loaded machine.
    assert (await lease.acquire("a", 1.5)).held
    await asyncio.sleep(0.8)
    assert await lease.renew("a", 1.5)
    await asyncio.sleep(0.8)  # 1.6 s after the first acquisition: alive only if renewed
    assert not (await lease.acquire("b", 1.5)).held

    again = await lease.acquire("a", 1.5)

    assert again.held
    assert again.remaining_seconds > 1.4
    await asyncio.sleep(0.8)
    assert not (await lease.acquire("b", 1.5)).held


async def test_releasing_lets_another_token_acquire_at_once(lease: MongoPollerLease) -> None:
    assert (await lease.acquire("a", 60)).held

    assert await lease.release("a")

    assert (await lease.acquire("b", 60)).held
    assert not await lease.release("a")


async def test_a_release_can_end_the_lease_a_little_later_and_no_renewal_extends_it(
    lease: MongoPollerLease,
) -> None:
    assert (await lease.acquire("a", 60)).held

    assert await lease.release("a", after_seconds=2)  # time for three round trips

    refused = await lease.acquire("b", 60)
    assert not refused.held
    assert 0 < refused.remaining_seconds <= 2
    assert not await lease.renew("a", 60)  # a renewal that arrives after the release
    assert not (await lease.acquire("a", 60)).held
    await asyncio.sleep(refused.remaining_seconds + 0.2)
    assert (await lease.acquire("b", 60)).held


async def test_each_bot_has_a_lease_of_its_own(
    database: Database[Document], executor: MongoExecutor, lease: MongoPollerLease
) -> None:
    other_bot = MongoPollerLease(database, executor, bot_id=4343)

    assert (await lease.acquire("a", 60)).held
    assert (await other_bot.acquire("b", 60)).held
    assert {d["_id"] for d in database["leases"].find()} == {"poller:4242", "poller:4343"}


async def test_the_expiry_is_stored_as_milliseconds_of_the_servers_clock(
    database: Database[Document], lease: MongoPollerLease
) -> None:
    await lease.acquire("a", 2.5)

    document = database["leases"].find_one({"_id": "poller:4242"})

    assert document is not None
    assert isinstance(document["until_ms"], int)
    assert document["until_ms"] - document["now_ms"] == 2500


async def test_each_write_of_the_holder_leaves_the_document_current(
    lease: MongoPollerLease, database: Database[Document]
) -> None:
    def version() -> object:
        document = database[POLLER_LEASES.collection].find_one({"_id": "poller:4242"})
        return None if document is None else document.get(VERSION_FIELD)

    def forget_the_version() -> None:
        database[POLLER_LEASES.collection].update_one({}, {"$unset": {VERSION_FIELD: ""}})

    assert (await lease.acquire("a", 60)).held
    assert version() == SCHEMA_VERSION
    forget_the_version()
    assert await lease.renew("a", 60)
    assert version() == SCHEMA_VERSION
    forget_the_version()
    assert await lease.release("a")
    assert version() == SCHEMA_VERSION
