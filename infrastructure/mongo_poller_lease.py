"""The poller lease in MongoDB: which one of several `profilebot polling` processes of a
bot may call getUpdates (`infrastructure.poller_lease_keeper` says how it is used).

One document per bot, `{_id: "poller:<bot id>", token, until_ms, now_ms, schema_version}`,
a lease of `infrastructure.mongo_lease`: the server's clock decides expiry, and `now_ms`,
the server's time at the last attempt, tells a standby how long the holder has left
without a clock of its own. A released lease keeps its document, under a token nobody
holds, until `until_ms`. No TTL index: the document is one per bot, and correctness never
depends on it going away.
"""

from pymongo.database import Database

from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.mongo_lease import MongoLease
from infrastructure.poller_lease_keeper import LeaseState
from infrastructure.schema import STAMPED, Upgrade

POLLER_LEASES = Upgrade(collection="leases", stages=STAMPED)
"""Lease documents differ between versions 1 and 2 in the version field only."""


class MongoPollerLease:
    """The `PollerLease` of one bot. A token is the caller's identity: acquiring again
    with the token that holds the lease renews it, and only that token renews or
    releases it. Each call raises `StorageUnavailable` when MongoDB failed."""

    def __init__(
        self,
        database: Database[Document],
        executor: MongoExecutor,
        *,
        bot_id: int,
        collection: str = POLLER_LEASES.collection,
    ) -> None:
        self._lease = MongoLease(database[collection], executor)
        self._id = f"poller:{bot_id}"

    async def acquire(self, token: str, seconds: float) -> LeaseState:
        """Take the lease for `seconds` if it is free, has run out, or is `token`'s."""
        attempt = await self._lease.acquire(self._id, token, _milliseconds(seconds))
        return LeaseState(held=attempt.held, remaining_seconds=attempt.remaining_seconds)

    async def renew(self, token: str, seconds: float) -> bool:
        """Extend the lease to `seconds` from the server's now; False if `token` does not
        hold it (any more)."""
        return await self._lease.renew(self._id, token, _milliseconds(seconds))

    async def release(self, token: str, after_seconds: float = 0.0) -> bool:
        """Give the lease up: it ends `after_seconds` from the server's now (or sooner, if
        it would anyway), and `token` can no longer renew it. False if `token` did not
        hold it."""
        return await self._lease.hand_over(self._id, token, _milliseconds(after_seconds))


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)
