"""aiogram's FSM storage in MongoDB, over the process's one client and executor.

aiogram ships Mongo storages of its own, but they need pymongo's async client (a second
client per process) and close it in the dispatcher's first shutdown hook, while handlers may
still be running. This one shares the sync client and the executor with the repository and
leaves closing to whoever owns them.
"""

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from application.clock import Clock
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

EXPIRY_INDEX = "expires_at_ttl"


class MongoFSMStorage(BaseStorage):
    """One document per conversation: `{_id: key, state, data, expires_at}`.

    `data` is kept as a JSON string, like aiogram's Redis storage does, so keys with `.` or
    `$` and values that look like query operators round-trip untouched. A TTL index removes
    abandoned conversations; reads also ignore expired ones, since the TTL monitor runs only
    once a minute, and writes to an expired conversation start it afresh.
    """

    def __init__(
        self,
        database: Database[Document],
        executor: MongoExecutor,
        *,
        ttl: timedelta,
        clock: Clock,
        collection: str = "fsm_states",
    ) -> None:
        self._states: Collection[Document] = database[collection]
        self._executor = executor
        self._ttl = ttl
        self._clock = clock
        self._keys = DefaultKeyBuilder(
            with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )

    def create_indexes(self) -> None:
        """The TTL index: documents expire at their own `expires_at`. Blocking: called once
        at start-up, before any update is handled."""
        self._states.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=0, name=EXPIRY_INDEX
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": {"$literal": value}})

    async def get_state(self, key: StorageKey) -> str | None:
        document = await self._read(key, "state")
        state = None if document is None else document.get("state")
        return state if isinstance(state, str) else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like, not {type(data)}")
        await self._write(key, {"data": {"$literal": json.dumps(dict(data), ensure_ascii=False)}})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        document = await self._read(key, "data")
        if document is None or not isinstance(document.get("data"), str):
            return {}
        data = json.loads(document["data"])
        return data if isinstance(data, dict) else {}

    async def clear(self, key: StorageKey) -> None:
        """End the conversation in one write (aiogram's `FSMContext.clear` takes two)."""
        await self._executor.run(self._states.delete_one, {"_id": self._keys.build(key)})

    async def close(self) -> None:
        """Nothing to release: the client and executor belong to the container."""

    async def _read(self, key: StorageKey, field: str) -> Document | None:
        query = {"_id": self._keys.build(key), "expires_at": {"$gt": self._clock()}}
        return await self._executor.run(self._states.find_one, query, {field: True})

    async def _write(self, key: StorageKey, fields: Document) -> None:
        now = self._clock()
        alive = {"$gt": ["$expires_at", now]}
        fresh = {
            # An expired conversation (not yet removed by the TTL monitor) starts empty.
            "state": {"$cond": [alive, "$state", None]},
            "data": {"$cond": [alive, "$data", "{}"]},
        }
        update = [{"$set": {**fresh, **fields, "expires_at": now + self._ttl}}]
        await self._executor.run(
            self._states.update_one, {"_id": self._keys.build(key)}, update, upsert=True
        )
