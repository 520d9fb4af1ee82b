"""aiogram's FSM storage in MongoDB, over the process's one client and executor; what
aiogram's own `fsm/storage/pymongo.py` is, plus the two calls the bot makes instead of
four: `read` (state, data and the updates already handled) and `write` (state and data, and
the update recorded as handled, in one write). While one process serves each user, `read`
answers from what this process last wrote, without a round trip (`remembered`).

aiogram ships Mongo storages of its own, but they need pymongo's async client (a second
client per process) and close it in the dispatcher's first shutdown hook, while handlers may
still be running. This one shares the sync client and the executor with the repository and
leaves closing to whoever owns them.
"""

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final, Self

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from application.clock import Clock
from infrastructure.conversation.errors import RequestAlreadyHandled
from infrastructure.conversation.handled_updates import (
    HANDLED_REMEMBERED,
    handled_ids,
    record_unless_handled,
    upsert_unless_handled,
)
from infrastructure.conversation.remembered import RememberedConversations
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.schema import STAMPED, Upgrade, stamp

log = logging.getLogger(__name__)

EXPIRY_INDEX = "expires_at_ttl"
READ: Final[Document] = {"expires_at": False}
"""What a read (or a write that returns the document) fetches: all but the TTL index's field."""
CONVERSATIONS = Upgrade(collection="fsm_states", stages=STAMPED)
"""Conversation documents differ between versions 1 and 2 in the version field only; both
read the same."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A conversation as read (a `ConversationSnapshot` of the aiogram side)."""

    state: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    handled: frozenset[int] = frozenset()
    written_here: bool = True
    remembered: bool = False
    """Read from this process's memory (`RememberedConversations`), not from MongoDB."""
    """Whether this storage object (this process) made the last write."""

    @classmethod
    def of(cls, document: Document | None, now: datetime, writer: str = "") -> Self:
        if document is None:
            return cls()
        handled = handled_ids(document)
        here = document.get("writer") == writer
        expires = document.get("state_expires_at") or document.get("expires_at")
        if not isinstance(expires, datetime) or expires <= now:
            return cls(handled=handled, written_here=here)
        state = document.get("state")
        return cls(
            state=state if isinstance(state, str) else None,
            data=_decode(document.get("data")),
            handled=handled,
            written_here=here,
        )


class MongoFSMStorage(BaseStorage):
    """One document per conversation:
    `{_id: key, state, data, state_expires_at, handled: [update ids], expires_at, writer,
    schema_version}` (`writer`: the storage object, so the process, that wrote it last).

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
        collection: str = CONVERSATIONS.collection,
        remembered: RememberedConversations | None = None,
    ) -> None:
        """`remembered`: where `read` and `write` keep what this process wrote last, for
        one process serving each user (`EVENT_ISOLATION=local`); None: always ask."""
        self.collection: Collection[Document] = database[collection]
        self.executor = executor
        self._ttl = ttl
        self._kept_for = max(ttl, HANDLED_REMEMBERED)
        self._clock = clock
        self._writer = uuid.uuid4().hex
        self.remembered = remembered
        self._failures_seen = executor.failures
        self._keys = DefaultKeyBuilder(
            with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )

    def create_indexes(self) -> None:
        """The TTL index: documents expire at their own `expires_at`. Blocking: called once
        at start-up, before any update is handled."""
        self.collection.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=0, name=EXPIRY_INDEX
        )

    def document_id(self, key: StorageKey) -> str:
        return self._keys.build(key)

    @property
    def state_ttl(self) -> timedelta:
        """How long a state outlives the conversation's last write."""
        return self._ttl

    @property
    def kept_for(self) -> timedelta:
        """How long a document outlives its last write, until the TTL index removes it."""
        return self._kept_for

    async def read(self, key: StorageKey) -> Snapshot:
        document_id = self.document_id(key)
        memory = self._trusted_memory()
        mine = None if memory is None else memory.get(document_id)
        if mine is not None:
            return replace(self.snapshot(mine), remembered=True)
        document = await self.executor.run(self.collection.find_one, {"_id": document_id}, READ)
        self._remember(document_id, document)
        return self.snapshot(document)

    async def write(
        self,
        key: StorageKey,
        state: str | None,
        data: Mapping[str, Any] | None,
        handled: int | None,
        *,
        after_remembered: bool = False,
    ) -> None:
        """One write: `state`, `data` unless None, and update `handled` recorded as done
        (conditionally: `RequestAlreadyHandled` if it already was). `after_remembered`: the
        update read the conversation from memory; the write checks that it was still the
        last word."""
        await self._write(key, self.change(state, data), handled, after_remembered)

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

    async def close(self) -> None:
        """Nothing to release: the client and executor belong to the container."""

    def snapshot(self, document: Document | None) -> Snapshot:
        return Snapshot.of(document, self._clock(), self._writer)

    def change(self, state: str | None, data: Mapping[str, Any] | None) -> Document:
        """The pipeline fields that store `state`, and `data` unless None (an expired
        conversation's data then starts afresh)."""
        fields: Document = {"state": {"$literal": state}}
        fields["data"] = (
            {"$cond": [self._alive(), "$data", "{}"]}
            if data is None
            else {"$literal": _encode(data)}
        )
        return fields

    def kept_until(self) -> Document:
        """The pipeline fields that keep the document (and its state) alive from now."""
        now = self._clock()
        return {"state_expires_at": now + self._ttl, "expires_at": now + self._kept_for}

    def _alive(self) -> Document:
        return {"$gt": [{"$ifNull": ["$state_expires_at", "$expires_at"]}, self._clock()]}

    async def _write(
        self,
        key: StorageKey,
        fields: Document,
        handled: int | None,
        remembered: bool = False,
    ) -> None:
        document_id = self.document_id(key)
        alive = self._alive()
        update: Document = {
            # An expired conversation (not yet removed) starts afresh.
            "state": {"$cond": [alive, "$state", None]},
            "data": {"$cond": [alive, "$data", "{}"]},
            **fields,
            **self.kept_until(),
            "writer": self._writer,
            **stamp(),
        }
        query: Document = {"_id": document_id}
        if remembered:  # what this update read came from memory: still true?
            query["writer"] = self._writer
        if handled is not None:
            record_unless_handled(query, update, handled)
        try:
            written = await self.executor.run(
                upsert_unless_handled, self.collection, query, update, READ
            )
            if written is None and remembered:
                written = await self._write_after_another(document_id, query, update, handled)
        except BaseException:
            self._forget(document_id)  # it may or may not have landed
            raise
        if written is None:
            assert handled is not None  # only a condition on `handled` is left to fail
            self._forget(document_id)
            raise RequestAlreadyHandled(handled)
        self._remember(document_id, written)

    async def _write_after_another(
        self, document_id: str, query: Document, update: Document, handled: int | None
    ) -> Document | None:
        """The remembered conversation was not the last written: another process wrote it
        since (which one-process mode rules out; a standby that took over, say). The step
        was decided on what this process wrote last; its change is written all the same,
        as it would have been without memory, unless the update was handled there."""
        log.warning(
            "a conversation was written by another process since this one last did;"
            " EVENT_ISOLATION=local expects one process per user"
        )
        self._forget(document_id)
        del query["writer"]
        return await self.executor.run(upsert_unless_handled, self.collection, query, update, READ)

    def _trusted_memory(self) -> RememberedConversations | None:
        """The memory, emptied first if any MongoDB call failed since it was last asked: a
        failure may be the start of an outage, which the next step should find out about by
        asking, as it would without memory (an apology, rather than an answer whose write
        may not land for a while)."""
        if self.remembered is not None and self.executor.failures != self._failures_seen:
            self._failures_seen = self.executor.failures
            self.remembered.forget_all()
        return self.remembered

    def _remember(self, document_id: str, document: Document | None) -> None:
        if self.remembered is not None and document and document.get("writer") == self._writer:
            self.remembered.keep(document_id, document)

    def _forget(self, document_id: str) -> None:
        if self.remembered is not None:
            self.remembered.forget(document_id)


def _encode(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), ensure_ascii=False)


def _decode(text: object) -> dict[str, Any]:
    data = json.loads(text) if isinstance(text, str) else None
    return data if isinstance(data, dict) else {}
