"""The poller lease in MongoDB: which one of several `profilebot polling` processes of a
bot may call getUpdates.

One document per bot, `{_id: "poller:<bot id>", token, until_ms, now_ms}`; a released lease
keeps its document, under a token nobody holds, until `until_ms`. Whether the lease
has run out is decided by the MongoDB server's clock (`$$NOW`), never by a process's, so
machines whose clocks disagree still agree on who holds it. `until_ms` is the expiry in
milliseconds since the epoch, stored as a long: SecantusDB compares a stored date with
`$$NOW` wrongly, while longs compare the same everywhere. `now_ms` is the server's time at
the last attempt, so a caller learns how long the lease has left without reading a clock of
its own. No TTL index: the document is one per bot, and correctness never depends on it
going away.
"""

from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor

_NOW_MS = {"$toLong": "$$NOW"}


@dataclass(frozen=True, slots=True)
class LeaseState:
    """The lease as the server left it after an attempt to take it."""

    held: bool
    """Whether the token that asked holds it now."""
    remaining_seconds: float
    """How long the holder's lease has left, by the server's clock (0 if it has none)."""


class MongoPollerLease:
    """Acquire, renew and release the poller lease of one bot; each call is one atomic
    command run through the executor, so a failure leaves as `StorageUnavailable`.

    A token is the caller's identity: acquiring again with the token that holds the lease
    renews it, and only the holder's token renews or releases it.
    """

    def __init__(
        self,
        database: Database[Document],
        executor: MongoExecutor,
        *,
        bot_id: int,
        collection: str = "leases",
    ) -> None:
        self._leases: Collection[Document] = database[collection]
        self._executor = executor
        self._id = f"poller:{bot_id}"

    async def acquire(self, token: str, seconds: float) -> LeaseState:
        """Take the lease for `seconds` if it is free, has run out, or is `token`'s."""
        document = await self._executor.run(
            acquire_lease, self._leases, self._id, token, _milliseconds(seconds)
        )
        remaining_ms = int(document.get("until_ms", 0)) - int(document.get("now_ms", 0))
        return LeaseState(
            held=document.get("token") == token, remaining_seconds=max(0, remaining_ms) / 1000
        )

    async def renew(self, token: str, seconds: float) -> bool:
        """Extend the lease to `seconds` from the server's now; False if `token` does not
        hold it (any more)."""
        extended: list[dict[str, Any]] = [
            {"$set": {"until_ms": {"$add": [_NOW_MS, _milliseconds(seconds)]}, "now_ms": _NOW_MS}}
        ]
        result = await self._executor.run(
            self._leases.update_one, {"_id": self._id, "token": token}, extended
        )
        return result.matched_count > 0

    async def release(self, token: str, after_seconds: float = 0.0) -> bool:
        """Give the lease up: it ends `after_seconds` from the server's now (or sooner, if
        it would anyway), and `token` can no longer renew it, so a renewal that arrives
        late changes nothing. False if `token` did not hold it."""
        ends = {"$min": ["$until_ms", {"$add": [_NOW_MS, _milliseconds(after_seconds)]}]}
        released: list[dict[str, Any]] = [
            {
                "$set": {
                    "token": {"$literal": f"released by {token}"},
                    "until_ms": ends,
                    "now_ms": _NOW_MS,
                }
            }
        ]
        result = await self._executor.run(
            self._leases.update_one, {"_id": self._id, "token": token}, released
        )
        return result.matched_count > 0


def acquire_lease(leases: Collection[Document], lease_id: str, token: str, ms: int) -> Document:
    """One `findAndModify`: the lease document after `token` tried to take it."""
    free = {
        "$or": [
            {"$eq": [{"$ifNull": ["$token", None]}, None]},
            {"$eq": ["$token", {"$literal": token}]},
            {"$lte": [{"$ifNull": ["$until_ms", 0]}, _NOW_MS]},
        ]
    }
    take: list[dict[str, Any]] = [
        {"$set": {"_free": free}},
        {
            "$set": {
                "token": {"$cond": ["$_free", {"$literal": token}, "$token"]},
                "until_ms": {"$cond": ["$_free", {"$add": [_NOW_MS, ms]}, "$until_ms"]},
                "now_ms": _NOW_MS,
            }
        },
        {"$unset": "_free"},
    ]
    try:
        document = leases.find_one_and_update(
            {"_id": lease_id}, take, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:
        document = None
    if document is None:
        # First-ever attempts racing: another one inserted the document, and this upsert
        # clashed with it (or came back empty: SecantusDB, in such a race). The document
        # exists now, and the same atomic command decides against it.
        document = leases.find_one_and_update(
            {"_id": lease_id}, take, return_document=ReturnDocument.AFTER
        )
    if document is None:
        raise OperationFailure("the poller lease document vanished while it was acquired")
    return document


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)
