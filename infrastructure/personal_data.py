"""`PersonalData` in MongoDB: every document kept about one user, read in one round trip.

Each collection that keeps documents about a user is named once, in `_holdings`: which of
its documents are the user's, and how they read in plain values. One aggregate reads the
user's documents of all of them (`$unionWith`), so `/mydata` keeps every step's budget of
three round trips, under a conversation lease too (the lease, this read, the release).
Documents are exported whole: a field added later is in the export without a change here;
a collection added later must join `_holdings` (a conversation test walks the database and
fails naming a collection, or a field, the export leaves out or does not describe).
"""

import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from aiogram.fsm.storage.base import StorageKey
from pymongo.collection import Collection

from application.personal_data import Retention, StoredAbout, StoredRecord
from domain.user import UserId
from infrastructure.conversation.handled_updates import HANDLED_KEPT
from infrastructure.conversation.storage import MongoFSMStorage
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_user_repository import (
    FORGOTTEN_KEPT,
    MongoUserRepository,
    user_from_document,
)


def plain(value: object) -> object:
    """`value` in the plain values a `StoredRecord` holds: what BSON has beyond them (an
    ObjectId, say) as its string."""
    if value is None or isinstance(value, str | int | float | bool | datetime):
        return value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return str(value)


def plain_document(document: Document) -> Document:
    return {key: plain(value) for key, value in document.items()}


def readable_conversation(document: Document) -> Document:
    """A conversation's document, its `data` (stored as JSON text) read as what it holds."""
    readable = plain_document(document)
    if isinstance(text := readable.get("data"), str):
        with suppress(ValueError):  # not JSON after all: shown as stored
            readable["data"] = json.loads(text)
    return readable


@dataclass(frozen=True, slots=True)
class Holding:
    """The documents one collection keeps about one user."""

    collection: Collection[Document]
    query: Document
    readable: Callable[[Document], Document] = plain_document


class MongoPersonalData:
    """What `users` (the profile, or the record a deletion left) and `fsm_states` (the
    conversation with this bot: state, data, handled updates, flood bucket, lease) keep
    about one user."""

    def __init__(
        self,
        users: MongoUserRepository,
        conversations: MongoFSMStorage,
        executor: MongoExecutor,
        *,
        bot_id: int,
    ) -> None:
        self._users = users
        self._conversations = conversations
        self._executor = executor
        self._bot_id = bot_id

    def _holdings(self, user_id: int) -> list[Holding]:
        """Every collection's documents about the user: the one list a new one joins."""
        conversation = StorageKey(bot_id=self._bot_id, chat_id=user_id, user_id=user_id)
        return [
            Holding(self._users.collection, {"telegram_id": user_id}),
            Holding(
                self._conversations.collection,
                {"_id": self._conversations.document_id(conversation)},
                readable_conversation,
            ),
        ]

    @property
    def collections(self) -> list[str]:
        """The collections read, in order."""
        return [holding.collection.name for holding in self._holdings(1)]

    async def stored_about(self, user_id: UserId) -> StoredAbout:
        holdings = {holding.collection.name: holding for holding in self._holdings(user_id.value)}
        found = await self._executor.run(_read_together, list(holdings.values()))
        records, user = [], None
        for item in found:
            holding, document = holdings[item["collection"]], item["document"]
            if holding.collection is self._users.collection and "name" in document:
                user = user_from_document(document)
            records.append(
                StoredRecord(kept_in=holding.collection.name, fields=holding.readable(document))
            )
        return StoredAbout(user=user, records=tuple(records))

    def retention(self) -> Retention:
        return Retention(
            deletion_record=FORGOTTEN_KEPT,
            open_question=self._conversations.state_ttl,
            conversation=self._conversations.kept_for,
            handled_updates=HANDLED_KEPT,
        )


def _read_together(holdings: list[Holding]) -> list[Document]:
    """One aggregate: the first collection's documents, then each other's ($unionWith),
    each as `{collection, document}`."""
    first, *others = holdings
    pipeline = [{"$match": first.query}, _tagged(first)]
    pipeline += [
        {
            "$unionWith": {
                "coll": other.collection.name,
                "pipeline": [{"$match": other.query}, _tagged(other)],
            }
        }
        for other in others
    ]
    return list(first.collection.aggregate(pipeline))


def _tagged(holding: Holding) -> Document:
    return {
        "$replaceWith": {"collection": {"$literal": holding.collection.name}, "document": "$$ROOT"}
    }
