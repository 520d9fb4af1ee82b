import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient
from pymongo.database import Database

from application.errors import StorageUnavailable, UserAlreadyRegistered
from application.register_user import RegisterUser, RegisterUserRequest
from application.time_budget import time_budget
from application.user_repository import NameChange, UserAlreadyExists
from domain.language import Language
from domain.user import User, UserId
from domain.user_name import UserName
from infrastructure.clock import utc_now
from infrastructure.mongo_client import CODEC_OPTIONS, Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_user_repository import USER_ID_INDEX, MongoUserRepository, user_document
from infrastructure.schema import SCHEMA_VERSION, VERSION_FIELD
from tests.conftest import FailPoints

pytestmark = pytest.mark.mongo
T0 = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)


@pytest.fixture
async def users(database: Database[Document], executor: MongoExecutor) -> MongoUserRepository:
    repository = MongoUserRepository(database, executor)
    await asyncio.to_thread(repository.create_indexes)
    return repository


def ada(user_id: int = 7, name: str = "Ada") -> User:
    return User.register(UserId(user_id), UserName(name), T0)


async def test_a_stored_user_reads_back_equal(users: MongoUserRepository) -> None:
    await users.add(ada())

    assert await users.get(UserId(7)) == ada()


async def test_an_unknown_user_reads_as_none(users: MongoUserRepository) -> None:
    assert await users.get(UserId(404)) is None


async def test_the_telegram_id_has_a_unique_index(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    users.create_indexes()  # idempotent at every start-up

    index = database["users"].index_information()[USER_ID_INDEX]

    assert index["key"] == [("telegram_id", 1)]
    assert index["unique"] is True


async def test_adding_the_same_id_twice_is_refused_and_keeps_one_document(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    await users.add(ada())

    with pytest.raises(UserAlreadyExists):
        await users.add(ada(name="Grace"))

    assert database["users"].count_documents({"telegram_id": 7}) == 1


async def test_concurrent_double_registration_yields_one_document_and_one_loser(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    register = RegisterUser(users, utc_now)

    outcomes = await asyncio.gather(
        register.execute(RegisterUserRequest(user_id=7, name="Ada")),
        register.execute(RegisterUserRequest(user_id=7, name="Grace")),
        return_exceptions=True,
    )

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, UserAlreadyRegistered)]
    assert len(winners) == len(losers) == 1
    assert losers[0].profile.name == winners[0].name
    assert database["users"].count_documents({}) == 1


async def test_change_name_renames_and_returns_the_user_before(
    users: MongoUserRepository,
) -> None:
    await users.add(ada())
    later = T0 + timedelta(hours=1)

    change = await users.change_name(UserId(7), UserName("Grace"), later)

    assert change == NameChange(ada(), last_answered_by=None)
    assert await users.get(UserId(7)) == ada().renamed(UserName("Grace"), later)


async def test_change_name_remembers_which_request_renamed_until_another_does(
    users: MongoUserRepository,
) -> None:
    await users.add(ada())
    later = T0 + timedelta(hours=1)
    await users.change_name(UserId(7), UserName("Grace"), later, request_id=41)

    again = await users.change_name(UserId(7), UserName("Grace"), later, request_id=41)
    await users.change_name(UserId(7), UserName("Bob"), later, request_id=42)
    after_another = await users.change_name(UserId(7), UserName("Bob"), later, request_id=43)

    assert again is not None
    assert after_another is not None
    assert (again.last_answered_by, after_another.last_answered_by) == (41, 42)


def version_1(document: Document) -> Document:
    """`document` as 0.1.0 stored it: no version field."""
    return {k: v for k, v in document.items() if k != VERSION_FIELD}


async def test_a_rename_a_version_1_document_records_as_renamed_by_is_still_known_as_answered(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    old = version_1(user_document(ada())) | {"name": "Grace", "renamed_by": 41}
    database["users"].insert_one(old)  # `renamed_by`, not `answered_by`

    assert await users.answered_by(7) == 41
    again = await users.change_name(UserId(7), UserName("Grace"), T0, request_id=41)

    assert again is not None
    assert again.last_answered_by == 41  # so update 41, delivered again, is "renamed"
    assert await users.answered_by(7) == 41


async def test_renamed_by_is_not_read_from_a_current_document(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    database["users"].insert_one(user_document(ada()) | {"renamed_by": 41})

    assert await users.answered_by(7) is None


@pytest.mark.parametrize(
    ("write", "answered_by"),
    [
        pytest.param(lambda u: u.change_name(UserId(7), UserName("Bob"), T0, 42), 42, id="rename"),
        pytest.param(
            lambda u: u.change_name(UserId(7), UserName("Ada"), T0, 42), 41, id="same-name"
        ),
        pytest.param(lambda u: u.set_language(UserId(7), Language("ru"), T0), 41, id="language"),
    ],
)
async def test_a_write_to_part_of_a_version_1_document_leaves_it_current(
    users: MongoUserRepository,
    database: Database[Document],
    write: Callable[[MongoUserRepository], Awaitable[object]],
    answered_by: int,
) -> None:
    database["users"].insert_one(version_1(user_document(ada())) | {"renamed_by": 41})

    await write(users)

    [stored] = database["users"].find({}, {"_id": False})
    assert stored[VERSION_FIELD] == SCHEMA_VERSION
    assert "renamed_by" not in stored
    assert stored["answered_by"] == answered_by


async def test_a_version_1_deletion_record_is_read_and_replaced_by_a_current_registration(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    forgotten = {"telegram_id": 7, "answered_by": 41, "forgotten_at": T0}
    database["users"].insert_one(forgotten)  # as 0.1.0's /forget leaves it

    assert await users.get(UserId(7)) is None
    assert await users.answered_by(7) == 41
    await users.add(ada(), request_id=42)

    [stored] = database["users"].find({}, {"_id": False})
    assert stored == user_document(ada()) | {"answered_by": 42}
    assert stored[VERSION_FIELD] == SCHEMA_VERSION


async def test_change_name_to_the_same_name_keeps_the_update_time(
    users: MongoUserRepository,
) -> None:
    await users.add(ada())

    await users.change_name(UserId(7), UserName("Ada"), T0 + timedelta(hours=1))

    assert await users.get(UserId(7)) == ada()


@pytest.mark.parametrize("name", ["$where", "$name", '{"$gt": ""}', "a.b"])
async def test_change_name_stores_operator_looking_names_literally(
    users: MongoUserRepository, name: str
) -> None:
    await users.add(ada())

    await users.change_name(UserId(7), UserName(name), T0 + timedelta(hours=1))

    stored = await users.get(UserId(7))
    assert stored is not None
    assert stored.name.value == name


async def test_change_name_of_an_unknown_user_writes_nothing(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    assert await users.change_name(UserId(7), UserName("Grace"), T0) is None
    assert database["users"].count_documents({}) == 0


async def test_remove_deletes_only_that_user(users: MongoUserRepository) -> None:
    await users.add(ada())
    await users.add(ada(user_id=8))

    assert await users.remove(UserId(7)) == ada()  # as it was
    assert await users.remove(UserId(7)) is None

    assert await users.get(UserId(7)) is None
    assert await users.get(UserId(8)) is not None


async def test_set_language_keeps_the_choice_with_the_user_and_returns_them(
    users: MongoUserRepository,
) -> None:
    await users.add(ada())
    later = T0 + timedelta(minutes=5)

    chosen = await users.set_language(UserId(7), Language("ru"), later)

    assert chosen == ada().speaking(Language("ru"), later)
    assert await users.get(UserId(7)) == chosen
    assert await users.remove(UserId(7)) == chosen


async def test_set_language_of_an_unknown_user_writes_nothing(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    assert await users.set_language(UserId(7), Language("ru"), T0) is None

    assert database["users"].count_documents({}) == 0


async def test_a_stored_language_the_domain_refuses_reads_as_no_choice(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    await users.add(ada())
    database["users"].update_one({"telegram_id": 7}, {"$set": {"language": "Klingon"}})

    assert await users.get(UserId(7)) == ada()


@pytest.mark.parametrize(
    "name", ['{"$gt": ""}', "$where", "a.b", "👩‍👩‍👧‍👦 Ада", "José", "<b>&amp;</b>", "O'Brien\\"]
)
async def test_names_are_stored_byte_for_byte(
    users: MongoUserRepository, database: Database[Document], name: str
) -> None:
    await users.add(ada(name=name))

    stored = database["users"].find_one({"telegram_id": 7})

    assert stored is not None
    assert stored["name"].encode() == name.encode()


async def test_a_dead_server_becomes_storage_unavailable(executor: MongoExecutor) -> None:
    client: MongoClient[Document] = MongoClient(
        "mongodb://127.0.0.1:1/?directConnection=true", timeoutMS=300, connect=False
    )
    users = MongoUserRepository(client.get_database("x", codec_options=CODEC_OPTIONS), executor)
    try:
        with pytest.raises(StorageUnavailable):
            await users.get(UserId(7))
    finally:
        client.close()


async def test_a_spent_request_budget_fails_the_call_before_it_reaches_mongodb(
    users: MongoUserRepository,
) -> None:
    with time_budget(0), pytest.raises(StorageUnavailable, match="time budget spent"):
        await users.get(UserId(7))


async def test_a_call_gets_only_what_is_left_of_the_request_budget(
    users: MongoUserRepository, fail_points: FailPoints
) -> None:
    fail_points.fail(["find"], times=1, blockConnection=True, blockTimeMS=2000)
    started = time.monotonic()

    with time_budget(0.5), pytest.raises(StorageUnavailable):
        await users.get(UserId(7))

    assert time.monotonic() - started < 1.5  # the executor's own limit is 3 s


async def test_a_call_still_queued_at_the_deadline_is_given_up(
    users: MongoUserRepository, fail_points: FailPoints
) -> None:
    busy = MongoExecutor(max_workers=1, timeout_seconds=3)
    slow = MongoUserRepository(users._users.database, busy)
    fail_points.fail(["find"], times=1, blockConnection=True, blockTimeMS=1500)
    try:
        first = asyncio.create_task(slow.get(UserId(7)))  # holds the only thread 1.5 s
        await asyncio.sleep(0.1)
        started = time.monotonic()
        with time_budget(0.3), pytest.raises(StorageUnavailable, match="waited its whole"):
            await slow.get(UserId(8))
        assert time.monotonic() - started < 1.0  # not the 1.4 s the thread stays busy
        await first
        assert busy.queued == 0
    finally:
        busy.shutdown()


async def test_set_language_to_the_one_already_chosen_changes_nothing(
    users: MongoUserRepository,
) -> None:
    await users.add(ada())
    chosen = await users.set_language(UserId(7), Language("ru"), T0 + timedelta(minutes=5))

    again = await users.set_language(UserId(7), Language("ru"), T0 + timedelta(minutes=9))

    assert again == chosen


async def test_each_answer_records_its_request_and_a_deletion_keeps_only_that(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    await users.add(ada(), request_id=41)
    assert await users.answered_by(7) == 41
    await users.change_name(UserId(7), UserName("Grace"), T0, request_id=42)
    assert await users.answered_by(7) == 42

    assert await users.remove(UserId(7), request_id=43) is not None

    assert await users.answered_by(7) == 43
    [left] = database["users"].find({}, {"_id": False})
    # Nothing of the profile
    assert set(left) == {"telegram_id", "answered_by", "forgotten_at", VERSION_FIELD}
    assert await users.get(UserId(7)) is None
    assert await users.change_name(UserId(7), UserName("Bob"), T0) is None
    assert await users.set_language(UserId(7), Language("ru"), T0) is None
    assert await users.remove(UserId(7), request_id=44) is None
    assert await users.answered_by(7) == 43


async def test_registering_after_a_deletion_replaces_its_record(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    await users.add(ada(), request_id=41)
    await users.remove(UserId(7), request_id=42)

    await users.add(ada(name="Grace"), request_id=43)

    assert await users.get(UserId(7)) == ada(name="Grace")
    assert await users.answered_by(7) == 43
    assert database["users"].count_documents({"telegram_id": 7}) == 1
    with pytest.raises(UserAlreadyExists):
        await users.add(ada(name="Bob"), request_id=44)


async def test_a_deletions_record_expires_after_two_days(
    users: MongoUserRepository, database: Database[Document]
) -> None:
    index = database["users"].index_information()["forgotten_at_ttl"]

    assert index["key"] == [("forgotten_at", 1)]
    assert index["expireAfterSeconds"] == 48 * 3600
