"""The three ways the bench runs the same adapters against MongoDB.

- `ours`: `MongoExecutor`, the production path (a dedicated, sized thread pool).
- `to_thread`: `asyncio.to_thread`, i.e. the loop's default executor (`min(32, cpus + 4)`
  threads, shared with aiogram's synchronous filters), as the seed answer did.
- `async`: pymongo's native `AsyncMongoClient`, as a yardstick only. Each sync collection
  call the adapters make is routed to the same method of the async collection, so all three
  run identical queries and differ only in how they wait for the network.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from application.errors import StorageUnavailable
from infrastructure.conversation.handled_updates import upsert_unless_handled
from infrastructure.mongo_client import CODEC_OPTIONS
from infrastructure.mongo_user_repository import insert_unless_taken

T = TypeVar("T")
VARIANTS = ("ours", "to_thread", "async")
NAMES = {
    "ours": "ours (MongoExecutor)",
    "to_thread": "to_thread (default executor)",
    "async": "AsyncMongoClient (yardstick)",
}


class ToThreadExecutor:
    """`asyncio.to_thread` on the default executor, with the same error mapping and count."""

    def __init__(self) -> None:
        self.failures = 0

    async def run(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except PyMongoError as error:
            self.failures += 1
            raise StorageUnavailable(type(error).__name__) from error

    def shutdown(self) -> None:
        pass


class AsyncClientExecutor:
    """Runs `collection.method(...)` as `await async_collection.method(...)`, and the
    adapters' module-level helpers as their async equivalents."""

    def __init__(self, uri: str, database: str, max_pool_size: int) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, maxPoolSize=max_pool_size, minPoolSize=32, timeoutMS=10_000
        )
        self._db = self.client.get_database(database, codec_options=CODEC_OPTIONS)
        self.failures = 0

    async def run(self, call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(call, "__self__", None)
        try:
            if call is insert_unless_taken:
                users, document = args
                try:
                    await self._db[users.name].insert_one(document)
                except DuplicateKeyError:
                    return False
                return True
            if call is upsert_unless_handled:
                states, query, update, projection = args
                written_to = self._db[states.name]
                pipeline = [{"$set": update}]
                try:
                    written = await written_to.find_one_and_update(
                        query,
                        pipeline,
                        projection,
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                except DuplicateKeyError:
                    written = None
                if written is None:
                    written = await written_to.find_one_and_update(
                        query, pipeline, projection, return_document=ReturnDocument.AFTER
                    )
                return written
            assert isinstance(owner, Collection), call
            return await getattr(self._db[owner.name], call.__name__)(*args, **kwargs)
        except PyMongoError as error:
            self.failures += 1
            raise StorageUnavailable(type(error).__name__) from error

    def shutdown(self) -> None:
        pass
