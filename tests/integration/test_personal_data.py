"""`MongoPersonalData` on a real server: one user's documents of every collection, in one
aggregate, in plain values; and the retention the adapters are configured with."""

from datetime import timedelta

import pytest
from aiogram.fsm.storage.base import StorageKey
from pymongo.database import Database

from domain.user import User, UserId
from domain.user_name import UserName
from infrastructure.clock import utc_now
from infrastructure.conversation.handled_updates import HANDLED_KEPT, HANDLED_REMEMBERED
from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_user_repository import FORGOTTEN_KEPT, MongoUserRepository
from infrastructure.personal_data import MongoPersonalData

pytestmark = pytest.mark.mongo
BOT_ID, ADA, BOB = 42, 7, 8


def _personal_data(
    database: Database[Document], executor: MongoExecutor, ttl: timedelta = timedelta(hours=24)
) -> MongoPersonalData:
    conversations = MongoFSMStorage(database, executor, ttl=ttl, clock=utc_now)
    users = MongoUserRepository(database, executor)
    return MongoPersonalData(users, conversations, executor, bot_id=BOT_ID)


async def _stored(database: Database[Document], executor: MongoExecutor, user_id: int) -> None:
    users = MongoUserRepository(database, executor)
    await users.add(User.register(UserId(user_id), UserName(f"user {user_id}"), utc_now()), 1)
    conversations = MongoFSMStorage(database, executor, ttl=timedelta(days=1), clock=utc_now)
    key = StorageKey(bot_id=BOT_ID, chat_id=user_id, user_id=user_id)
    await conversations.write(key, "Renaming:waiting", {"language": "ru"}, 3)


async def test_a_users_documents_of_both_collections_come_back_whole_and_plain(
    database: Database[Document], executor: MongoExecutor
) -> None:
    for user_id in (ADA, BOB):
        await _stored(database, executor, user_id)

    stored = await _personal_data(database, executor).stored_about(UserId(ADA))

    assert stored.user is not None
    assert stored.user.name == UserName("user 7")
    profile, conversation = stored.records
    assert (profile.kept_in, conversation.kept_in) == ("users", "fsm_states")
    raw = database["users"].find_one({"telegram_id": ADA})
    assert raw is not None
    assert profile.fields == raw | {"_id": str(raw["_id"])}
    assert conversation.fields["_id"] == f"fsm:{BOT_ID}:{ADA}:{ADA}:default"
    assert conversation.fields["data"] == {"language": "ru"}  # stored as JSON text
    assert conversation.fields["handled"] == [3]


async def test_a_stranger_has_nothing_stored(
    database: Database[Document], executor: MongoExecutor
) -> None:
    await _stored(database, executor, BOB)

    stored = await _personal_data(database, executor).stored_about(UserId(ADA))

    assert (stored.user, stored.records) == (None, ())


async def test_a_deleted_user_has_only_the_record_of_the_deletion_and_no_profile(
    database: Database[Document], executor: MongoExecutor
) -> None:
    await _stored(database, executor, ADA)
    await MongoUserRepository(database, executor).remove(UserId(ADA), request_id=9)

    stored = await _personal_data(database, executor).stored_about(UserId(ADA))

    assert stored.user is None
    assert set(stored.records[0].fields) == {
        "_id",
        "telegram_id",
        "answered_by",
        "forgotten_at",
        "schema_version",
    }


@pytest.mark.parametrize(
    ("ttl", "conversation"),
    [(timedelta(hours=1), HANDLED_REMEMBERED), (timedelta(days=5), timedelta(days=5))],
)
def test_retention_is_what_the_adapters_keep(
    database: Database[Document], executor: MongoExecutor, ttl: timedelta, conversation: timedelta
) -> None:
    retention = _personal_data(database, executor, ttl).retention()

    assert retention.deletion_record == FORGOTTEN_KEPT
    assert retention.open_question == ttl
    assert retention.conversation == conversation
    assert retention.handled_updates == HANDLED_KEPT
