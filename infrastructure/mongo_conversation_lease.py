"""One user's updates one at a time across processes: a lease on the conversation's own
MongoDB document, which is also aiogram event isolation.

aiogram's cross-process isolation exists only for Redis. Here the lock costs no round trip
of its own: acquiring it is the conversation's read (state, data, the updates already
handled, the flood bucket) and releasing it is the conversation's one write. So a step of
the conversation still makes at most three round trips.

Correctness rests on three rules, none of which needs the processes' clocks to agree:

- The server's clock decides expiry: acquiring is one `findAndModify` that takes the lease
  only if it is free or its `lease_until_ms` is behind the server's `$$NOW`.
- Renewing and releasing name the holder's token: a process whose lease was taken by
  another cannot extend it, and its final write, which is the release, does not land.
- A holder stops before its lease can run out: it keeps a local deadline, counted from
  just before it sent the request that set the lease, of the lease's length minus one
  MongoDB operation timeout (a driver call started before the deadline may still land up
  to one timeout later) and a quarter second. Renewals, every third of the lease, push the
  deadline on; a failed one is retried at once and every quarter second. When they keep
  failing (MongoDB unreachable, or the lease taken), the holder's code is cancelled at the
  deadline, before anyone else can acquire; and the lease it leaves behind is shortened,
  not removed, to one more operation timeout, since a driver call the cancelled code had
  started may still be running in its thread.

A process paused longer than that margin (a stopped VM, swapping) can still write after its
lease ended; only the release is fenced by the token. The TTL index on `expires_at` only
removes documents abandoned for days; no decision depends on it.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey

from application.errors import ConversationBusy, ConversationLost, StorageUnavailable
from application.time_budget import outside_budget
from infrastructure.mongo_fsm_storage import MongoFSMStorage, Snapshot

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.02
LONGEST_RETRY_SECONDS = 0.5
"""Waiting for a lease: retries start fast (most holders finish within tens of ms) and
back off to this, or to the holder's expiry if sooner."""
CLOCK_SLACK_SECONDS = 0.25
RENEWAL_RETRY_SECONDS = 0.25


class LeaseObserver(Protocol):
    """Where waits, timeouts and lost leases are counted (the process's metrics)."""

    def observe_lock_wait(self, seconds: float) -> None: ...

    def count_lock_timeout(self) -> None: ...

    def count_lease_lost(self, lease: str) -> None: ...


@dataclass
class HeldConversation:
    """A conversation whose lease this process holds: what acquiring read, and what the
    release will write (`HeldConversation` of the Telegram package)."""

    key: StorageKey
    token: str
    snapshot: Snapshot
    server_now_ms: int
    flood: Mapping[str, Any] | None
    deadline: float
    """Loop time by which the holder must have stopped, unless a renewal moves it on."""
    staged_change: tuple[str | None, Mapping[str, Any] | None] | None = None
    staged_handled: int | None = None
    staged_flood: Mapping[str, Any] | None = None

    def stage(self, state: str | None, data: Mapping[str, Any] | None) -> None:
        """The conversation's new state, and data unless None, written on release."""
        self.staged_change = (state, None if data is None else dict(data))

    def mark_handled(self, update_id: int) -> None:
        self.staged_handled = update_id

    def stage_flood(self, bucket: Mapping[str, Any]) -> None:
        self.staged_flood = dict(bucket)


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
        self._lease_seconds = lease_seconds
        self._lease_ms = round(lease_seconds * 1000)
        self._wait_seconds = wait_seconds
        self._safe_for = lease_seconds - operation_timeout_seconds - CLOCK_SLACK_SECONDS
        self._leftover_ms = round((operation_timeout_seconds + CLOCK_SLACK_SECONDS) * 1000)
        self._observer = observer

    @asynccontextmanager
    async def hold(self, key: StorageKey) -> AsyncIterator[HeldConversation]:
        """Wait (boundedly) for `key`'s lease and hold it for the block, renewing it; when
        the block ends, however it ends, release it with what was staged.

        Raises `ConversationBusy` if the wait ran out, `StorageUnavailable` if MongoDB did
        not answer, and `ConversationLost` (the block cancelled at its deadline) if the
        lease could not be renewed in time.
        """
        held = await self._acquire(key)
        try:
            async with asyncio.timeout_at(held.deadline) as deadline:
                renewals = asyncio.create_task(self._renew(held, deadline))
                try:
                    yield held
                finally:
                    renewals.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewals
        except TimeoutError:
            if not deadline.expired():
                await self._release_after_error(held)
                raise
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

    async def _acquire(self, key: StorageKey) -> HeldConversation:
        loop = asyncio.get_running_loop()
        token = uuid.uuid4().hex
        started = loop.time()
        give_up_at = started + self._wait_seconds
        retry_in = FIRST_RETRY_SECONDS
        tries = 0
        while True:
            tries += 1
            sent = loop.time()
            with outside_budget():
                attempt = await self._storage.acquire_lease(key, token, self._lease_ms)
            if attempt.acquired:
                if tries > 1:
                    self._waited(loop.time() - started)
                return HeldConversation(
                    key=key,
                    token=token,
                    snapshot=attempt.snapshot,
                    server_now_ms=attempt.server_now_ms,
                    flood=attempt.flood,
                    deadline=sent + self._safe_for,
                )
            now = loop.time()
            if now >= give_up_at:
                self._waited(now - started)
                if self._observer is not None:
                    self._observer.count_lock_timeout()
                log.warning(
                    "gave up waiting %.1f s for a conversation held by another update",
                    now - started,
                )
                raise ConversationBusy(f"conversation busy for {self._wait_seconds:g} s")
            await asyncio.sleep(min(retry_in, give_up_at - now))
            retry_in = min(retry_in * 2, LONGEST_RETRY_SECONDS)

    async def _renew(self, held: HeldConversation, deadline: asyncio.Timeout) -> None:
        """Every third of the lease, extend it and move the holder's deadline on. A lease
        found taken ends the holder at once; a failed renewal is retried every quarter
        second until it succeeds or the deadline ends the holder."""
        loop = asyncio.get_running_loop()
        pause = self._lease_seconds / 3
        while True:
            await asyncio.sleep(pause)
            sent = loop.time()
            try:
                with outside_budget():
                    ours = await self._storage.renew_lease(held.key, held.token, self._lease_ms)
            except Exception as error:
                log.warning("could not renew a conversation lease (%s); retrying", error)
                pause = RENEWAL_RETRY_SECONDS
                continue
            if deadline.expired():
                return  # too late: the holder is being stopped
            if not ours:
                deadline.reschedule(loop.time())
                return
            held.deadline = sent + self._safe_for
            deadline.reschedule(held.deadline)
            pause = self._lease_seconds / 3

    async def _release(self, held: HeldConversation) -> None:
        """The conversation's one write. Failing, the update is not recorded as handled:
        raising makes its delivery fail, so that it comes again."""
        with outside_budget():
            released = await self._storage.release_lease(
                held.key,
                held.token,
                change=held.staged_change,
                handled=held.staged_handled,
                flood=held.staged_flood,
            )
        if not released:
            if self._observer is not None:
                self._observer.count_lease_lost("conversation")
            raise ConversationLost("the lease ran out before the conversation was written")

    async def _release_after_error(self, held: HeldConversation) -> None:
        """The block failed: write what it staged (a change whose use case succeeded
        before a reply failed) without letting a failed release hide the first error."""
        try:
            await self._release(held)
        except (StorageUnavailable, ConversationLost) as error:
            log.warning("could not release a conversation after an error (%s)", error)

    async def _let_go(self, held: HeldConversation) -> None:
        """After stopping the holder's code: shorten the lease, if still ours, to one more
        operation timeout (a driver call it started may still land meanwhile), writing
        nothing else, so the next update waits that long rather than a whole lease."""
        try:
            with outside_budget():
                await self._storage.renew_lease(held.key, held.token, self._leftover_ms)
        except StorageUnavailable:
            pass

    def _waited(self, seconds: float) -> None:
        if self._observer is not None:
            self._observer.observe_lock_wait(seconds)
