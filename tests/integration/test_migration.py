"""`Migration` against a real MongoDB wire-protocol server: documents as 0.1.0 stored them
(no version field) become current, and nothing else about them changes."""

import pytest
from pymongo.database import Database

from domain.user import User, UserId
from domain.user_name import UserName
from infrastructure.migration import UPGRADES, Batch, Migration
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_user_repository import MongoUserRepository
from infrastructure.schema import SCHEMA_VERSION, VERSION_FIELD
from tests.version_1 import T0, version_1_documents

pytestmark = pytest.mark.mongo
USERS = 20


@pytest.fixture
def stored(database: Database[Document]) -> dict[str, list[Document]]:
    """The version 1 documents, as stored (with their `_id`s)."""
    documents = version_1_documents(USERS)
    for collection, inserted in documents.items():
        database[collection].insert_many(inserted)
    return {c: list(database[c].find().sort("_id", 1)) for c in documents}


def everything(database: Database[Document]) -> dict[str, list[Document]]:
    return {u.collection: list(database[u.collection].find().sort("_id", 1)) for u in UPGRADES}


def upgraded(document: Document) -> Document:
    """What version 2 makes of a version 1 document."""
    current = {k: v for k, v in document.items() if k != "renamed_by"} | {
        VERSION_FIELD: SCHEMA_VERSION
    }
    if "telegram_id" in document:
        current["answered_by"] = document.get("answered_by", document.get("renamed_by"))
    return current


def test_the_stored_documents_cover_every_collection_migrated() -> None:
    assert set(version_1_documents(1)) == {u.collection for u in UPGRADES}


def test_every_version_1_document_is_upgraded_and_nothing_else_changes(
    database: Database[Document], stored: dict[str, list[Document]]
) -> None:
    done = Migration(database).run(batch_size=7)

    assert done == {c: len(documents) for c, documents in stored.items()}
    assert everything(database) == {
        c: [upgraded(d) for d in documents] for c, documents in stored.items()
    }


async def test_a_user_reads_the_same_before_and_after_the_upgrade(
    database: Database[Document], executor: MongoExecutor, stored: dict[str, list[Document]]
) -> None:
    users = MongoUserRepository(database, executor)

    async def read() -> list[tuple[User | None, int | None]]:
        ids = range(1, USERS + 1)
        return [(await users.get(UserId(i)), await users.answered_by(i)) for i in ids]

    before = await read()
    Migration(database).run(batch_size=7)

    assert await read() == before
    assert [answered for _, answered in before] == [1000 + i for i in range(1, USERS + 1)]


def test_a_second_run_upgrades_nothing_and_changes_nothing(
    database: Database[Document], stored: dict[str, list[Document]]
) -> None:
    Migration(database).run(batch_size=7)
    after_first = everything(database)

    assert Migration(database).run(batch_size=7) == {c: 0 for c in stored}
    assert everything(database) == after_first


def test_a_run_stopped_midway_is_finished_by_running_it_again(
    database: Database[Document], stored: dict[str, list[Document]]
) -> None:
    class Killed(BaseException):
        pass

    def killed_after_a_conversation_batch(batch: Batch) -> None:
        if batch.collection == "fsm_states" and batch.done > 0:
            raise Killed

    with pytest.raises(Killed):
        Migration(database).run(batch_size=7, on_batch=killed_after_a_conversation_batch)
    pending = Migration(database).pending()
    done = Migration(database).run(batch_size=7)

    assert pending == {"users": 0, "fsm_states": USERS - 7, "leases": 1}
    assert done == pending
    assert everything(database) == {
        c: [upgraded(d) for d in documents] for c, documents in stored.items()
    }


def test_a_dry_run_counts_by_collection_and_changes_nothing(
    database: Database[Document], stored: dict[str, list[Document]]
) -> None:
    database["users"].update_one({"telegram_id": 2}, {"$set": {VERSION_FIELD: SCHEMA_VERSION}})
    before = everything(database)

    assert Migration(database).pending() == {"users": USERS - 1, "fsm_states": USERS, "leases": 1}
    assert everything(database) == before


async def test_a_current_write_between_finding_and_upgrading_a_batch_is_not_overwritten(
    database: Database[Document], executor: MongoExecutor, stored: dict[str, list[Document]]
) -> None:
    migration = Migration(database)
    [users_upgrade] = [u for u in UPGRADES if u.collection == "users"]
    ids = migration.next_batch(users_upgrade, None, USERS)
    # A replica of this release renames user 4 (whose last rename is `renamed_by` 1004).
    repository = MongoUserRepository(database, executor)
    await repository.change_name(UserId(4), UserName("Grace"), T0, request_id=5000)

    count = migration.upgrade_batch(users_upgrade, ids)

    assert count == USERS - 1
    renamed = database["users"].find_one({"telegram_id": 4}, {"_id": False})
    assert renamed is not None
    assert (renamed["name"], renamed["answered_by"]) == ("Grace", 5000)


def test_a_previous_version_write_between_finding_and_upgrading_is_upgraded_as_written(
    database: Database[Document], stored: dict[str, list[Document]]
) -> None:
    migration = Migration(database)
    [users_upgrade] = [u for u in UPGRADES if u.collection == "users"]
    ids = migration.next_batch(users_upgrade, None, USERS)
    # A replica of 0.1.0 renames user 2 meanwhile: still version 1.
    database["users"].update_one({"telegram_id": 2}, {"$set": {"name": "Bob", "answered_by": 77}})

    migration.upgrade_batch(users_upgrade, ids)

    bob = database["users"].find_one({"telegram_id": 2}, {"_id": False})
    assert bob is not None
    assert (bob["name"], bob["answered_by"], bob[VERSION_FIELD]) == ("Bob", 77, SCHEMA_VERSION)
