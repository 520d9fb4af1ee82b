"""aiogram's FSM storage in MongoDB, over the process's one client and executor, which also
remembers which updates it has seen handled to the end.

aiogram ships Mongo storages of its own, but they need pymongo's async client (a second
client per process) and close it in the dispatcher's first shutdown hook, while handlers may
still be running. This one shares the sync client and the executor with the repository and
leaves closing to whoever owns them.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from application.clock import Clock
from application.errors import RequestAlreadyHandled
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

EXPIRY_INDEX = "expires_at_ttl"
HANDLED_KEPT = 100
"""Handled update ids kept per conversation: far more than Telegram ever redelivers at once."""
HANDLED_REMEMBERED = timedelta(hours=48)
"""How long a conversation document outlives its last write: longer than Telegram keeps an
update (24 h), so a redelivered update is always recognised."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A conversation as read (`ConversationSnapshot` of the Telegram package)."""

    state: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    handled: frozenset[int] = frozenset()

    @classmethod
    def of(cls, document: Document | None, now: datetime) -> Self:
        if document is None:
            return cls()
        handled = frozenset(i for i in document.get("handled", []) if isinstance(i, int))
        expires = document.get("state_expires_at") or document.get("expires_at")
        if not isinstance(expires, datetime) or expires <= now:
            return cls(handled=handled)
        state = document.get("state")
        return cls(
            state=state if isinstance(state, str) else None,
            data=_decode(document.get("data")),
            handled=handled,
        )


@dataclass(frozen=True, slots=True)
class LeaseAttempt:
    """What one try for a conversation's lease found, by the server's clock."""

    acquired: bool
    snapshot: Snapshot
    """The conversation as stored (meaningful when acquired)."""
    server_now_ms: int
    """The server's clock when the lease was taken (meaningful when acquired)."""
    flood: Mapping[str, Any] | None
    """The user's flood-control bucket as stored, if any."""


_LEASE_FIELDS = ("lease_token", "lease_until_ms")
_SERVER_NOW_MS = {"$toLong": "$$NOW"}
"""The server's clock. Compared as a number: SecantusDB compares dates with `$$NOW` wrongly."""


class MongoFSMStorage(BaseStorage):
    """One document per conversation:
    `{_id: key, state, data, state_expires_at, handled: [update ids], expires_at}`.

    `data` is kept as a JSON string, like aiogram's Redis storage does, so keys with `.` or
    `$` and values that look like query operators round-trip untouched. A state older than
    `ttl` reads as no state (the TTL monitor runs only once a minute, and the document lives
    on for `handled`); a write to it starts the conversation afresh. The TTL index removes a
    document `HANDLED_REMEMBERED` (or `ttl`, if longer) after its last write.
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
        self._kept_for = max(ttl, HANDLED_REMEMBERED)
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

    async def read(self, key: StorageKey) -> Snapshot:
        document = await self._executor.run(
            self._states.find_one, {"_id": self._keys.build(key)}, {"expires_at": False}
        )
        return Snapshot.of(document, self._clock())

    async def write(
        self,
        key: StorageKey,
        state: str | None,
        data: Mapping[str, Any] | None,
        handled: int | None,
    ) -> None:
        """One write: `state`, `data` unless None, and update `handled` recorded as done
        (conditionally: `RequestAlreadyHandled` if it already was)."""
        fields: Document = {"state": {"$literal": state}}
        if data is not None:
            fields["data"] = {"$literal": _encode(data)}
        await self._write(key, fields, handled)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": {"$literal": value}}, None)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self.read(key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like, not {type(data)}")
        await self._write(key, {"data": {"$literal": _encode(data)}}, None)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self.read(key)).data)

    async def clear(self, key: StorageKey) -> None:
        """End the conversation in one write (aiogram's `FSMContext.clear` takes two)."""
        await self.write(key, None, {}, None)

    async def _write(self, key: StorageKey, fields: Document, handled: int | None) -> None:
        now = self._clock()
        alive = {"$gt": [{"$ifNull": ["$state_expires_at", "$expires_at"]}, now]}
        update: Document = {
            # An expired conversation (not yet removed) starts afresh.
            "state": {"$cond": [alive, "$state", None]},
            "data": {"$cond": [alive, "$data", "{}"]},
            **fields,
            "state_expires_at": now + self._ttl,
            "expires_at": now + self._kept_for,
        }
        query: Document = {"_id": self._keys.build(key)}
        if handled is not None:
            query["handled"] = {"$ne": handled}
            recorded = {"$concatArrays": [{"$ifNull": ["$handled", []]}, [handled]]}
            update["handled"] = {"$slice": [recorded, -HANDLED_KEPT]}
        if not await self._executor.run(upsert_unless_handled, self._states, query, update):
            assert handled is not None  # only a condition on `handled` can make it fail
            raise RequestAlreadyHandled(handled)

    async def close(self) -> None:
        """Nothing to release: the client and executor belong to the container."""

    async def acquire_lease(self, key: StorageKey, token: str, lease_ms: int) -> LeaseAttempt:
        """One atomic try: the lease is ours if it was free or had run out by the server's
        clock. Either way the document comes back, so acquiring is also the read."""
        free = {
            "$or": [
                {"$eq": [{"$ifNull": ["$lease_token", None]}, None]},
                {"$lte": [{"$ifNull": ["$lease_until_ms", 0]}, _SERVER_NOW_MS]},
            ]
        }
        pipeline: list[Document] = [
            {"$set": {"lease_free": free}},
            {
                "$set": {
                    "lease_token": {"$cond": ["$lease_free", token, "$lease_token"]},
                    "lease_until_ms": {
                        "$cond": [
                            "$lease_free",
                            {"$add": [_SERVER_NOW_MS, lease_ms]},
                            "$lease_until_ms",
                        ]
                    },
                    # Set only when taken: a waiter's try changes nothing, so it is no write.
                    "lease_seen_ms": {"$cond": ["$lease_free", _SERVER_NOW_MS, "$lease_seen_ms"]},
                    # Pushed on when taken, so the TTL monitor cannot remove a document
                    # while it is held (and one abandoned by a crash is still cleaned up).
                    "expires_at": {
                        "$cond": ["$lease_free", self._clock() + self._kept_for, "$expires_at"]
                    },
                }
            },
            {"$unset": "lease_free"},
        ]
        document = await self._executor.run(self._acquire, self._keys.build(key), pipeline)
        flood = document.get("flood")
        return LeaseAttempt(
            acquired=document.get("lease_token") == token,
            snapshot=Snapshot.of(document, self._clock()),
            server_now_ms=int(document.get("lease_seen_ms") or 0),
            flood=flood if isinstance(flood, Mapping) else None,
        )

    def _acquire(self, document_id: str, pipeline: list[Document]) -> Document:
        for _ in range(3):  # first tries racing to create the document: one inserts
            try:
                found = self._states.find_one_and_update(
                    {"_id": document_id},
                    pipeline,
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue
            # An upsert returns the document it wrote; the test server has answered None
            # when losing that race, so that answer is taken as a lost race too.
            if found is not None:
                return found
        raise DuplicateKeyError(f"conversation {document_id} kept being created meanwhile")

    async def renew_lease(self, key: StorageKey, token: str, lease_ms: int) -> bool:
        """Extend our lease from the server's now; False if it is no longer ours."""
        result = await self._executor.run(
            self._states.update_one,
            {"_id": self._keys.build(key), "lease_token": token},
            [{"$set": {"lease_until_ms": {"$add": [_SERVER_NOW_MS, lease_ms]}}}],
        )
        return result.matched_count > 0

    async def release_lease(
        self,
        key: StorageKey,
        token: str,
        *,
        change: tuple[str | None, Mapping[str, Any] | None] | None,
        handled: int | None,
        flood: Mapping[str, Any] | None,
    ) -> bool:
        """Let the lease go in the write that stores what the holder changed: the state
        and data (`change`; data None means unchanged), update `handled` recorded as done,
        and the flood bucket. False (and nothing written) if the lease was not ours."""
        now = self._clock()
        fields: Document = {"expires_at": now + self._kept_for}
        if change is not None:
            alive = {"$gt": [{"$ifNull": ["$state_expires_at", "$expires_at"]}, now]}
            state, data = change
            fields |= {
                "state": {"$literal": state},
                "data": (
                    {"$cond": [alive, "$data", "{}"]}
                    if data is None
                    else {"$literal": _encode(data)}
                ),
                "state_expires_at": now + self._ttl,
            }
        if handled is not None:
            before = {"$ifNull": ["$handled", []]}
            fields["handled"] = {
                "$cond": [
                    {"$in": [handled, before]},
                    before,
                    {"$slice": [{"$concatArrays": [before, [handled]]}, -HANDLED_KEPT]},
                ]
            }
        if flood is not None:
            fields["flood"] = {"$literal": dict(flood)}
        result = await self._executor.run(
            self._states.update_one,
            {"_id": self._keys.build(key), "lease_token": token},
            [{"$set": fields}, {"$unset": [*_LEASE_FIELDS, "lease_seen_ms"]}],
        )
        return result.matched_count > 0


def upsert_unless_handled(states: Collection[Document], query: Document, update: Document) -> bool:
    """Apply the pipeline `update` to the document `query` finds, or insert one; False when
    `query` missed only because the update is already recorded as handled, so that the
    insert clashed with the existing document's key."""
    try:
        states.update_one(query, [{"$set": update}], upsert=True)
    except DuplicateKeyError:
        # Either `handled` already holds the update, or another process inserted the
        # document first (MongoDB does not retry an upsert whose query is not plain
        # equality). The document exists now: the same update without upsert tells which.
        return states.update_one(query, [{"$set": update}]).matched_count > 0
    return True


def _encode(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False)


def _decode(text: object) -> dict[str, Any]:
    data = json.loads(text) if isinstance(text, str) else None
    return data if isinstance(data, dict) else {}
