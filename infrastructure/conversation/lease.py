"""One user's updates one at a time across processes: a lease (`infrastructure.mongo_lease`)
on the conversation's own MongoDB document, which is also aiogram event isolation.

aiogram's cross-process isolation exists only for Redis. Here the lock costs no round trip
of its own: acquiring it is the conversation's read (state, data, the updates already
handled, the flood bucket) and releasing it is the conversation's one write. So a step of
the conversation still makes at most three round trips.

The lease's rules (server clock, token-fenced renewal and release, a local deadline) are
`mongo_lease`'s. Here: the deadline's margin is one MongoDB operation timeout (a driver call
started before it may still land up to one timeout later) and a quarter second; a holder
whose renewals keep failing is cancelled at the deadline, before anyone else can acquire;
and the lease it leaves behind is shortened, not removed, to one more operation timeout,
since a driver call the cancelled code had started may still be running in its thread.

Taking the lease also notes which update holds it (`step`), and releasing it clears the
note; a holder that never released (killed, its lease lost, its release failed) leaves its
update in `unfinished`, which the next holder reads: that update's effect may have happened
while the conversation still reads as before it (see `presentation.telegram.conversation
.lease`). Kept until a release, so a chain of holders that died is seen whole.

A process paused longer than that margin (a stopped VM, swapping) can still write after its
lease ended; only the release is fenced by the token. The TTL index on `expires_at` only
removes documents abandoned for days; no decision depends on it.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey

from application.errors import StorageUnavailable
from application.time_budget import outside_budget
from infrastructure.conversation.errors import ConversationBusy, ConversationLost
from infrastructure.conversation.handled_updates import recorded
from infrastructure.conversation.storage import MongoFSMStorage, Snapshot
from infrastructure.mongo_client import Document
from infrastructure.mongo_lease import (
    CLOCK_SLACK_SECONDS,
    SERVER_NOW_MS,
    LeaseFields,
    LeaseLost,
    MongoLease,
    Renewals,
    kept,
)

log = logging.getLogger(__name__)

FIELDS = LeaseFields(token="lease_token", until_ms="lease_until_ms", now_ms="lease_seen_ms")
UNFINISHED_KEPT = 10
"""Updates of holders that never released, kept until a release: more than ever pile up."""


class LeaseObserver(Protocol):
    """Where waits, timeouts and lost leases are counted (the process's metrics)."""

    def observe_lock_wait(self, seconds: float) -> None: ...

    def count_lock_timeout(self) -> None: ...

    def count_lease_lost(self, lease: str) -> None: ...


@dataclass
class MongoHeldConversation:
    """A conversation whose lease this process holds: what acquiring read, and what the
    release will write (the `HeldConversation` the aiogram side asks for)."""

    document_id: str
    token: str
    snapshot: Snapshot
    server_now_ms: int
    flood: Mapping[str, Any] | None
    renewals: Renewals
    unfinished: tuple[int, ...] = ()
    """Updates whose holders took this lease before and never let it go."""
    free_since_ms: int | None = None
    """The latest the last holder may have let the lease go (server clock, plus the slack
    allowed between servers' clocks; 0: nobody ever held it), if nothing was written to the
    document since; None if unknown."""
    unfinished_settled: bool = False
    staged_change: tuple[str | None, Mapping[str, Any] | None] | None = None
    staged_handled: int | None = None
    staged_flood: Mapping[str, Any] | None = None

    @property
    def deadline(self) -> float:
        """Loop time by which the holder must have stopped, unless a renewal moves it on."""
        return self.renewals.deadline

    def stage(self, state: str | None, data: Mapping[str, Any] | None) -> None:
        """The conversation's new state, and data unless None, written on release."""
        self.staged_change = (state, None if data is None else dict(data))

    def mark_handled(self, update_id: int) -> None:
        self.staged_handled = update_id

    def stage_flood(self, bucket: Mapping[str, Any]) -> None:
        self.staged_flood = dict(bucket)

    def settle_unfinished(self) -> None:
        """What the unfinished holders left is dealt with: the release forgets them."""
        self.unfinished_settled = True


class MongoConversationLeases(BaseEventIsolation):
    """Leases on conversation documents. `hold` is what the bot uses; `lock` makes the same
    lease usable as any aiogram dispatcher's `events_isolation`."""

    def __init__(
        self,
        storage: MongoFSMStorage,
        *,
        lease_seconds: float,
        wait_seconds: float,
        operation_timeout_seconds: float,
        observer: LeaseObserver | None = None,
    ) -> None:
        if lease_seconds <= 2 * (operation_timeout_seconds + CLOCK_SLACK_SECONDS):
            raise ValueError("a lease must outlast two MongoDB operation timeouts")
        self._storage = storage
        self.documents = MongoLease(
            storage.collection, storage.executor, fields=FIELDS, note_every_try=False
        )
        """The lease commands on the conversations' documents."""
        self._lease_seconds = lease_seconds
        self._lease_ms = round(lease_seconds * 1000)
        self._wait_seconds = wait_seconds
        self._safe_for = lease_seconds - operation_timeout_seconds - CLOCK_SLACK_SECONDS
        self._leftover_ms = round((operation_timeout_seconds + CLOCK_SLACK_SECONDS) * 1000)
        self._observer = observer

    @asynccontextmanager
    async def hold(
        self, key: StorageKey, update_id: int | None = None
    ) -> AsyncIterator[MongoHeldConversation]:
        """Wait (boundedly) for `key`'s lease and hold it for the block (for `update_id`),
        renewing it; when the block ends, however it ends, release it with what was staged.

        Raises `ConversationBusy` if the wait ran out, `StorageUnavailable` if MongoDB did
        not answer, and `ConversationLost` (the block cancelled at its deadline) if the
        lease could not be renewed in time.
        """
        held = await self._acquire(self._storage.document_id(key), update_id)
        try:
            async with kept(held.renewals):
                yield held
        except LeaseLost:
            if self._observer is not None:
                self._observer.count_lease_lost("conversation")
            log.warning(
                "a conversation lease could not be renewed; its update was stopped unfinished"
                " before the lease could run out"
            )
            await self._let_go(held)
            raise ConversationLost("the lease could not be renewed") from None
        except Exception:
            await self._release_after_error(held)
            raise
        except BaseException:  # cancelled (shutdown): a driver call may still be running
            await self._let_go(held)
            raise
        await self._release(held)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        async with self.hold(key):
            yield

    async def close(self) -> None:
        """Nothing to release: leases end with their blocks."""

    async def _acquire(self, document_id: str, update_id: int | None) -> MongoHeldConversation:
        """Wait, boundedly, until the lease is ours. Each try returns the document, so
        acquiring is also the read; a try that finds the lease taken writes nothing."""
        token = uuid.uuid4().hex
        left_unfinished = {
            "$slice": [
                {
                    "$concatArrays": [
                        {"$ifNull": ["$unfinished", []]},
                        {"$cond": [{"$in": [{"$type": "$step"}, ["int", "long"]]}, ["$step"], []]},
                    ]
                },
                -UNFINISHED_KEPT,
            ]
        }
        with outside_budget():
            waited = await self.documents.wait_for(
                document_id,
                token,
                self._lease_ms,
                seconds=self._wait_seconds,
                # Pushed on when taken, so the TTL monitor cannot remove a document while
                # it is held (and one abandoned by a crash is still cleaned up).
                when_taken={
                    "expires_at": self._storage.kept_until()["expires_at"],
                    "step": {"$literal": update_id},
                    "unfinished": left_unfinished,
                    # As it was: the last release's, if no holder wrote since (every
                    # version's acquire and release write `expires_at`).
                    "taken_after": "$expires_at",
                },
            )
        attempt = waited.attempt
        if (waited.tries > 1 or not attempt.held) and self._observer is not None:
            self._observer.observe_lock_wait(waited.seconds)
        if not attempt.held:
            if self._observer is not None:
                self._observer.count_lock_timeout()
            log.warning(
                "gave up waiting %.1f s for a conversation held by another update",
                waited.seconds,
            )
            raise ConversationBusy(f"conversation busy for {self._wait_seconds:g} s")
        flood = attempt.document.get("flood")
        unfinished = attempt.document.get("unfinished")
        return MongoHeldConversation(
            document_id=document_id,
            token=token,
            snapshot=self._storage.snapshot(attempt.document),
            server_now_ms=attempt.now_ms,
            flood=flood if isinstance(flood, Mapping) else None,
            unfinished=tuple(
                i
                for i in (unfinished if isinstance(unfinished, list) else [])
                if isinstance(i, int)
            ),
            free_since_ms=_free_since(attempt.document),
            renewals=Renewals(
                lambda: self._renew(document_id, token, self._lease_ms),
                seconds=self._lease_seconds,
                safe_for=self._safe_for,
                granted_at=waited.sent,
                name="conversation",
                clock=asyncio.get_running_loop().time,
            ),
        )

    async def _renew(self, document_id: str, token: str, ms: int) -> bool:
        with outside_budget():
            return await self.documents.renew(document_id, token, ms)

    async def _release(self, held: MongoHeldConversation) -> None:
        """The conversation's one write. Failing, the update is not recorded as handled:
        raising makes its delivery fail, so that it comes again."""
        with outside_budget():
            released = await self.documents.release(
                held.document_id, held.token, also_set=self._staged(held)
            )
        if not released:
            if self._observer is not None:
                self._observer.count_lease_lost("conversation")
            raise ConversationLost("the lease ran out before the conversation was written")

    def _staged(self, held: MongoHeldConversation) -> Document:
        """What the release writes: the state and data the holder changed, update `handled`
        recorded as done, the flood bucket, the unfinished holders forgotten once dealt
        with; and the document kept alive."""
        kept_until = self._storage.kept_until()
        fields: Document = {
            "expires_at": kept_until["expires_at"],
            "step": None,
            "released_ms": SERVER_NOW_MS,
            "released_with": kept_until["expires_at"],
        }
        if held.unfinished_settled or not held.unfinished:
            fields["unfinished"] = {"$literal": []}
        if held.staged_change is not None:
            fields |= self._storage.change(*held.staged_change)
            fields["state_expires_at"] = kept_until["state_expires_at"]
        if held.staged_handled is not None:
            fields["handled"] = recorded(held.staged_handled)
        if held.staged_flood is not None:
            fields["flood"] = {"$literal": dict(held.staged_flood)}
        return fields

    async def _release_after_error(self, held: MongoHeldConversation) -> None:
        """The block failed: write what it staged (a change whose use case succeeded
        before a reply failed) without letting a failed release hide the first error."""
        try:
            await self._release(held)
        except (StorageUnavailable, ConversationLost) as error:
            log.warning("could not release a conversation after an error (%s)", error)

    async def _let_go(self, held: MongoHeldConversation) -> None:
        """After stopping the holder's code: shorten the lease, if still ours, to one more
        operation timeout (a driver call it started may still land meanwhile), writing
        nothing else, so the next update waits that long rather than a whole lease."""
        with suppress(StorageUnavailable):
            await self._renew(held.document_id, held.token, self._leftover_ms)


def _free_since(document: Document) -> int | None:
    """When the lease was last let go (`MongoHeldConversation.free_since_ms`): the time its
    last release noted, plus the clock slack (a failover may have changed the server whose
    clock it is), if that release was the last write before this acquisition (its
    `expires_at` still the one it wrote); 0 for a document nobody held before."""
    before, released_ms = document.get("taken_after"), document.get("released_ms")
    if before is None and released_ms is None:
        return 0
    if before is None or before != document.get("released_with"):
        return None
    if not isinstance(released_ms, int):
        return None
    return released_ms + round(CLOCK_SLACK_SECONDS * 1000)
