"""`profilebot polling`: long polling against the Telegram Bot API (or a stand-in for it),
confirming each update only once it was handled, with health and metrics on `HTTP_PORT`."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from aiohttp import web

from infrastructure.startup_error import StartupError
from presentation.bootstrap.container import Container
from presentation.entrypoints.acknowledged_polling import confirm, poll
from presentation.entrypoints.health_endpoints import HealthEndpoints, serve
from presentation.entrypoints.interruption import (
    STOP_SIGNALS,
    Interrupted,
    stop_signals_cancel_this_task,
)
from presentation.telegram.commands import BOT_COMMANDS

log = logging.getLogger(__name__)


async def run_polling(container: Container) -> None:
    """Poll until SIGINT/SIGTERM, then let in-flight updates finish before returning.

    The container must be started (`presentation.bootstrap.lifecycle`). A signal while the
    command menu is being published (start-up still) raises `Interrupted` instead.
    """
    settings = container.settings()
    in_flight = container.in_flight()
    dispatcher = container.dispatcher()
    # Leaving the block closes the Bot API session, after the in-flight handlers replied.
    async with container.bot() as bot:
        with stop_signals_cancel_this_task() as start_up:
            await _register_commands(bot, settings.telegram_api_url)
        if start_up.signum is not None:
            raise Interrupted(start_up.signum)
        async with _health_endpoints(container) as health:
            stop = _stop_on_signals(health)
            log.info("polling started")
            window = await poll(dispatcher, bot, stop)
            log.info("polling stopped; waiting for %d update(s) in progress", in_flight.count)
            if not await in_flight.wait_idle(settings.shutdown_grace_seconds):
                log.warning(
                    "%d update(s) still in progress after %g s; shutting down anyway",
                    in_flight.count,
                    settings.shutdown_grace_seconds,
                )
            await confirm(bot, window)


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
    health = HealthEndpoints(
        container.storage.ping(),
        container.metrics(),
        timeout_seconds=settings.mongo_operation_timeout_seconds,
    )
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


async def _register_commands(bot: Bot, api_url: str) -> None:
    """Publish the command menu; also the first proof that the token and API URL work."""
    try:
        await bot.set_my_commands(BOT_COMMANDS)
    except TelegramUnauthorizedError:
        raise StartupError("the Telegram Bot API rejected BOT_TOKEN (unauthorized)") from None
    except TelegramAPIError as error:
        raise StartupError(
            f"the Telegram Bot API at {api_url} failed: {type(error).__name__}"
        ) from None
