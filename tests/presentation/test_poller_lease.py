"""The polling side of the poller lease, against a lease kept in memory whose clock is this
process's: getUpdates leaves only under the lease and ends before it could pass on, a lease
not renewed in time stops polling, and a standby takes over as soon as the lease is free."""

import asyncio
import logging
import time
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetUpdates, SendMessage, TelegramMethod
from aiogram.methods.base import Response

from application.errors import StorageUnavailable
from infrastructure.poller_lease_keeper import LeaseKeeper, LeaseState
from presentation.entrypoints.polling.acknowledged import GetUpdatesAsJson
from presentation.entrypoints.polling.lease_gate import LeaseGate
from presentation.telegram.bot_api import fetches_updates

BOT = cast(Bot, object())


class MemoryLease:
    """`PollerLease` with its expiry on `time.monotonic()`; renewals can be made to fail."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.until = 0.0
        self.renewals = "work"
        """"work", "hang" (never answer) or "fail" (`StorageUnavailable`)."""
        self.released_after: float | None = None

    async def acquire(self, token: str, seconds: float) -> LeaseState:
        now = time.monotonic()
        if self.token in (None, token) or self.until <= now:
            self.token, self.until = token, now + seconds
        return LeaseState(held=self.token == token, remaining_seconds=max(0, self.until - now))

    async def renew(self, token: str, seconds: float) -> bool:
        if self.renewals == "hang":
            await asyncio.Event().wait()
        if self.renewals == "fail":
            raise StorageUnavailable("MongoDB call failed: AutoReconnect")
        if self.token != token:
            return False
        self.until = time.monotonic() + seconds
        return True

    async def release(self, token: str, after_seconds: float = 0.0) -> bool:
        if self.token != token:
            return False
        self.token, self.released_after = f"released by {token}", after_seconds
        self.until = min(self.until, time.monotonic() + after_seconds)
        return True


class Requests:
    """The Bot API behind the gate: records what was sent; getUpdates answers at once, or
    never if `hang`."""

    def __init__(self) -> None:
        self.sent: list[TelegramMethod[Any]] = []
        self.hang = False

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Response[Any]:
        self.sent.append(method)
        if self.hang and fetches_updates(method):
            await asyncio.Event().wait()
        return cast(Response[Any], [] if fetches_updates(method) else True)


async def send(gate: LeaseGate, requests: Requests, method: TelegramMethod[Any]) -> object:
    """What the gate gave back: the method's result (aiogram types the chain `Response`)."""
    return await gate(requests, BOT, method)


async def acquired(lease: MemoryLease, seconds: float, **kwargs: Any) -> LeaseKeeper:
    keeper = LeaseKeeper(lease, seconds, **kwargs)
    assert await keeper.wait_until_acquired(asyncio.Event())
    return keeper


@pytest.mark.parametrize("fetch", [GetUpdates, GetUpdatesAsJson], ids=["aiogram's", "polling's"])
async def test_getupdates_leaves_only_under_the_lease_with_a_timeout_that_ends_in_time(
    fetch: type[GetUpdates | GetUpdatesAsJson],
) -> None:
    lease, requests = MemoryLease(), Requests()
    keeper = LeaseKeeper(lease, 3.6)
    gate = LeaseGate(keeper)

    assert await send(gate, requests, fetch(timeout=10)) == []
    assert await send(gate, requests, SendMessage(chat_id=1, text="hi")) is True
    assert [type(m) for m in requests.sent] == [SendMessage]  # no getUpdates without it

    assert await keeper.wait_until_acquired(asyncio.Event())
    await gate(requests, BOT, fetch(timeout=10))

    [_, polled] = requests.sent
    assert isinstance(polled, fetch)
    # Over by 3.6 s − 0.9 s (the guard) after the acquisition was sent, 2.7 s: 2 whole
    # seconds, sent up to 0.7 s after the acquisition.
    assert polled.timeout == 2


async def test_a_renewal_that_never_answers_stops_polling_before_the_lease_can_pass_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lease, lost_count = MemoryLease(), []
    # Lost at 1.5 s, the lease's 2 s less its guard: half a second for this test to notice.
    keeper = await acquired(lease, 2.0, on_lost=lambda: lost_count.append(1))
    lease.renewals = "hang"

    async with keeper.holding() as lost:
        async with asyncio.timeout(5):
            await lost.wait()
        noticed = time.monotonic()

    assert noticed < lease.until  # polling stopped before the lease could pass on
    assert keeper.poll_seconds() is None
    assert await send(LeaseGate(keeper), Requests(), GetUpdates(timeout=1)) == []
    assert lost_count == [1]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "polling lease lost: not renewed in time (MongoDB did not answer); polling stopped"
        " until it is held again"
    ]


async def test_renewals_failing_until_the_deadline_lose_the_lease_naming_the_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lease = MemoryLease()
    keeper = await acquired(lease, 1.2)
    lease.renewals = "fail"

    async with keeper.holding() as lost:
        async with asyncio.timeout(5):
            await lost.wait()

    assert "not renewed in time (MongoDB call failed: AutoReconnect)" in caplog.text


async def test_a_lease_another_token_took_stops_polling_at_the_next_renewal() -> None:
    lease = MemoryLease()
    keeper = await acquired(lease, 3.0)
    started = time.monotonic()
    lease.token = "intruder"

    async with keeper.holding() as lost:
        async with asyncio.timeout(5):
            await lost.wait()

    assert time.monotonic() - started < 2.0  # a third of the lease (1 s), not its deadline


async def test_renewals_keep_the_lease_for_as_long_as_it_is_held() -> None:
    lease = MemoryLease()
    # Renewed every 0.4 s, lost 0.9 s after a renewal was sent: a loop half a second late
    # on a loaded machine still renews in time.
    keeper = await acquired(lease, 1.2)

    async with keeper.holding() as lost:
        await asyncio.sleep(2.5)  # more than two leases

        assert not lost.is_set()
        assert lease.until > time.monotonic()
        assert keeper.poll_seconds() is not None


async def test_each_time_the_lease_is_taken_the_process_is_told() -> None:
    lease, taken = MemoryLease(), []
    keeper = await acquired(lease, 3.0, on_acquired=lambda: taken.append("taken"))
    assert taken == ["taken"]
    lease.token = "another poller"  # lost: another took it
    async with keeper.holding() as lost:
        async with asyncio.timeout(5):
            await lost.wait()
    lease.token, lease.until = None, 0.0  # and let it go

    assert await keeper.wait_until_acquired(asyncio.Event())

    assert taken == ["taken", "taken"]


async def test_a_standby_takes_the_lease_as_soon_as_it_runs_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    lease = MemoryLease()
    lease.token, lease.until = "other", time.monotonic() + 0.5
    keeper = LeaseKeeper(lease, 30.0)  # attempts every 10 s, unless the lease ends sooner
    started = time.monotonic()

    assert await keeper.wait_until_acquired(asyncio.Event())

    assert time.monotonic() - started < 3.0  # not at its next try, 10 s on
    assert caplog.text.count("standby: another poller holds the lease") == 1
    assert caplog.text.count("polling lease acquired") == 1


async def test_a_stop_ends_standby_at_once() -> None:
    lease = MemoryLease()
    lease.token, lease.until = "other", time.monotonic() + 60
    keeper, stop = LeaseKeeper(lease, 30.0), asyncio.Event()
    waiting = asyncio.create_task(keeper.wait_until_acquired(stop))
    await asyncio.sleep(0.1)
    started = time.monotonic()

    stop.set()

    assert not await waiting
    assert time.monotonic() - started < 2.0  # not at its next try, 10 s on


async def test_a_release_ends_the_lease_at_once_when_every_getupdates_was_answered() -> None:
    lease = MemoryLease()
    keeper = await acquired(lease, 3.0)
    await LeaseGate(keeper)(Requests(), BOT, GetUpdates(timeout=10))

    await keeper.release()

    assert lease.released_after == 0


async def test_a_release_waits_for_a_long_poll_cancelled_unanswered() -> None:
    lease, requests = MemoryLease(), Requests()
    keeper = await acquired(lease, 3.0)
    requests.hang = True
    before = time.monotonic()
    polling = asyncio.create_task(LeaseGate(keeper)(requests, BOT, GetUpdates(timeout=10)))
    await asyncio.sleep(0.1)
    polling.cancel()

    await keeper.release()

    took = time.monotonic() - before
    [polled] = requests.sent
    assert isinstance(polled, GetUpdates)
    assert polled.timeout  # a long poll, sent when the lease had whole seconds left
    # Still running at Telegram until its timeout is over, and the guard (0.75 s) after that.
    assert lease.released_after is not None
    assert polled.timeout + 0.75 - took <= lease.released_after <= polled.timeout + 0.75
    assert keeper.poll_seconds() is None


async def test_a_stall_past_the_deadline_stops_polling_without_crashing_the_renewals() -> None:
    lease = MemoryLease()
    keeper = await acquired(lease, 1.2)  # deadline 0.9 s after acquiring, renewal at 0.4 s
    gate = LeaseGate(keeper)

    async with keeper.holding() as lost:
        time.sleep(1.0)  # noqa: ASYNC251 - the event loop stalls (a stopped VM) past both
        # The getUpdates waiting to be sent runs first, finds the deadline passed…
        assert await send(gate, Requests(), GetUpdates(timeout=1)) == []
        assert lost.is_set()
        await asyncio.sleep(0.1)  # …then the renewals wake up late, and must not crash.

    assert keeper.poll_seconds() is None
    assert await keeper.wait_until_acquired(asyncio.Event())  # and it recovers
    assert keeper.poll_seconds() is not None


async def test_long_polls_without_an_answer_are_forgotten_once_over_at_telegram() -> None:
    lease = MemoryLease()
    keeper = await acquired(lease, 3.0)
    gate = LeaseGate(keeper)

    async def network_error(bot: Bot, method: TelegramMethod[Any]) -> Response[Any]:
        raise TelegramNetworkError(method, "connection reset")

    for _ in range(50):  # short polls, each over at Telegram at once, never answered
        with pytest.raises(TelegramNetworkError):
            await gate(network_error, BOT, GetUpdates(timeout=0))

    assert keeper.polls_unanswered <= 1
