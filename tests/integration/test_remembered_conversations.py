"""One process serving each user reads back what it wrote from memory, and notices when that
memory is no longer the last word (another process wrote since)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from pymongo.database import Database
from pymongo.errors import AutoReconnect

from application.errors import StorageUnavailable
from infrastructure.clock import utc_now
from infrastructure.conversation.errors import RequestAlreadyHandled
from infrastructure.conversation.remembered import RememberedConversations
from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

pytestmark = pytest.mark.mongo
TTL = timedelta(hours=24)
KEY = StorageKey(bot_id=42, chat_id=7, user_id=7)


class CountedExecutor(MongoExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2, timeout_seconds=3)
        self.calls: list[str] = []

    async def run(self, call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(call.__name__)
        return await super().run(call, *args, **kwargs)


@pytest.fixture
def executor() -> Any:
    executor = CountedExecutor()
    yield executor
    executor.shutdown()


def _storage(database: Database[Document], executor: MongoExecutor) -> MongoFSMStorage:
    return MongoFSMStorage(
        database, executor, ttl=TTL, clock=utc_now, remembered=RememberedConversations()
    )


async def test_a_conversation_this_process_wrote_is_read_back_without_a_round_trip(
    database: Database[Document], executor: CountedExecutor
) -> None:
    storage = _storage(database, executor)
    await storage.write(KEY, "asking", {"draft": "Ada"}, handled=1)
    executor.calls.clear()

    snapshot = await storage.read(KEY)

    assert (snapshot.state, dict(snapshot.data), set(snapshot.handled)) == (
        "asking",
        {"draft": "Ada"},
        {1},
    )
    assert executor.calls == []


async def test_a_conversation_another_process_wrote_is_read_from_mongodb(
    database: Database[Document], executor: CountedExecutor
) -> None:
    other = _storage(database, executor)
    await other.write(KEY, "asking", {}, handled=1)
    storage = _storage(database, executor)
    executor.calls.clear()

    assert (await storage.read(KEY)).state == "asking"
    assert (await storage.read(KEY)).state == "asking"

    assert executor.calls == ["find_one", "find_one"]  # not its own: never taken on trust


async def test_a_write_after_a_remembered_read_notices_that_another_process_wrote_since(
    database: Database[Document], executor: CountedExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    storage, other = _storage(database, executor), _storage(database, executor)
    await storage.write(KEY, "asking", {}, handled=1)
    await other.write(KEY, "asked elsewhere", {"there": True}, handled=2)
    assert (await storage.read(KEY)).remembered  # stale: what it wrote, not what is there

    with caplog.at_level(logging.WARNING):
        await storage.write(KEY, None, {}, handled=3, after_remembered=True)

    assert "written by another process since" in caplog.text
    [document] = database["fsm_states"].find()
    assert (document["state"], document["handled"]) == (None, [1, 2, 3])


async def test_an_update_another_process_handled_since_is_refused_not_written_again(
    database: Database[Document], executor: CountedExecutor
) -> None:
    storage, other = _storage(database, executor), _storage(database, executor)
    await storage.write(KEY, "asking", {}, handled=1)
    await other.write(KEY, None, {"done": "there"}, handled=2)

    with pytest.raises(RequestAlreadyHandled):
        await storage.write(KEY, None, {"done": "here"}, handled=2)

    executor.calls.clear()
    assert dict((await storage.read(KEY)).data) == {"done": "there"}
    assert executor.calls == ["find_one"]  # forgotten: asked afresh


async def test_a_write_that_failed_forgets_what_it_may_or_may_not_have_written(
    database: Database[Document], executor: CountedExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = _storage(database, executor)
    await storage.write(KEY, "asking", {}, handled=1)

    async def cancelled(*args: Any, **kwargs: Any) -> Any:
        raise asyncio.CancelledError

    monkeypatch.setattr(executor, "run", cancelled)
    with pytest.raises(asyncio.CancelledError):
        await storage.write(KEY, None, {}, handled=2)
    monkeypatch.undo()

    executor.calls.clear()
    assert (await storage.read(KEY)).state == "asking"
    assert executor.calls == ["find_one"]


async def test_after_any_failed_mongodb_call_every_conversation_is_asked_afresh(
    database: Database[Document], executor: CountedExecutor
) -> None:
    storage = _storage(database, executor)
    await storage.write(KEY, "asking", {}, handled=1)
    with pytest.raises(StorageUnavailable):  # another adapter's call, say, for another user
        await executor.run(_fails)
    executor.calls.clear()

    assert (await storage.read(KEY)).state == "asking"
    assert executor.calls == ["find_one"]


def _fails() -> None:
    raise AutoReconnect("the server went away")


def test_at_most_the_limit_is_remembered_the_least_recently_used_going_first() -> None:
    remembered = RememberedConversations(limit=2)
    remembered.keep("a", {"_id": "a"})
    remembered.keep("b", {"_id": "b"})
    assert remembered.get("a") is not None  # "b" is now the least recently used

    remembered.keep("c", {"_id": "c"})

    assert len(remembered) == 2
    assert remembered.get("b") is None
    assert remembered.get("a") is not None
    assert remembered.get("c") is not None
