"""Standby polling: of several `profilebot polling` processes of one bot (on any machines,
sharing one MongoDB), only the holder of the poller lease calls getUpdates. The others wait
on standby, and one of them takes over when the holder stops, or dies and its lease runs out.

Telegram allows one getUpdates at a time per bot: a second one makes it answer 409 Conflict
to the first, and two pollers taking turns would each get some of the updates. So the
holder must have *finished* calling getUpdates, as Telegram sees it, before another process
can hold the lease. The reasoning, with L the lease duration:

- The server decides expiry by its own clock: an acquisition or renewal handled at server
  time p sets the expiry to p + L, and another process can take the lease only when the
  server's now has passed it. The request was sent at local time s ≤ p (as real time goes;
  the two clocks only need to tick at the same rate, not agree), so the lease lasts at
  least until s + L. This process keeps a local deadline of s + L − guard, with
  guard = min(1 s, L / 4) for the latency difference between two pollers' requests to
  Telegram, clock rate and small clock steps; retries and queueing only move p later.
- Cancelling a request does not end it at Telegram: a long poll still runs there until its
  timeout, and Telegram may give it updates nobody reads. So a getUpdates is sent only with
  a long-poll timeout that ends before the local deadline (`LeaseGate`, whole seconds,
  rounded down): every getUpdates this process sent is over at Telegram before the lease
  can pass to another process, whether or not this process is still alive to read it.
- The lease is renewed every L / 3, retried until the deadline. If the deadline comes
  without a renewal (MongoDB down or slow), or the renewal finds another token holding it,
  polling stops at once: the getUpdates in progress is cancelled (it was sent with a timeout
  that ends in time anyway), `profilebot_leases_lost{lease="poller"}` counts it, one WARNING
  says so, and the process goes back to standby. Updates already being handled finish, but
  are not confirmed: the next holder fetches them again, and the conversation store's
  record of handled updates drops those that had finished.
- A clean stop (SIGTERM, SIGINT) keeps renewing while the updates in progress finish,
  confirms them with a last getUpdates while the lease still covers it, and then releases
  the lease under a token nobody holds, so that no late renewal extends it. The lease then
  ends at once, or, if a long poll was cancelled unanswered at the stop, once that is over
  at Telegram (plus the guard); a standby, told how long is left, takes over right then
  instead of when the lease would have run out.

A standby tries to acquire every L / 3 (sooner when the server says the holder's lease ends
sooner), so after a `kill -9` of the holder a standby polls about L after the holder's last
renewal. The default L of 6 s gives long polls of 3 to 5 s; a longer lease allows longer
polls and slower takeovers.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Protocol, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

from application.errors import StorageUnavailable
from infrastructure.mongo_poller_lease import LeaseState

log = logging.getLogger(__name__)

GUARD_SECONDS = 1.0
"""At most this much of the lease is kept back from polling (less for very short leases)."""
RETRY_SECONDS = 0.25
"""Pause between renewals that failed, while the deadline still allows another try."""
SHORT_POLL_PAUSE_SECONDS = 0.25
"""Pause before a getUpdates that could only be a short poll (a renewal is late), so that
polling does not spin; a renewal meanwhile makes it a long poll again."""
MIN_WAIT_SECONDS = 0.05


class PollerLease(Protocol):
    """The lease in shared storage (`infrastructure.mongo_poller_lease.MongoPollerLease`).
    Each call raises `StorageUnavailable` when the storage failed or did not answer."""

    async def acquire(self, token: str, seconds: float) -> LeaseState: ...

    async def renew(self, token: str, seconds: float) -> bool: ...

    async def release(self, token: str, after_seconds: float = 0.0) -> bool: ...


def new_token() -> str:
    """This process's identity as a lease holder; the host and pid say who holds it to
    someone reading the lease document."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


class LeaseKeeper:
    """This process's side of the poller lease: acquiring it on standby, renewing it while
    polling, the local deadline polling must respect, and releasing it.

    One token for the process's whole life: an acquisition or renewal whose answer was lost
    (and which the server applied anyway) is then this process's own, and its next attempt
    takes the lease back at once instead of everyone waiting for it to run out.
    """

    def __init__(
        self,
        lease: PollerLease,
        seconds: float,
        *,
        on_lost: Callable[[], None] = lambda: None,
        token: str | None = None,
    ) -> None:
        self._lease = lease
        self._seconds = seconds
        self._guard = min(GUARD_SECONDS, seconds / 4)
        self._on_lost = on_lost
        self.token = token or new_token()
        self._deadline: float | None = None
        """Monotonic time by which every getUpdates of this process must be over at
        Telegram; None while the lease is not held."""
        self._renew_at = 0.0
        self._unanswered: list[float] = []
        """When each getUpdates sent and not answered (cancelled, or its answer lost) is
        over at Telegram at the latest, in monotonic time."""
        self._lost = asyncio.Event()

    def poll_seconds(self) -> int | None:
        """The longest long-poll timeout a getUpdates sent now may have, or None if the
        lease does not cover even a short poll."""
        if self._deadline is None:
            return None
        left = self._deadline - time.monotonic()
        return int(left) if left > 0 else None

    async def allowed_poll_seconds(self, wanted: int) -> int | None:
        """`poll_seconds`, capped at `wanted`, pausing first when only a short poll would
        fit a long poll that was asked for. None (and the lease counted lost) when past the
        deadline: the renewal's own watch normally notices first."""
        seconds = self.poll_seconds()
        if seconds == 0 and wanted > 0:
            await asyncio.sleep(SHORT_POLL_PAUSE_SECONDS)
            seconds = self.poll_seconds()
        if seconds is None:
            self._lose("its deadline passed before a getUpdates")
            return None
        return min(seconds, wanted)

    def poll_sent(self, seconds: int) -> float:
        """Note a getUpdates sent now with long-poll timeout `seconds`; returns when it is
        over at Telegram at the latest, to be passed to `poll_answered` once it is."""
        now = time.monotonic()
        # Those over at Telegram by now no longer matter: the list stays as short as the
        # polls that may still be running there.
        self._unanswered = [e for e in self._unanswered if e > now]
        ends = now + seconds
        self._unanswered.append(ends)
        return ends

    def poll_answered(self, ends: float) -> None:
        with contextlib.suppress(ValueError):  # already forgotten: it was over anyway
            self._unanswered.remove(ends)

    @property
    def polls_unanswered(self) -> int:
        """getUpdates sent and not answered that may still be running at Telegram."""
        return len(self._unanswered)

    async def wait_until_acquired(self, stop: asyncio.Event) -> bool:
        """Standby: try to acquire every third of the lease until it is this process's
        (True) or `stop` is set (False). An attempt already sent is always awaited, never
        cancelled, so that none can take the lease behind the caller's back."""
        announced = unreachable = False
        while not stop.is_set():
            sent = time.monotonic()
            try:
                state = await self._lease.acquire(self.token, self._seconds)
            except StorageUnavailable as error:
                if not unreachable:
                    log.warning("standby: cannot ask MongoDB for the polling lease (%s)", error)
                    unreachable = True
                wait = self._seconds / 3
            else:
                unreachable = False
                if state.held:
                    self._hold_from(sent)
                    if stop.is_set():
                        return False
                    log.info("polling lease acquired")
                    return True
                if not announced:
                    log.info("standby: another poller holds the lease")
                    announced = True
                wait = min(self._seconds / 3, state.remaining_seconds + MIN_WAIT_SECONDS)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(MIN_WAIT_SECONDS, wait)):
                    await stop.wait()
        return False

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[asyncio.Event]:
        """While inside (after `wait_until_acquired` returned True), the lease is renewed;
        yields an event set once it is lost. Leaving stops renewing but keeps the lease
        until `release` or expiry."""
        self._lost = lost = asyncio.Event()
        renewing = asyncio.create_task(self._keep())
        try:
            yield lost
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            self._deadline = None

    async def release(self) -> None:
        """Give the lease up if this process holds it, so that a standby takes over without
        waiting for it to run out. It ends at once, or, if a getUpdates was left without
        its answer (a long poll cancelled at the stop still runs at Telegram), once that is
        over, plus the guard."""
        self._deadline = None
        after = max(0.0, max(self._unanswered, default=0.0) + self._guard - time.monotonic())
        try:
            released = await self._lease.release(self.token, after)
        except StorageUnavailable as error:
            log.warning(
                "could not release the polling lease (%s); another poller takes over when"
                " it runs out",
                error,
            )
            return
        if released:
            log.info("polling lease released (it ends in %.1f s)", after)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._renew_at - time.monotonic()))
            if self._deadline is None:
                return  # lost meanwhile: a stall let the gate find the deadline passed first
            problem = await self._renew(self._deadline)
            if problem is not None:
                self._lose(problem)
                return

    async def _renew(self, deadline: float) -> str | None:
        """Renew before the deadline, trying again after failures; what went wrong if not."""
        failure = "MongoDB did not answer"
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                while True:
                    sent = time.monotonic()
                    try:
                        renewed = await self._lease.renew(self.token, self._seconds)
                    except StorageUnavailable as error:
                        failure = str(error)
                        await asyncio.sleep(RETRY_SECONDS)
                        continue
                    if not renewed:
                        return "another poller holds it now"
                    self._hold_from(sent)
                    return None
        except TimeoutError:
            return f"not renewed in time ({failure})"

    def _hold_from(self, sent: float) -> None:
        """The lease was granted by a request sent at `sent` (monotonic)."""
        self._deadline = sent + self._seconds - self._guard
        self._renew_at = sent + self._seconds / 3

    def _lose(self, why: str) -> None:
        if self._deadline is None or self._lost.is_set():
            return
        self._deadline = None
        log.warning("polling lease lost: %s; polling stopped until it is held again", why)
        self._on_lost()
        self._lost.set()


class LeaseGate(BaseRequestMiddleware):
    """The one place a getUpdates leaves this process: only while the lease is held, and
    with a long-poll timeout that ends at Telegram before the lease could pass to another
    poller. Other methods (replies) pass untouched: an update fetched under the lease may
    be answered after it."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self._keeper = keeper

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        wanted = method.timeout or 0
        seconds = await self._keeper.allowed_poll_seconds(wanted)
        if seconds is None:
            # Not sent: no updates. The lease is lost, so polling is stopping already.
            # (The chain really returns the method's result, not a `Response`.)
            return cast(Response[TelegramType], [])
        if seconds < wanted:
            method = cast(
                TelegramMethod[TelegramType], method.model_copy(update={"timeout": seconds})
            )
        ends = self._keeper.poll_sent(seconds)
        try:
            response = await make_request(bot, method)
        except TelegramNetworkError:
            raise  # no answer: it may still be running at Telegram
        except TelegramAPIError:
            self._keeper.poll_answered(ends)  # answered, with an error
            raise
        self._keeper.poll_answered(ends)
        return response
