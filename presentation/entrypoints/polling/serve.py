"""`profilebot polling`: long polling against the Telegram Bot API (or a stand-in for it),
confirming each update only once it was handled, with health and metrics on `HTTP_PORT`.

Several processes of one bot may run it against one MongoDB: the one holding the poller
lease polls, the others wait on standby and take over (`infrastructure.poller_lease_keeper`)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

from aiogram import Bot
from aiohttp import web

from infrastructure.poller_lease_keeper import LeaseKeeper
from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.entrypoints.bot_startup import health_endpoints, register_commands
from presentation.entrypoints.health_endpoints import HealthEndpoints, serve
from presentation.entrypoints.interruption import (
    STOP_SIGNALS,
    Interrupted,
    stop_signals_cancel_this_task,
)
from presentation.entrypoints.polling.acknowledged import confirm, poll
from presentation.entrypoints.polling.lease_gate import LeaseGate
from presentation.entrypoints.telegram_backlog import watching_telegram_backlog

log = logging.getLogger(__name__)


async def run_polling(container: Container) -> None:
    """Poll while this process holds the poller lease, wait on standby while another one
    does, until SIGINT/SIGTERM; then let in-flight updates finish, confirm them and release
    the lease before returning.

    The container must be started (`presentation.bootstrap.lifecycle`). A signal while the
    command menu is published or the health endpoints start (start-up still) raises
    `Interrupted` instead.
    """
    settings = container.settings()
    metrics = container.metrics()
    forget_remembered = _forget_remembered(container)

    def lost() -> None:
        metrics.count_lease_lost("poller")
        forget_remembered()

    keeper = LeaseKeeper(
        container.storage.poller_lease(),
        settings.poller_lease_seconds,
        on_lost=lost,
        on_acquired=forget_remembered,
    )
    # Leaving the block closes the Bot API session, after the in-flight handlers replied.
    async with container.bot() as bot, AsyncExitStack() as serving:
        with stop_signals_cancel_this_task() as start_up:
            await register_commands(bot, settings.telegram_api_url)
            health = await serving.enter_async_context(_health_endpoints(container))
        if start_up.signum is not None:
            raise Interrupted(start_up.signum)
        bot.session.middleware(LeaseGate(keeper))  # every getUpdates passes the lease's check
        stop = _stop_on_signals(health)  # no await since start-up's: no signal falls between
        if health is not None:  # its metrics are served
            await serving.enter_async_context(watching_telegram_backlog(bot, metrics))
        try:
            await _poll_while_leased(container, bot, keeper, stop)
        finally:
            await keeper.release()


async def _poll_while_leased(
    container: Container, bot: Bot, keeper: LeaseKeeper, stop: asyncio.Event
) -> None:
    """Standby, then polling for as long as the lease is held, then standby again after a
    lost lease, until `stop`."""
    metrics, in_flight = container.metrics(), container.in_flight()
    grace = container.settings().shutdown_grace_seconds
    metrics.set_poller_active(False)
    while await keeper.wait_until_acquired(stop):
        metrics.set_poller_active(True)
        try:
            async with keeper.holding() as lost:
                if await _poll_until_stopped_or_lost(container, bot, keeper, stop, lost):
                    return
        finally:
            metrics.set_poller_active(False)
        # The updates fetched under the lost lease finish first: polling again would fetch
        # the unconfirmed ones again and confirm them while they are still in progress.
        if not await in_flight.wait_idle(grace):
            log.warning(
                "%d update(s) from before the lease was lost still in progress after %g s",
                in_flight.count,
                grace,
            )


async def _poll_until_stopped_or_lost(
    container: Container, bot: Bot, keeper: LeaseKeeper, stop: asyncio.Event, lost: asyncio.Event
) -> bool:
    """Poll under the lease until `stop` (True: updates in progress finished, handled ones
    confirmed) or until the lease is `lost` (False: nothing more is sent to getUpdates)."""
    settings, in_flight = container.settings(), container.in_flight()
    polling_stop = asyncio.Event()
    relays = [asyncio.create_task(_set_when(event, polling_stop)) for event in (stop, lost)]
    try:
        log.info("polling started")
        window = await poll(container.dispatcher(), bot, polling_stop)
    finally:
        for relay in relays:
            relay.cancel()
    if lost.is_set():
        return False
    log.info("polling stopped; waiting for %d update(s) in progress", in_flight.count)
    if not await in_flight.wait_idle(settings.shutdown_grace_seconds):
        log.warning(
            "%d update(s) still in progress after %g s; shutting down anyway",
            in_flight.count,
            settings.shutdown_grace_seconds,
        )
    if keeper.poll_seconds() is None:  # lost while waiting: another poller may poll now
        log.info("handled updates left unconfirmed: the next poller fetches them again")
    else:
        await confirm(bot, window)
    return True


def _forget_remembered(container: Container) -> Callable[[], None]:
    """Once the lease is lost, another poller may serve this process's users: what it
    remembers of their conversations is asked of MongoDB afresh, by the updates still in
    progress here and after it takes the lease again."""
    remembered = container.storage.remembered()
    return (lambda: None) if remembered is None else remembered.forget_all


async def _set_when(event: asyncio.Event, then: asyncio.Event) -> None:
    await event.wait()
    then.set()


def _stop_on_signals(health: HealthEndpoints | None) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM from now on; the health endpoints report draining
    from then on. The handlers replace start-up's and stay until the loop closes, so a
    second signal during the drain changes nothing."""
    stop, loop = asyncio.Event(), asyncio.get_running_loop()

    def stopping() -> None:
        if health is not None:
            health.draining = True
        stop.set()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stopping)
    return stop


@contextlib.asynccontextmanager
async def _health_endpoints(container: Container) -> AsyncIterator[HealthEndpoints | None]:
    """`/health/*` and `/metrics` on HTTP_PORT while polling, if it is set."""
    settings = container.settings()
    if settings.http_port is None:
        yield None
        return
    health = health_endpoints(container)
    app = web.Application()
    health.add_to(app)
    try:
        runner = await serve(app, settings.http_host, settings.http_port)
    except OSError as error:
        raise StartupError(
            f"cannot serve health and metrics on {settings.http_host}:{settings.http_port}"
            f" ({error.strerror})"
        ) from None
    try:
        yield health
    finally:
        await runner.cleanup()
