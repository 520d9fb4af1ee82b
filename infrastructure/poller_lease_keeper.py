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
- The lease is renewed every L / 3, retried until the deadline (`infrastructure.mongo_lease`,
  the one lease the bot has). If the deadline comes
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
from dataclasses import dataclass
from typing import Protocol

from application.errors import StorageUnavailable
from infrastructure.mongo_lease import Renewals

log = logging.getLogger(__name__)

GUARD_SECONDS = 1.0
"""At most this much of the lease is kept back from polling (less for very short leases)."""
SHORT_POLL_PAUSE_SECONDS = 0.25
"""Pause before a getUpdates that could only be a short poll (a renewal is late), so that
polling does not spin; a renewal meanwhile makes it a long poll again."""
MIN_WAIT_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class LeaseState:
    """The lease as the server left it after an attempt to take it."""

    held: bool
    """Whether the token that asked holds it now."""
    remaining_seconds: float
    """How long the holder's lease has left, by the server's clock (0 if it has none)."""


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
        on_acquired: Callable[[], None] = lambda: None,
        token: str | None = None,
    ) -> None:
        """`on_acquired`: called each time this process takes the lease, before it polls
        (another poller may have served its users meanwhile)."""
        self._lease = lease
        self._seconds = seconds
        self._guard = min(GUARD_SECONDS, seconds / 4)
        self._on_lost = on_lost
        self._on_acquired = on_acquired
        self.token = token or new_token()
        self._renewals: Renewals | None = None
        """While the lease is held: its renewals, whose deadline is the monotonic time by
        which every getUpdates of this process must be over at Telegram."""
        self._renewing: asyncio.Task[None] | None = None
        self._unanswered: list[float] = []
        """When each getUpdates sent and not answered (cancelled, or its answer lost) is
        over at Telegram at the latest, in monotonic time."""
        self._lost = asyncio.Event()

    def poll_seconds(self) -> int | None:
        """The longest long-poll timeout a getUpdates sent now may have, or None if the
        lease does not cover even a short poll."""
        if self._renewals is None:
            return None
        left = self._renewals.deadline - time.monotonic()
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
                    self._on_acquired()
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
        self._renewing = renewing = asyncio.create_task(self._keep())
        try:
            yield lost
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            self._renewals = self._renewing = None

    async def release(self) -> None:
        """Give the lease up if this process holds it, so that a standby takes over without
        waiting for it to run out. It ends at once, or, if a getUpdates was left without
        its answer (a long poll cancelled at the stop still runs at Telegram), once that is
        over, plus the guard."""
        self._renewals = None
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
        renewals = self._renewals
        if renewals is not None:
            self._lose(await renewals.keep())

    def _hold_from(self, sent: float) -> None:
        """The lease was granted by a request sent at `sent` (monotonic)."""
        self._renewals = Renewals(
            lambda: self._lease.renew(self.token, self._seconds),
            seconds=self._seconds,
            safe_for=self._seconds - self._guard,
            granted_at=sent,
            name="polling",
        )

    def _lose(self, why: str) -> None:
        if self._renewals is None or self._lost.is_set():
            return
        self._renewals = None
        if self._renewing is not None and self._renewing is not asyncio.current_task():
            self._renewing.cancel()  # a stall let the gate notice first: renew no more
        log.warning("polling lease lost: %s; polling stopped until it is held again", why)
        self._on_lost()
        self._lost.set()
