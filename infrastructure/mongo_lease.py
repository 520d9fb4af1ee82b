"""A lease on a MongoDB document, decided by the server's clock, and the renewals that keep
it: the one lease the bot has, used by the poller lease and by every conversation's lease.

The shape of aiogram's `RedisEventIsolation`, split where its users differ: `MongoLease` is
the commands (take, renew, release, hand over), each one atomic round trip; `Renewals` keeps
a lease held and knows the local deadline by which its holder must have stopped; `kept` runs
a block under it and cancels the block at that deadline.

Correctness rests on three rules, none of which needs the processes' clocks to agree:

- The server's clock decides expiry: taking the lease is one `findAndModify` that succeeds
  only if the lease is free, ran out by the server's `$$NOW`, or is already the caller's.
  Times are stored as numbers (ms since the epoch): SecantusDB compares dates with `$$NOW`
  wrongly, while numbers compare the same everywhere.
- Renewing and releasing name the holder's token: a holder whose lease went to another
  can no longer extend it, and its release, often the holder's last write, does not land.
- A holder stops before its lease can run out: it keeps a local deadline, counted from
  just before it sent the request that set the lease, of the lease's length minus a
  margin (for a conversation, one MongoDB operation timeout, since a driver call started
  before the deadline may land up to that much later, plus a quarter second of clock
  slack). Renewals, every third of the lease, move the deadline on; a failed one is
  retried every quarter second until the deadline.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from application.errors import StorageUnavailable
from infrastructure.mongo_client import Document
from infrastructure.mongo_executor import MongoExecutor
from infrastructure.schema import stamp

log = logging.getLogger(__name__)

SERVER_NOW_MS: Document = {"$toLong": "$$NOW"}
"""The server's clock, in ms since the epoch; the only clock any lease decision reads."""
CLOCK_SLACK_SECONDS = 0.25
RENEWAL_RETRY_SECONDS = 0.25
FIRST_RETRY_SECONDS = 0.02
LONGEST_RETRY_SECONDS = 0.5
"""Waiting for a lease: retries start fast (most holders finish within tens of ms) and
back off to this, or to the end of the wait if sooner."""


@dataclass(frozen=True, slots=True)
class LeaseFields:
    """Where the lease lives in its document: the holder's token, its expiry and the
    server's clock when it was last taken or renewed (both in ms since the epoch)."""

    token: str = "token"
    until_ms: str = "until_ms"
    now_ms: str = "now_ms"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try to take a lease found, by the server's clock."""

    held: bool
    """Whether the token that asked holds the lease now."""
    document: Document
    """The whole document after the try: taking a lease can also be a read."""
    now_ms: int
    """The server's clock at the try (0 if the lease was not taken and the try noted
    nothing)."""
    remaining_seconds: float
    """How long the holder's lease has left (0 if nobody holds it, or unknown)."""


@dataclass(frozen=True, slots=True)
class Waited:
    """How waiting for a lease ended."""

    attempt: Attempt
    """The last try: held, or not if the wait ran out."""
    sent: float
    """Loop time just before the last try was sent: the lease lasts at least until then
    plus its length."""
    tries: int
    seconds: float
    """How long the wait took."""


class MongoLease:
    """Leases on the documents of one collection; each call is one atomic command through
    the executor, so a failure leaves as `StorageUnavailable`. Every write of the holder's
    marks the document current (`infrastructure.schema`): the collections leases live in
    differ between versions in that field alone.

    `note_every_try`: whether a try that finds the lease taken still writes the server's
    clock (so the caller learns how long the holder has left), or changes nothing (so a
    waiter's try is no write).
    """

    def __init__(
        self,
        collection: Collection[Document],
        executor: MongoExecutor,
        *,
        fields: LeaseFields = LeaseFields(),
        note_every_try: bool = True,
    ) -> None:
        self.collection = collection
        self._executor = executor
        self._fields = fields
        self._note_every_try = note_every_try

    async def acquire(
        self,
        document_id: str,
        token: str,
        ms: int,
        *,
        when_taken: Mapping[str, Any] | None = None,
    ) -> Attempt:
        """Take the lease for `ms` if it is free, has run out, or is `token`'s; creates the
        document if needed. `when_taken`: fields also set, only if the lease is taken."""
        f = self._fields
        free = {
            "$or": [
                {"$eq": [{"$ifNull": [f"${f.token}", None]}, None]},
                {"$eq": [f"${f.token}", {"$literal": token}]},
                {"$lte": [{"$ifNull": [f"${f.until_ms}", 0]}, SERVER_NOW_MS]},
            ]
        }
        taken: Document = {
            f.token: {"$literal": token},
            f.until_ms: {"$add": [SERVER_NOW_MS, ms]},
            f.now_ms: SERVER_NOW_MS,
            **stamp(),
            **(when_taken or {}),
        }
        if_taken = {
            name: value if self._note_every_try and name == f.now_ms else _if_free(name, value)
            for name, value in taken.items()
        }
        pipeline: list[Document] = [
            {"$set": {"_lease_free": free}},
            {"$set": if_taken},
            {"$unset": "_lease_free"},
        ]
        document = await self._executor.run(_find_and_set, self.collection, document_id, pipeline)
        held = document.get(f.token) == token
        now_ms = int(document.get(f.now_ms) or 0) if held or self._note_every_try else 0
        until_ms = int(document.get(f.until_ms) or 0)
        return Attempt(
            held=held,
            document=document,
            now_ms=now_ms,
            remaining_seconds=max(0, until_ms - now_ms) / 1000 if now_ms else 0.0,
        )

    async def wait_for(
        self,
        document_id: str,
        token: str,
        ms: int,
        *,
        seconds: float,
        when_taken: Mapping[str, Any] | None = None,
    ) -> "Waited":
        """`acquire`, tried again and again, backing off, until the lease is taken or
        `seconds` have passed (then the last attempt says it is not held)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        retry_in = FIRST_RETRY_SECONDS
        tries = 0
        while True:
            tries += 1
            sent = loop.time()
            attempt = await self.acquire(document_id, token, ms, when_taken=when_taken)
            now = loop.time()
            if attempt.held or now >= started + seconds:
                return Waited(attempt=attempt, sent=sent, tries=tries, seconds=now - started)
            await asyncio.sleep(min(retry_in, started + seconds - now))
            retry_in = min(retry_in * 2, LONGEST_RETRY_SECONDS)

    async def renew(self, document_id: str, token: str, ms: int) -> bool:
        """Make the lease end `ms` from the server's now; False if `token` does not hold it
        (any more)."""
        f = self._fields
        extended: list[Document] = [
            {
                "$set": {
                    f.until_ms: {"$add": [SERVER_NOW_MS, ms]},
                    f.now_ms: SERVER_NOW_MS,
                    **stamp(),
                }
            }
        ]
        result = await self._executor.run(
            self.collection.update_one, {"_id": document_id, f.token: token}, extended
        )
        return result.matched_count > 0

    async def release(
        self, document_id: str, token: str, *, also_set: Mapping[str, Any] | None = None
    ) -> bool:
        """End the lease, in the write that also sets `also_set` (pipeline expressions): a
        holder's last write can be its release. False, and nothing written, if `token` does
        not hold it."""
        f = self._fields
        pipeline: list[Document] = [
            {"$set": {**(also_set or {}), **stamp()}},
            {"$unset": [f.token, f.until_ms, f.now_ms]},
        ]
        result = await self._executor.run(
            self.collection.update_one, {"_id": document_id, f.token: token}, pipeline
        )
        return result.matched_count > 0

    async def hand_over(self, document_id: str, token: str, after_ms: int) -> bool:
        """Give the lease up `after_ms` from the server's now (or sooner, if it ends
        sooner anyway), under a token nobody holds, so a renewal that arrives late changes
        nothing; the document keeps saying how long is left. False if `token` did not
        hold it."""
        f = self._fields
        ends = {"$min": [f"${f.until_ms}", {"$add": [SERVER_NOW_MS, after_ms]}]}
        released: list[Document] = [
            {
                "$set": {
                    f.token: {"$literal": f"released by {token}"},
                    f.until_ms: ends,
                    f.now_ms: SERVER_NOW_MS,
                    **stamp(),
                }
            }
        ]
        result = await self._executor.run(
            self.collection.update_one, {"_id": document_id, f.token: token}, released
        )
        return result.matched_count > 0


def _if_free(name: str, value: object) -> Document:
    return {"$cond": ["$_lease_free", value, f"${name}"]}


def _find_and_set(
    collection: Collection[Document], document_id: str, pipeline: list[Document]
) -> Document:
    """The document after `pipeline`, inserting it if it does not exist yet."""
    for _ in range(3):  # first tries racing to create the document: one inserts
        try:
            found = collection.find_one_and_update(
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
    raise DuplicateKeyError(f"lease document {document_id} kept being created meanwhile")


class Renewals:
    """Keeps a held lease: renews it every third of its length and moves the local
    deadline, by which the holder must have stopped, to `safe_for` after each renewal's
    request was sent. `clock` is the one the deadline is on."""

    def __init__(
        self,
        renew: Callable[[], Awaitable[bool]],
        *,
        seconds: float,
        safe_for: float,
        granted_at: float,
        name: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if safe_for <= 0:
            raise ValueError("a lease must outlast its safety margin")
        self._renew = renew
        self._seconds = seconds
        self._safe_for = safe_for
        self._name = name
        self._clock = clock
        self.deadline = granted_at + safe_for
        self._renew_at = granted_at + seconds / 3

    async def keep(self, on_renewed: Callable[[float], None] = lambda deadline: None) -> str:
        """Renew for as long as the lease is held (calling `on_renewed` with each new
        deadline); returns why it no longer is: taken by another, or not renewed in time."""
        while True:
            await asyncio.sleep(max(0.0, self._renew_at - self._clock()))
            problem = await self._renew_before(self.deadline)
            if problem is not None:
                return problem
            on_renewed(self.deadline)

    async def _renew_before(self, deadline: float) -> str | None:
        """One renewal, retried after failures until `deadline`; what went wrong if none
        succeeded. A stall that passed the deadline already fails it at once."""
        failure = "MongoDB did not answer"
        try:
            async with asyncio.timeout(deadline - self._clock()):
                while True:
                    sent = self._clock()
                    try:
                        renewed = await self._renew()
                    except StorageUnavailable as error:
                        if failure != str(error):
                            log.warning(
                                "could not renew the %s lease (%s); retrying", self._name, error
                            )
                        failure = str(error)
                        await asyncio.sleep(RENEWAL_RETRY_SECONDS)
                        continue
                    if not renewed:
                        return "another holder has it now"
                    self.deadline = sent + self._safe_for
                    self._renew_at = sent + self._seconds / 3
                    return None
        except TimeoutError:
            return f"not renewed in time ({failure})"


class LeaseLost(Exception):
    """The block holding a lease was cancelled at its deadline: the lease could not be
    kept (renewals failed, or another holder took it)."""


@contextlib.asynccontextmanager
async def kept(renewals: Renewals) -> AsyncIterator[None]:
    """Run the block while `renewals` keep the lease; cancel it at the deadline, or as soon
    as the lease is found taken, and raise `LeaseLost` instead. The deadline must be on
    the loop's clock."""
    lost: list[str] = []
    try:
        async with asyncio.timeout_at(renewals.deadline) as deadline:
            task = asyncio.create_task(_keep_or_end(renewals, deadline, lost))
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    except TimeoutError:
        if not deadline.expired():
            raise  # the block's own
        raise LeaseLost(lost[0] if lost else "not renewed in time") from None


async def _keep_or_end(renewals: Renewals, deadline: asyncio.Timeout, lost: list[str]) -> None:
    def move(to: float) -> None:
        if not deadline.expired():
            deadline.reschedule(to)

    lost.append(await renewals.keep(move))
    move(asyncio.get_running_loop().time())  # lost: the block ends now, not at the deadline
