"""`profilebot migrate`'s work: every stored document of an earlier schema version made
current, collection by collection, in batches.

Nothing about the run is kept anywhere but in the documents themselves, so a run killed at
any point is resumed by running it again, and a second run finds nothing to do. A batch is
one `update_many` filtered on the earlier version: a document another process wrote
meanwhile in the current version is not matched, so never overwritten. The upgrade is an
update pipeline that changes only what the versions differ in, never a replacement, so a
concurrent write of anything else is kept too. Each document's upgrade is atomic.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pymongo.database import Database

from infrastructure.conversation.storage import CONVERSATIONS
from infrastructure.mongo_client import Document
from infrastructure.mongo_poller_lease import POLLER_LEASES
from infrastructure.mongo_user_repository import USERS
from infrastructure.schema import Upgrade, older

UPGRADES: tuple[Upgrade, ...] = (USERS, CONVERSATIONS, POLLER_LEASES)
"""Every collection the bot stores documents in (a test fails naming one missing here)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch done."""

    collection: str
    upgraded: int
    """Documents this batch upgraded (fewer than it found if others wrote them meanwhile)."""
    done: int
    """Documents of the collection this run has upgraded so far."""
    pending: int
    """Documents of the collection that were of an earlier version when the run started."""


class Migration:
    """Upgrades the documents of `upgrades` in `database`."""

    def __init__(
        self, database: Database[Document], upgrades: Sequence[Upgrade] = UPGRADES
    ) -> None:
        self._database = database
        self._upgrades = tuple(upgrades)

    def pending(self) -> dict[str, int]:
        """Documents of an earlier version, by collection: what a run would upgrade now
        (the dry run)."""
        return {u.collection: self._count(u) for u in self._upgrades}

    def run(
        self, batch_size: int, on_batch: Callable[[Batch], None] = lambda _: None
    ) -> dict[str, int]:
        """Upgrade everything pending, calling `on_batch` after each batch; the documents
        upgraded, by collection."""
        return {u.collection: self.upgrade_all(u, batch_size, on_batch) for u in self._upgrades}

    def upgrade_all(
        self, upgrade: Upgrade, batch_size: int, on_batch: Callable[[Batch], None]
    ) -> int:
        """One collection, in batches ordered by `_id` (each starts after the last one's
        last document, so the run passes over the collection once)."""
        pending = self._count(upgrade)
        done = 0
        after: object = None
        while ids := self.next_batch(upgrade, after, batch_size):
            upgraded = self.upgrade_batch(upgrade, ids)
            done += upgraded
            after = ids[-1]
            on_batch(Batch(upgrade.collection, upgraded, done, pending))
        return done

    def next_batch(self, upgrade: Upgrade, after: object, size: int) -> list[object]:
        """The ids of up to `size` documents of an earlier version, past `after`."""
        query = older() if after is None else {**older(), "_id": {"$gt": after}}
        found = self._database[upgrade.collection].find(query, {"_id": True})
        return [document["_id"] for document in found.sort("_id", 1).limit(size)]

    def upgrade_batch(self, upgrade: Upgrade, ids: list[object]) -> int:
        """Upgrade those of `ids` that are still of an earlier version; how many were."""
        result = self._database[upgrade.collection].update_many(
            {"_id": {"$in": ids}, **older()}, list(upgrade.stages)
        )
        return result.modified_count

    def _count(self, upgrade: Upgrade) -> int:
        return self._database[upgrade.collection].count_documents(older())
