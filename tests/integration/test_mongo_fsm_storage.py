import asyncio
from datetime import datetime, timedelta

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.storage.base import StorageKey
from pymongo.database import Database

from infrastructure.clock import utc_now
from infrastructure.conversation.errors import RequestAlreadyHandled
from infrastructure.conversation.handled_updates import HANDLED_KEPT, HANDLED_REMEMBERED
from infrastructure.conversation.storage import EXPIRY_INDEX, MongoFSMStorage
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from presentation.telegram.conversation.ports import ConversationStore
from presentation.telegram.states import Registration

pytestmark = pytest.mark.mongo
TTL = timedelta(hours=24)
KEY = StorageKey(bot_id=42, chat_id=7, user_id=7)


class Clock:
    """Starts at the real now: the server's TTL monitor sweeps by the real clock, so a clock
    in the past would let it remove a conversation between a write and a read."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def storage(
    database: Database[Document], executor: MongoExecutor, clock: Clock
) -> MongoFSMStorage:
    storage = MongoFSMStorage(database, executor, ttl=TTL, clock=clock)
    await asyncio.to_thread(storage.create_indexes)
    return storage


async def test_state_round_trips(storage: MongoFSMStorage) -> None:
    await storage.set_state(KEY, Registration.waiting_for_name)

    assert await storage.get_state(KEY) == Registration.waiting_for_name.state


async def test_a_new_conversation_is_empty(storage: MongoFSMStorage) -> None:
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}


async def test_data_round_trips_with_keys_and_values_mongo_would_interpret(
    storage: MongoFSMStorage,
) -> None:
    data = {"a.b": 1, "$where": {"$gt": ""}, "name": '{"$ne": null}', "list": [1, "é", None]}

    await storage.set_data(KEY, data)

    assert await storage.get_data(KEY) == data


async def test_state_and_data_are_independent(storage: MongoFSMStorage) -> None:
    await storage.set_data(KEY, {"draft": "Ada"})
    await storage.set_state(KEY, "some:state")
    await storage.set_state(KEY, None)

    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"draft": "Ada"}


@pytest.mark.parametrize(
    "other",
    [
        StorageKey(bot_id=43, chat_id=7, user_id=7),
        StorageKey(bot_id=42, chat_id=8, user_id=7),
        StorageKey(bot_id=42, chat_id=7, user_id=8),
        StorageKey(bot_id=42, chat_id=7, user_id=7, destiny="other"),
        StorageKey(bot_id=42, chat_id=7, user_id=7, thread_id=3),
    ],
)
async def test_conversations_are_kept_apart(storage: MongoFSMStorage, other: StorageKey) -> None:
    await storage.set_state(KEY, "mine")

    assert await storage.get_state(other) is None


async def test_the_ttl_index_is_on_expires_at_with_no_extra_delay(
    storage: MongoFSMStorage, database: Database[Document]
) -> None:
    index = database["fsm_states"].index_information()[EXPIRY_INDEX]

    assert index["key"] == [("expires_at", 1)]
    assert index["expireAfterSeconds"] == 0


async def test_every_write_pushes_the_state_expiry_and_the_documents_removal_forward(
    storage: MongoFSMStorage, database: Database[Document], clock: Clock
) -> None:
    await storage.set_state(KEY, "asking")
    clock.now += timedelta(hours=20)
    await storage.set_data(KEY, {"x": 1})

    document = database["fsm_states"].find_one({})

    assert document is not None
    assert document["state_expires_at"] == clock.now + TTL
    assert document["expires_at"] == clock.now + max(TTL, HANDLED_REMEMBERED)


async def test_an_expired_conversation_reads_as_new_before_the_ttl_monitor_removes_it(
    storage: MongoFSMStorage, clock: Clock
) -> None:
    await storage.set_state(KEY, "asking")
    await storage.set_data(KEY, {"x": 1})
    clock.now += TTL + timedelta(seconds=1)

    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}


async def test_writing_to_an_expired_conversation_starts_it_afresh(
    storage: MongoFSMStorage, clock: Clock
) -> None:
    await storage.set_state(KEY, "asking")
    await storage.set_data(KEY, {"stale": True})
    clock.now += TTL + timedelta(seconds=1)

    await storage.set_state(KEY, "asking again")

    assert await storage.get_state(KEY) == "asking again"
    assert await storage.get_data(KEY) == {}


async def test_state_survives_a_new_storage_instance(
    storage: MongoFSMStorage, database: Database[Document], clock: Clock
) -> None:
    await storage.set_state(KEY, Registration.waiting_for_name)
    executor = MongoExecutor(max_workers=1, timeout_seconds=3)
    try:
        restarted = MongoFSMStorage(database, executor, ttl=TTL, clock=clock)
        assert await restarted.get_state(KEY) == Registration.waiting_for_name.state
    finally:
        executor.shutdown()


async def test_data_must_be_a_mapping(storage: MongoFSMStorage) -> None:
    with pytest.raises(DataNotDictLikeError, match="dict"):
        await storage.set_data(KEY, ["not", "a", "dict"])  # type: ignore[arg-type]


async def test_clear_ends_the_conversation_in_one_write(
    storage: MongoFSMStorage, database: Database[Document]
) -> None:
    await storage.set_state(KEY, Registration.waiting_for_name)
    await storage.set_data(KEY, {"a": 1})

    await storage.clear(KEY)

    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert database["fsm_states"].count_documents({"state": None, "data": "{}"}) == 1


async def test_a_write_records_its_update_as_handled_and_a_read_says_so(
    storage: MongoFSMStorage,
) -> None:
    await storage.write(KEY, "asking", {"draft": "Ada"}, handled=101)

    snapshot = await storage.read(KEY)

    assert snapshot.state == "asking"
    assert dict(snapshot.data) == {"draft": "Ada"}
    assert snapshot.handled == frozenset({101})


async def test_writing_again_for_a_handled_update_is_refused_and_changes_nothing(
    storage: MongoFSMStorage,
) -> None:
    await storage.write(KEY, "asking", {}, handled=101)

    with pytest.raises(RequestAlreadyHandled):
        await storage.write(KEY, None, {}, handled=101)

    assert (await storage.read(KEY)).state == "asking"


async def test_only_the_latest_handled_updates_are_kept(storage: MongoFSMStorage) -> None:
    for update_id in range(1, HANDLED_KEPT + 11):
        await storage.write(KEY, None, None, handled=update_id)

    handled = (await storage.read(KEY)).handled

    assert handled == set(range(11, HANDLED_KEPT + 11))


async def test_handled_updates_outlive_an_expired_state(
    storage: MongoFSMStorage, clock: Clock
) -> None:
    await storage.write(KEY, "asking", {"x": 1}, handled=101)
    clock.now += TTL + timedelta(seconds=1)

    snapshot = await storage.read(KEY)

    assert snapshot.state is None
    assert dict(snapshot.data) == {}
    assert snapshot.handled == frozenset({101})


async def test_it_is_the_conversation_store_the_bot_expects(storage: MongoFSMStorage) -> None:
    store: ConversationStore = storage  # checked by mypy, not only at run time

    assert isinstance(store, ConversationStore)
